{{/* Names and labels shared by every template. */}}
{{- define "reconguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "reconguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "reconguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reconguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "reconguard.labels" -}}
{{ include "reconguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "reconguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "reconguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "reconguard.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{- required "certificates.existingSecret is required when certificates.mode is existingSecret" .Values.certificates.existingSecret -}}
{{- else -}}
{{- printf "%s-tls" (include "reconguard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The policy document: the embedded default with overrides merged in, or a full replacement. */}}
{{- define "reconguard.policyLayer" -}}
{{- toYaml (merge (dict "apiVersion" "reconguard.io/v1alpha1" "kind" "Policy") (deepCopy .)) -}}
{{- end -}}

{{/*
The policy ConfigMap's data: one key per layer, read by reconguard in name order over its built-in
default. `content` is a whole policy (base: none), `pods` the first day's mode for pods (unless
`content` is given), `overrides` one layer, `layers` one each.
*/}}
{{- define "reconguard.policyLayers" -}}
{{- $data := dict -}}
{{- with .Values.policy.content -}}
{{- if regexMatch "(?m)^base:" . -}}
{{- $_ := set $data "00-content.yaml" . -}}
{{- else -}}
{{- $_ := set $data "00-content.yaml" (printf "base: none\n%s" .) -}}
{{- end -}}
{{- end -}}
{{- if and (ne .Values.policy.pods "policy") (not .Values.policy.content) -}}
{{- $_ := set $data "05-pods.yaml" (include "reconguard.policyLayer" (dict "mode" (dict "pods" .Values.policy.pods))) -}}
{{- end -}}
{{- with .Values.policy.overrides -}}
{{- $_ := set $data "10-overrides.yaml" (include "reconguard.policyLayer" .) -}}
{{- end -}}
{{- range $i, $layer := .Values.policy.layers -}}
{{- $_ := set $data (printf "20-%02d-%s.yaml" $i $layer.name) (include "reconguard.policyLayer" $layer.policy) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/*
The serving certificate for helm mode: reused from the existing Secret across upgrades (lookup),
generated once otherwise. Returns a dict with ca, crt, key (PEM).
*/}}
{{- define "reconguard.generatedCert" -}}
{{- $secretName := include "reconguard.tlsSecretName" . -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName -}}
{{- if and $existing $existing.data (index $existing.data "tls.crt") (index $existing.data "ca.crt") -}}
{{- dict "ca" (index $existing.data "ca.crt" | b64dec) "crt" (index $existing.data "tls.crt" | b64dec) "key" (index $existing.data "tls.key" | b64dec) | toJson -}}
{{- else -}}
{{- $fullname := include "reconguard.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.cluster.local" $fullname $ns) -}}
{{- $days := int .Values.certificates.validityDays -}}
{{- $ca := genCA (printf "%s-ca" $fullname) $days -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $fullname $ns) nil $names $days $ca -}}
{{- dict "ca" $ca.Cert "crt" $cert.Cert "key" $cert.Key | toJson -}}
{{- end -}}
{{- end -}}

{{/*
Whether any part needs the Kubernetes API (and so a mounted service-account token).
*/}}
{{- define "reconguard.needsApi" -}}
{{- if or .Values.cluster.podCache.enabled .Values.cluster.events.enabled .Values.cluster.containment.enabled -}}
true
{{- end -}}
{{- end }}
