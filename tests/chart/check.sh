#!/usr/bin/env bash
# Chart, manifests and alert checks. Each check prints PASS or FAIL; the script exits non-zero if
# any failed. Needs helm, kubernetes-validate, promtool (scripts/tools.sh) and a built reconguard.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${RECONGUARD_BIN:-target/debug/reconguard}
chart=charts/reconguard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source tests/lib/check.sh

render() { helm template reconguard "$chart" --namespace reconguard "$@"; }

all_toggles=(--set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true
  --set metrics.grafanaDashboard.enabled=true)

check "helm lint --strict (defaults)" helm lint --strict "$chart"
check "helm lint --strict (every toggle, cert-manager)" helm lint --strict "$chart" "${all_toggles[@]}" --set certificates.mode=certManager
check "helm lint --strict (existing secret)" helm lint --strict "$chart" --set certificates.mode=existingSecret \
  --set certificates.existingSecret=my-tls --set certificates.caBundle=Zm9v
check "schema rejects a bad failurePolicy" bash -c "! helm lint --strict $chart --set webhook.failurePolicy=Maybe"
check "schema rejects an unknown value" bash -c "! helm lint --strict $chart --set webhook.timeoutSecs=3"
check "schema rejects a bad certificate mode" bash -c "! helm lint --strict $chart --set certificates.mode=selfmade"
check "an evaluation timeout not below the request timeout is refused" bash -c "! helm template x $chart --set server.evaluationTimeoutSeconds=9 2>/dev/null && helm template x $chart --set server.evaluationTimeoutSeconds=9 2>&1 | grep -q 'must be below server.requestTimeoutSeconds'"
check "existingSecret mode requires the secret name" bash -c "! helm template x $chart --set certificates.mode=existingSecret"
check "a NetworkPolicy without API server sources is refused" bash -c \
  "! helm template x $chart --set networkPolicy.enabled=true 2>&1 && helm template x $chart --set networkPolicy.enabled=true 2>&1 | grep -q apiServerCIDRs"
check "schema rejects a CIDR that is not one" bash -c "! helm lint --strict $chart --set networkPolicy.enabled=true --set 'networkPolicy.apiServerCIDRs={kubernetes}'"

render > "$work/default.yaml"
render "${all_toggles[@]}" --set certificates.mode=certManager > "$work/certmanager.yaml"
render --set certificates.mode=existingSecret --set certificates.existingSecret=my-tls --set certificates.caBundle=Zm9v \
  --set webhook.workloads=false --set networkPolicy.enabled=true --set 'networkPolicy.apiServerCIDRs={10.0.0.0/24,192.168.10.5/32}' \
  --set-json 'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]' \
  > "$work/existing.yaml"

store_peer='[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"infra"}}}]'
render --set correlationStore.url=rediss://cache@redis.infra.svc:6380/0 --set correlationStore.passwordSecret.name=redis-auth \
  --set correlationStore.caSecret.name=redis-ca --set correlationStore.caSecret.key=ca.pem \
  --set networkPolicy.enabled=true --set networkPolicy.restrictEgress=true --set 'networkPolicy.apiServerCIDRs={10.0.0.0/24}' \
  --set-json "correlationStore.networkPolicyPeers=$store_peer" > "$work/store.yaml"

validate_all() {
  local versions=(1.30 1.31 1.32 1.33 1.34 1.35 1.36 1.37)
  for v in "${versions[@]}"; do
    for f in "$work/default.yaml" "$work/certmanager.yaml" "$work/existing.yaml" "$work/store.yaml" manifests/install.yaml; do
      kubernetes-validate --strict --quiet -k "$v" "$f" || { echo "invalid for Kubernetes $v: $f"; return 1; }
    done
  done
}
check "rendered manifests pass kubernetes-validate --strict, Kubernetes 1.30-1.37" validate_all

webhook_shape() {
  python3 - "$work/default.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
vwc = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
hooks = {w["name"]: w for w in vwc["webhooks"]}
pods = hooks["pods.reconguard.io"]
interactive = hooks["interactive.reconguard.io"]
def resources(hook):
    return {(op, res) for r in hook["rules"] for op in r["operations"] for res in r["resources"]}
assert resources(pods) == {("CREATE", "pods"), ("UPDATE", "pods")}, resources(pods)
assert resources(interactive) == {("CONNECT", "pods/exec"), ("CONNECT", "pods/attach"), ("UPDATE", "pods/ephemeralcontainers"), ("CONNECT", "pods/portforward"), ("CONNECT", "pods/proxy"), ("CONNECT", "services/proxy"), ("CONNECT", "nodes/proxy")}, resources(interactive)
# nodes/proxy is cluster-scoped; everything else the entry judges is namespaced.
assert {res for r in interactive["rules"] if r["scope"] == "Cluster" for res in r["resources"]} == {"nodes/proxy"}
assert set(hooks) == {"pods.reconguard.io", "interactive.reconguard.io", "workloads.reconguard.io"}, set(hooks)
for name, w in hooks.items():
    assert w["sideEffects"] == "NoneOnDryRun" and w["admissionReviewVersions"] == ["v1"]
    assert w["matchPolicy"] == "Equivalent" and w["timeoutSeconds"] == 5
    excluded = w["namespaceSelector"]["matchExpressions"][0]["values"]
    assert "reconguard" in excluded, excluded
    assert w["clientConfig"]["caBundle"], "helm mode fills caBundle"
    if name == "interactive.reconguard.io":
        # kubectl exec, attach and debug are judged in kube-system too, and fail closed.
        assert excluded == ["reconguard"], excluded
        assert w["failurePolicy"] == "Fail"
    else:
        assert "kube-system" in excluded and w["failurePolicy"] == "Ignore", (name, excluded)
secret = next(d for d in docs if d["kind"] == "Secret")
assert secret["data"]["ca.crt"] == pods["clientConfig"]["caBundle"], "caBundle is the CA of the served certificate"
dep = next(d for d in docs if d["kind"] == "Deployment")
spec = dep["spec"]["template"]["spec"]
c = spec["containers"][0]
sc = c["securityContext"]
assert dep["spec"]["replicas"] == 2
assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"] and sc["capabilities"]["drop"] == ["ALL"] and not sc["allowPrivilegeEscalation"]
assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
# The shutdown delay and the drain both fit in the grace period.
assert "--shutdown-delay=10" in c["args"] and "--drain-timeout=20" in c["args"], c["args"]
assert spec["terminationGracePeriodSeconds"] == 35, spec["terminationGracePeriodSeconds"]
assert "--evaluation-timeout=4" in c["args"]
assert not any(d["kind"] == "NetworkPolicy" for d in docs), "the NetworkPolicy is opt-in"
assert spec["affinity"]["podAntiAffinity"]
assert any(d["kind"] == "PodDisruptionBudget" for d in docs)
PY
}
check "webhook configuration, secret and deployment have the agreed shape" webhook_shape

tunnels_opt_out() {
  render --set webhook.interactive.tunnels=false | python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
vwc = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
hook = next(w for w in vwc["webhooks"] if w["name"] == "interactive.reconguard.io")
res = {x for r in hook["rules"] for x in r["resources"]}
assert res == {"pods/exec", "pods/attach", "pods/ephemeralcontainers"}, res
'
}
check "port-forward and proxy judgement can be turned off (webhook.interactive.tunnels=false)" tunnels_opt_out

image_reference() {
  local digest out app
  digest="sha256:$(printf '%064d' 7)"
  app=$(sed -n 's/^appVersion: "\(.*\)"/\1/p' "$chart/Chart.yaml")
  out=$(render) && [[ "$out" == *"image: \"ghcr.io/reconguard/reconguard:$app\""* ]] || return 1
  out=$(render --set image.tag=9.9.9) && [[ "$out" == *'image: "ghcr.io/reconguard/reconguard:9.9.9"'* ]] || return 1
  out=$(render --set image.tag=9.9.9 --set image.digest="$digest") &&
    [[ "$out" == *"image: \"ghcr.io/reconguard/reconguard@$digest\""* ]] || return 1
  ! render --set image.digest=latest >/dev/null 2>&1
}
check "image reference: appVersion by default, a tag, a digest winning over the tag, a bad digest refused" image_reference

network_policy_shape() {
  python3 - "$work/existing.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
np = next(d for d in docs if d["kind"] == "NetworkPolicy")
dep = next(d for d in docs if d["kind"] == "Deployment")
assert np["spec"]["podSelector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
assert np["spec"]["policyTypes"] == ["Ingress"]
webhook, metrics = np["spec"]["ingress"]
assert webhook["ports"] == [{"port": "https", "protocol": "TCP"}]
assert [p["ipBlock"]["cidr"] for p in webhook["from"]] == ["10.0.0.0/24", "192.168.10.5/32"]
assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
assert metrics["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "monitoring"
ports = {p["name"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
assert {"https", "metrics"} <= ports, ports
PY
}
check "the NetworkPolicy admits the API server to the webhook port and selects the metrics port apart" network_policy_shape

correlation_store_shape() {
  python3 - "$work/store.yaml" "$work/default.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = next(d for d in docs if d["kind"] == "Deployment")
spec = dep["spec"]["template"]["spec"]
c = spec["containers"][0]
args = [a for a in c["args"] if a.startswith("--correlation-store")]
assert args == [
    "--correlation-store=rediss://cache@redis.infra.svc:6380/0",
    "--correlation-store-prefix=reconguard/reconguard:",
    "--correlation-store-timeout=100",
    "--correlation-store-password-file=/etc/reconguard/store/password",
    "--correlation-store-ca=/etc/reconguard/store-ca/ca.crt",
], args
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
assert mounts["store-password"] == "/etc/reconguard/store" and mounts["store-ca"] == "/etc/reconguard/store-ca", mounts
volumes = {v["name"]: v for v in spec["volumes"]}
assert volumes["store-password"]["secret"] == {"secretName": "redis-auth", "items": [{"key": "password", "path": "password"}]}
assert volumes["store-ca"]["secret"] == {"secretName": "redis-ca", "items": [{"key": "ca.pem", "path": "ca.crt"}]}
np = next(d for d in docs if d["kind"] == "NetworkPolicy")
assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
dns, api, store = np["spec"]["egress"]
assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")} and "to" not in dns
assert [p["port"] for p in api["ports"]] == [443, 6443] and api["to"] == [{"ipBlock": {"cidr": "10.0.0.0/24"}}]
assert store["ports"] == [{"port": 6380, "protocol": "TCP"}], store
assert store["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "infra"
# Nothing of the store by default: no flag, no volume, and egress left alone.
docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
dep = next(d for d in docs if d["kind"] == "Deployment")
assert not [a for a in dep["spec"]["template"]["spec"]["containers"][0]["args"] if "correlation-store" in a]
assert not [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"].startswith("store")]
PY
}
check "correlationStore: flags, Secret mounts, and egress to DNS, the API server and the store only" correlation_store_shape
check "correlationStore: the default port 6379 when the url names none" bash -c \
  "helm template x $chart --set correlationStore.url=redis://redis --set networkPolicy.enabled=true --set networkPolicy.restrictEgress=true --set 'networkPolicy.apiServerCIDRs={10.0.0.0/24}' --set-json 'correlationStore.networkPolicyPeers=$store_peer' | grep -A1 'port: 6379' | grep -q TCP"
check "correlationStore: a password in the url is refused" bash -c \
  "! helm template x $chart --set correlationStore.url=redis://:pw@redis:6379 2>/dev/null && helm template x $chart --set correlationStore.url=redis://:pw@redis:6379 2>&1 | grep -q passwordSecret"
check "correlationStore: a CA for a plain redis:// url is refused" bash -c \
  "! helm template x $chart --set correlationStore.url=redis://redis --set correlationStore.caSecret.name=ca 2>/dev/null"
check "correlationStore: restricted egress without the store's peers is refused" bash -c \
  "helm template x $chart --set correlationStore.url=redis://redis --set networkPolicy.enabled=true --set networkPolicy.restrictEgress=true --set 'networkPolicy.apiServerCIDRs={10.0.0.0/24}' 2>&1 | grep -q networkPolicyPeers"
check "schema rejects a store url that is not redis:// or rediss://" bash -c "! helm lint --strict $chart --set correlationStore.url=http://redis:6379"
check "schema rejects a store timeout above 2000 ms" bash -c "! helm lint --strict $chart --set correlationStore.timeoutMilliseconds=5000"

deployment_is_clean() {
  local out
  out=$("$bin" evaluate --format json "$work/default.yaml") || return 1
  echo "$out" | python3 -c '
import sys, json
rows = [json.loads(l) for l in sys.stdin]
dep = [r for r in rows if r["kind"] == "Deployment"]
assert len(dep) == 1 and dep[0]["decision"] == "allow" and dep[0]["findings"] == [], dep
'
}
check "the chart's own Deployment passes the default policy with no finding" deployment_is_clean

# Writes the policy ConfigMap's keys of a rendered chart into a directory, as the kubelet mounts
# them, for `reconguard --policy DIR`.
policy_dir_of() {
  mkdir -p "$2" && python3 -c '
import os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-policy"))
for key, text in (cm.get("data") or {}).items():
    open(os.path.join(sys.argv[2], key), "w").write(text)
' "$1" "$2"
}
default_policy_valid() {
  policy_dir_of "$work/default.yaml" "$work/default-policy" && "$bin" policy check "$work/default-policy" \
    && [ "$(ls -A "$work/default-policy")" = "05-pods.yaml" ] || return 1
  # A first install: a pod that enforce would deny is admitted with a warning; a command is denied.
  "$bin" evaluate --policy "$work/default-policy" tests/corpus/pod-create-docker-socket.json | grep -q 'would deny' \
    || return 1
  "$bin" evaluate --policy "$work/default-policy" tests/corpus/exec-reverse-shell.json >/dev/null; [ $? -eq 1 ] || return 1
  "$bin" evaluate --policy "$work/default-policy" tests/corpus/ephemeralcontainers-hostpid.json >/dev/null; [ $? -eq 1 ] || return 1
  # After review: enforce on pods; `policy` and `content` leave the mode to the policy.
  render --set policy.pods=enforce > "$work/pods-enforce.yaml" && policy_dir_of "$work/pods-enforce.yaml" "$work/pods-enforce" \
    || return 1
  "$bin" evaluate --policy "$work/pods-enforce" tests/corpus/pod-create-docker-socket.json >/dev/null; [ $? -eq 1 ] || return 1
  render --set policy.pods=policy > "$work/pods-policy.yaml" && policy_dir_of "$work/pods-policy.yaml" "$work/pods-policy" \
    && [ -z "$(ls -A "$work/pods-policy")" ] || return 1
  helm template t "$chart" --set policy.pods=sometimes >/dev/null 2>&1 && { echo "a bad policy.pods rendered"; return 1; }
  # `helm template` leaves NOTES.txt out: render it as a template of a copy of the chart.
  rm -rf "$work/notes-chart" && cp -r "$chart" "$work/notes-chart" \
    && { printf 'notes: |\n'; sed 's/^/  /' "$chart/templates/NOTES.txt"; } > "$work/notes-chart/templates/notes.yaml" \
    || return 1
  helm template reconguard "$work/notes-chart" --namespace reconguard --show-only templates/notes.yaml \
    | grep -q 'suggest-layer.*policy.pods=enforce' -z \
    || { echo "the install notes do not name the next step"; return 1; }
  ! helm template reconguard "$work/notes-chart" --namespace reconguard --show-only templates/notes.yaml \
    --set policy.pods=enforce | grep -q 'suggest-layer' || { echo "notes after enforce still say audit"; return 1; }
}
check "first install: pods audited (one layer), commands enforced; pods=enforce and pods=policy as documented" default_policy_valid
notes_correlation() {
  # The notes chart made by the check above.
  local notes=(helm template reconguard "$work/notes-chart" --namespace reconguard --show-only templates/notes.yaml)
  "${notes[@]}" | grep -q 'each of the 2 replicas remembers alone' || { echo "no word on per-replica memory"; return 1; }
  "${notes[@]}" --set correlationStore.url=rediss://cache@redis:6379/0 | grep -q 'replicas share rediss://redis:6379/0$' \
    || { echo "the store is not named, or with its user"; return 1; }
  ! "${notes[@]}" --set replicaCount=1 | grep -q 'Correlation' || { echo "one replica told to share"; return 1; }
}
check "install notes: replicas remembering alone are said so; a store is named without its user" notes_correlation
# The lines of one rule in `policy show` YAML, up to the next rule.
rule_block() {
  awk -v rule="  $2:" '$0 == rule { found = 1; print; next } found && /^  [^ #]/ { exit } found' "$1"
}
overrides_merge() {
  cat > "$work/tune.yaml" <<'YAML'
policy:
  overrides:
    mode: audit
    exemptions:
      - name: security-scanner
        namespaces: [security-scanning]
        rules: [exec-network-scan]
    rules:
      exec-kubectl: {action: deny}
YAML
  render -f "$work/tune.yaml" > "$work/tuned.yaml" || return 1
  policy_dir_of "$work/tuned.yaml" "$work/tuned" || return 1
  "$bin" policy show --policy "$work/tuned" > "$work/tuned-policy.yaml" || return 1
  grep -q '^mode: audit' "$work/tuned-policy.yaml" && grep -q 'security-scanner' "$work/tuned-policy.yaml" \
    && rule_block "$work/tuned-policy.yaml" exec-kubectl | grep -q '^    action: deny' \
    && [ "$(rule_block "$work/tuned-policy.yaml" exec-sniffing | grep '^    score:')" \
      = "$("$bin" policy default | rule_block /dev/stdin exec-sniffing | grep '^    score:')" ]
}
check "policy.overrides (values of earlier releases) still merge into the default policy" overrides_merge
# The worked example of values.yaml, uncommented: a few lines, no copy of the catalogue.
worked_example() {
  python3 - "$chart/values.yaml" > "$work/example.yaml" <<'PY' || return 1
import sys
lines = open(sys.argv[1]).read().split("\n")
start = lines.index("  # layers:")
out = ["policy:"]
for line in lines[start:]:
    if not line.startswith("  #"):
        break
    out.append("  " + line[4:])
print("\n".join(out))
PY
  helm lint --strict "$chart" -f "$work/example.yaml" >/dev/null || return 1
  render -f "$work/example.yaml" > "$work/layered.yaml" || return 1
  policy_dir_of "$work/layered.yaml" "$work/layered" || return 1
  [ "$(ls "$work/layered" | tr '\n' ' ')" = "05-pods.yaml 20-00-first-day.yaml 20-01-site.yaml " ] || return 1
  "$bin" policy show --policy "$work/layered" --format json > "$work/layered.json" || return 1
  python3 - "$work/layered.json" <<'PY'
import json, sys
shown = json.load(open(sys.argv[1]))
policy, origins = shown["policy"], shown["origins"]
assert policy["mode"]["pods"] == "audit" and policy["mode"]["exec"] == "enforce", policy["mode"]
assert any(p.get("id") == "site-inxi" for p in policy["exec"]["programs"])
assert any(h["path"] == "/run/vendor/agent.sock" for h in policy["pod"]["hostPaths"])
assert [e["name"] for e in policy["exemptions"]] == ["security-scanner"]
assert len(policy["exec"]["programs"]) > 20, "the catalogue is kept, not replaced"
assert any(v.endswith("20-01-site.yaml") for v in origins.values()), origins
PY
}
check "the values.yaml layers example renders, lints and merges as documented" worked_example
layered_pods_first_day() {
  "$bin" evaluate --policy "$work/layered" tests/corpus/exec-reverse-shell.json >/dev/null; [ $? -eq 1 ] || return 1
  "$bin" evaluate --policy "$work/layered" tests/corpus/pod-create-docker-socket.json | grep -q 'would deny'
}
check "first-day layers: exec enforced, pods audited" layered_pods_first_day
check "schema rejects a layer without a name" bash -c "! helm lint --strict $chart --set-json 'policy.layers=[{\"policy\":{}}]'"
check "schema rejects a layer name that is not a ConfigMap key part" bash -c \
  "! helm lint --strict $chart --set-json 'policy.layers=[{\"name\":\"../x\",\"policy\":{}}]'"
content_is_the_base() {
  "$bin" policy default > "$work/whole.yaml" || return 1
  sed -i -e '/^base: none$/d' -e 's/^  deny: 70$/  deny: 65/' "$work/whole.yaml"
  render --set-file policy.content="$work/whole.yaml" > "$work/content.yaml" || return 1
  policy_dir_of "$work/content.yaml" "$work/content" || return 1
  "$bin" policy show --policy "$work/content" | grep -q '^  deny: 65' || return 1
  "$bin" policy show --policy "$work/content" | head -1 | grep -q 'merged from: .*00-content.yaml$'
}
check "policy.content replaces the built-in default (base: none added)" content_is_the_base
cluster_rbac() {
  render > "$work/cluster-default.yaml" || return 1
  render --set cluster.podCache.enabled=false --set cluster.events.enabled=false > "$work/cluster-off.yaml" || return 1
  render --set 'cluster.podCache.namespaces={shop}' --set cluster.events.enabled=false \
    --set cluster.containment.enabled=true --set 'cluster.containment.namespaces={shop,web}' \
    --set cluster.containment.networkPolicy=true --set cluster.containment.minimumScore=80 > "$work/cluster-contain.yaml" || return 1
  ! render --set cluster.containment.enabled=true > /dev/null 2>&1 || { echo "containment without namespaces rendered"; return 1; }
  for v in 1.30 1.37; do
    kubernetes-validate --strict --quiet -k "$v" "$work/cluster-contain.yaml" || return 1
  done
  python3 - "$work" <<'PY'
import sys, yaml
def docs(name):
    return [d for d in yaml.safe_load_all(open(f"{sys.argv[1]}/{name}")) if d]
def grants(ds):
    """(kind, namespace, group, resource, verb) for every rule the chart binds."""
    out = set()
    for d in ds:
        if d["kind"] in ("ClusterRole", "Role"):
            ns = d["metadata"].get("namespace", "*")
            for r in d["rules"]:
                for g in r["apiGroups"]:
                    for res in r["resources"]:
                        for v in r["verbs"]:
                            out.add((d["kind"], ns, g, res, v))
    return out
def pod_spec(ds):
    dep = next(d for d in ds if d["kind"] == "Deployment")
    return dep["spec"]["template"]["spec"]
default = docs("cluster-default.yaml")
assert grants(default) == {
    ("ClusterRole", "*", "", "pods", "list"), ("ClusterRole", "*", "", "pods", "watch"),
    ("ClusterRole", "*", "events.k8s.io", "events", "create"), ("ClusterRole", "*", "events.k8s.io", "events", "patch"),
}, grants(default)
spec = pod_spec(default)
assert spec["automountServiceAccountToken"] is True
args = spec["containers"][0]["args"]
assert "--pod-cache" in args and "--events" in args and not any(a.startswith("--quarantine") for a in args), args
assert any(e["name"] == "POD_NAME" for e in spec["containers"][0]["env"])
binding = next(d for d in default if d["kind"] == "ClusterRoleBinding")
assert binding["subjects"][0]["namespace"] == "reconguard"

off = docs("cluster-off.yaml")
assert grants(off) == set(), grants(off)
assert pod_spec(off)["automountServiceAccountToken"] is False
assert not [d for d in off if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]

contain = docs("cluster-contain.yaml")
assert grants(contain) == {
    ("Role", "shop", "", "pods", "list"), ("Role", "shop", "", "pods", "watch"), ("Role", "shop", "", "pods", "patch"),
    ("Role", "web", "", "pods", "patch"),
}, grants(contain)
args = pod_spec(contain)["containers"][0]["args"]
assert "--pod-cache-namespace=shop" in args and "--quarantine-min-score=80" in args and "--events" not in args, args
isolating = [d for d in contain if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-quarantine")]
assert sorted(d["metadata"]["namespace"] for d in isolating) == ["shop", "web"]
for d in isolating:
    assert d["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in d["spec"] and "egress" not in d["spec"]
    assert d["spec"]["podSelector"]["matchExpressions"] == [{"key": "reconguard.io/quarantine", "operator": "Exists"}]
PY
}
check "cluster RBAC: exactly what the enabled parts need (pods list/watch, events create/patch, pods patch only where containment is on)" cluster_rbac
check "schema rejects a cluster value that is not one" bash -c "! helm lint --strict $chart --set cluster.events.burst=0 && ! helm lint --strict $chart --set cluster.podCache.watch=true"
check "manifests/install.yaml is the chart rendered (scripts/render-manifests --write)" \
  bash -c "scripts/render-manifests | cmp - manifests/install.yaml"
# The header's caBundle patch, run as documented (kubectl applies it offline to the manifests'
# webhook configuration), must give every entry the CA: an entry left without it fails TLS and,
# under failurePolicy Ignore, never judges anything.
documented_patch_covers_every_entry() {
  local dir="$work/patched"
  mkdir -p "$dir"
  "$bin" certs --service reconguard --namespace reconguard --out "$dir/certs" >/dev/null || return 1
  python3 - manifests/install.yaml "$dir/vwc.yaml" "$dir/patch.sh" <<'PY' || return 1
import sys, yaml
text = open(sys.argv[1]).read()
docs = [d for d in yaml.safe_load_all(text) if d]
(vwc,) = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]
yaml.safe_dump(vwc, open(sys.argv[2], "w"))
# The command as the header writes it: from `kubectl patch` to the end of the comment block.
header = []
for line in text.splitlines():
    if not line.startswith("#"):
        break
    header.append(line[1:].strip())
start = next(i for i, l in enumerate(header) if l.startswith("kubectl patch validatingwebhookconfiguration"))
command = " ".join(header[start:])
target = "kubectl patch validatingwebhookconfiguration reconguard "
assert command.startswith(target), command
open(sys.argv[3], "w").write('kubectl patch --local -f "$1" -o json ' + command[len(target):] + "\n")
PY
  (cd "$dir" && bash patch.sh vwc.yaml > patched.json) || return 1
  python3 - "$dir/patched.json" "$dir/certs/ca.crt" "$dir/vwc.yaml" <<'PY'
import base64, json, sys, yaml
patched = json.load(open(sys.argv[1]))
bundle = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
names = [w["name"] for w in yaml.safe_load(open(sys.argv[3]))["webhooks"]]
hooks = {w["name"]: w for w in patched["webhooks"]}
assert sorted(hooks) == sorted(names), (sorted(hooks), names)
missing = [n for n, w in hooks.items() if w["clientConfig"].get("caBundle") != bundle]
assert not missing, f"entries without the CA after the documented patch: {missing}"
print(f"{len(hooks)} entries patched by name")
PY
}
check "manifests: the header's caBundle patch gives every webhook entry the CA, by name" documented_patch_covers_every_entry
check "README values table matches the chart" scripts/values-table --check README.md
check "promtool check rules" promtool check rules "$chart/files/alerts.yaml"
check "promtool test rules" promtool test rules tests/alerts/alerts_test.yaml
check "PrometheusRule embeds the rules file" bash -c "grep -q 'alert: ReconguardRequestsDenied' $work/certmanager.yaml"

checks_summary chart
