//! What the detectors match against: the catalogues, in the form the detectors need them. The
//! detectors own these types and never read the policy document; `crate::policy` validates a
//! document and compiles it into a `Catalogue`. Detection knowledge stays data an admin can read
//! and tune, and the detectors stay independent of how the policy is written.

use crate::norm::pattern::WordSet;
/// The catalogue's sets and maps are looked up with every program, word and host of every
/// request; foldhash (hashbrown's default hasher, seeded per process) is several times faster
/// than SipHash here. Requesters only look things up in them, never insert.
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use globset::{Candidate, GlobSet};

use crate::norm::host::HostKey;
use crate::norm::host_path::HostPath;
use crate::norm::pattern::Pattern;

/// Everything the detectors know.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub pod: PodCatalogue,
    pub exec: ExecCatalogue,
    pub connect: Option<ConnectCatalogue>,
    pub context: ContextCatalogue,
}

/// Rules judged with the cluster's context (`crate::context`).
#[derive(Debug, Clone, Default)]
pub struct ContextCatalogue {
    pub escape_adjacent: Option<EscapeAdjacent>,
    pub unexpected_creation: Option<UnexpectedCreation>,
}

#[derive(Debug, Clone)]
pub struct EscapeAdjacent {
    pub rule: String,
    /// Rules of the target's own spec that make it escape-adjacent.
    pub pod_rules: HashSet<String>,
    /// Rules that make a request count: those under the listed tactics and those listed.
    pub triggers: HashSet<String>,
    pub debug: bool,
}

#[derive(Debug, Clone)]
pub struct UnexpectedCreation {
    pub rule: String,
    pub minimum_pods: usize,
    pub creators: Vec<crate::norm::pattern::Pattern>,
}

/// Port-forward and proxy knowledge.
#[derive(Debug, Clone)]
pub struct ConnectCatalogue {
    pub node_ports: HashSet<u16>,
    pub port_forward_rule: String,
    pub unseen_ports_rule: Option<String>,
    pub proxy_port_rule: String,
    pub proxy_paths: GlobSet,
    /// Rule of each glob in `proxy_paths`, by index.
    pub proxy_path_rules: Vec<String>,
}

/// Pod-spec knowledge: capabilities, host paths, attack-tool images.
#[derive(Debug, Clone)]
pub struct PodCatalogue {
    /// Normalised capability name -> rule.
    pub capabilities: HashMap<String, String>,
    pub host_paths: Vec<HostPathEntry>,
    /// Rule for a host path no entry names.
    pub other_host_path_rule: Option<String>,
    /// Rule for a hostPath volume of `type: BlockDevice`.
    pub block_device_rule: Option<String>,
    /// Normalised capabilities Pod Security Standards (baseline) allow to add.
    pub baseline_capabilities: HashSet<String>,
    /// Rule for other added capabilities without a rule of their own.
    pub other_capability_rule: Option<String>,
    pub safe_sysctls: HashSet<String>,
    pub selinux_types: HashSet<String>,
    pub images: Vec<ImageEntry>,
}

/// A catalogued host path, whose components may be globs.
#[derive(Debug, Clone)]
pub struct HostPathEntry {
    pub path: HostPath,
    pub components: Vec<Pattern>,
    pub rule: String,
    /// The rule's score: of several entries a mount exposes, the highest wins.
    pub priority: u32,
    /// Also matches paths below this one.
    pub below: bool,
    /// Also matches the directories that contain this one.
    pub above: bool,
}

#[derive(Debug, Clone)]
pub struct ImageEntry {
    pub rule: String,
    /// Image names (last path component), any registry.
    pub names: HashSet<String>,
    /// Full repositories (`docker.io/aquasec/kube-hunter`), normalised.
    pub repositories: HashSet<String>,
    /// Lower-case words in the repository path (`peirates` in `bustakube/alpine-peirates`).
    pub name_contains: WordSet,
}

/// Command knowledge: programs, paths, wrappers, shells, interpreters, network clients and hosts.
#[derive(Debug, Clone)]
pub struct ExecCatalogue {
    pub programs: HashMap<String, Vec<ProgramEntry>>,
    /// Program names that deny by their name alone (derived from the rules' scores): what a
    /// command name the analysis cannot resolve is taken for, when the script names one.
    pub unresolved_names: HashSet<String>,
    pub paths: PathRules,
    /// Paths that count only when written.
    pub written_paths: PathRules,
    pub writers: HashSet<String>,
    pub shell_relays: HashSet<String>,
    pub wrappers: HashMap<String, Wrapper>,
    pub shells: HashSet<String>,
    pub interpreters: HashSet<String>,
    pub code_options: HashSet<String>,
    /// Interpreters whose first positional argument is the program (awk).
    pub positional_code: HashSet<String>,
    pub positional_code_options: Vec<String>,
    pub code_markers: Vec<CodeMarker>,
    pub netcat: HashSet<String>,
    pub netcat_scan_options: Vec<String>,
    pub netcat_exec_options: Vec<String>,
    pub netcat_listen_options: Vec<String>,
    pub socat: HashSet<String>,
    pub socat_shell_addresses: GlobSet,
    /// Case-insensitive.
    pub socat_listen_addresses: GlobSet,
    pub downloaders: HashSet<String>,
    pub metadata_hosts: HashSet<HostKey>,
    pub api_server_hosts: HashSet<HostKey>,
    pub api_server_variables: Vec<String>,
    pub kubelet_ports: HashSet<u16>,
    pub metadata_variables: Vec<String>,
    pub ip_embedding_domains: Vec<String>,
    pub control_plane_ports: HashSet<u16>,
    pub network_clients: HashSet<String>,
    /// Resolve or ping a host, never connect to it.
    pub non_connecting: HashSet<String>,
    /// Arguments that only print a version or help.
    pub lookup_arguments: HashSet<String>,
    pub credential_search: Option<CredentialSearch>,
    pub kubernetes_api: Option<KubernetesApi>,
    pub toolkits: Option<Toolkits>,
    pub limits: Limits,
}

/// Path globs and their rules. Relative names (`core_pattern`) can only match `**/` globs, and a
/// script's every word is such a candidate, so they are matched by their last component first:
/// a hash lookup among the `**/NAME` globs, a small set of `**/NAME*` globs, and only for a
/// relative path with a `/` the longer `**/A/B` globs.
#[derive(Debug, Clone)]
pub struct PathRules {
    pub absolute: GlobSet,
    pub absolute_rules: Vec<String>,
    /// `**/NAME` with a literal NAME: NAME -> rules.
    pub relative_names: HashMap<String, Vec<String>>,
    /// `**/NAME*`: one component with a wildcard, matched against the last component.
    pub relative_single: GlobSet,
    pub relative_single_rules: Vec<String>,
    /// `**/A/B...`: several components.
    pub relative_multi: GlobSet,
    pub relative_multi_rules: Vec<String>,
}

impl PathRules {
    /// The rules a normalised candidate path raises.
    pub fn matching<'a>(&'a self, candidate: &str) -> Vec<&'a str> {
        if candidate.starts_with('/') || candidate.starts_with('~') {
            return indexed(
                &self.absolute,
                &self.absolute_rules,
                &Candidate::new(candidate),
            );
        }
        let last = candidate.rsplit('/').next().unwrap_or(candidate);
        let mut found: Vec<&str> = self
            .relative_names
            .get(last)
            .map(|rules| rules.iter().map(String::as_str).collect())
            .unwrap_or_default();
        found.extend(indexed(
            &self.relative_single,
            &self.relative_single_rules,
            &Candidate::new(last),
        ));
        if candidate.contains('/') {
            found.extend(indexed(
                &self.relative_multi,
                &self.relative_multi_rules,
                &Candidate::new(candidate),
            ));
        }
        found
    }
}

/// Every word of a script is a candidate and almost none matches: the yes-or-no search is
/// cheaper than collecting matches, so it runs first.
fn indexed<'a>(set: &GlobSet, rules: &'a [String], candidate: &Candidate) -> Vec<&'a str> {
    if !set.is_match_candidate(candidate) {
        return Vec::new();
    }
    set.matches_candidate(candidate)
        .into_iter()
        .filter_map(|i| rules.get(i).map(String::as_str))
        .collect()
}

/// What makes a command a search of a filesystem for credentials.
#[derive(Debug, Clone)]
pub struct CredentialSearch {
    pub rule: String,
    /// Always search a tree.
    pub searchers: HashSet<String>,
    /// Search a tree only with one of `recursive_options`.
    pub recursive_searchers: HashSet<String>,
    pub recursive_options: Vec<String>,
    /// Search the whole filesystem whatever their arguments.
    pub whole_filesystem: HashSet<String>,
    /// Search only for secrets.
    pub scanners: HashSet<String>,
    /// Lower-case substrings naming a credential.
    pub terms: Vec<String>,
    /// Lower-case generic words, counted only from a broad root.
    pub broad_terms: Vec<String>,
    pub broad_roots: Vec<Pattern>,
}

/// Kubernetes API use by client verbs and by request paths.
#[derive(Debug, Clone)]
pub struct KubernetesApi {
    pub clients: HashSet<String>,
    pub options_with_value: Vec<String>,
    pub verbs: Vec<KubernetesVerb>,
    pub list_options: Vec<String>,
    pub requests: Vec<KubernetesRequest>,
    pub write_arguments: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct KubernetesVerb {
    pub rule: String,
    pub verbs: HashSet<String>,
    /// Empty: any resource.
    pub resources: Vec<Pattern>,
    pub named: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct KubernetesRequest {
    pub rule: String,
    pub paths: GlobSet,
    pub writes: bool,
}

/// Known attack toolkits by name.
#[derive(Debug, Clone)]
pub struct Toolkits {
    pub download_rule: String,
    pub run_rule: String,
    pub fetchers: HashSet<String>,
    /// Lower-case words.
    pub names: WordSet,
    pub tool_rule: Option<String>,
    pub tools: WordSet,
}

#[derive(Debug, Clone)]
pub struct ProgramEntry {
    pub rule: String,
    /// Only when an argument matches one of these.
    pub when_args: Option<GlobSet>,
    /// Only when run without arguments.
    pub without_args: bool,
}

/// A program that runs another: how to find the command it runs.
#[derive(Debug, Clone)]
pub struct Wrapper {
    pub options_with_value: Vec<String>,
    /// Options whose value is a shell script (`su -c`, `env -S`).
    pub script_options: Vec<String>,
    /// Positional arguments before the command (`timeout 5`).
    pub skip: usize,
    /// `NAME=value` arguments before the command (`env A=1`).
    pub skip_assignments: bool,
    /// `su USER -c ...`: a positional user name may precede the command.
    pub user_argument: bool,
    /// `eval`: the remaining arguments, joined by spaces, are a shell script.
    pub joins_arguments: bool,
    /// Options after which the rest is looked up, not run (`command -v docker`).
    pub lookup_options: Vec<String>,
    /// Options followed by a command that ends at `;` or `+` (`find -exec cmd {} ;`).
    pub argv_options: Vec<String>,
    /// Whether what follows the options is a command.
    pub runs_rest: bool,
    /// A script option's value runs as a shell command only after one of these (taken off).
    pub script_prefixes: Vec<String>,
    /// Arguments after one of these are inputs; with no command before it, each runs.
    pub input_separators: Vec<String>,
    /// For tools that build a command from standard input (`xargs`): the options that name the
    /// string replaced by each input line (`-I{}`); the tool appends the input without one.
    pub replace_options: Vec<String>,
}

/// Markers that, all present in inline code, raise a rule.
#[derive(Debug, Clone)]
pub struct CodeMarker {
    pub rule: String,
    pub all_of: Vec<String>,
}

/// Every bound of the command analysis (README, "Analysis limits").
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_script_bytes: usize,
    pub max_depth: usize,
    pub max_commands: usize,
    pub max_nesting: usize,
    pub max_work: u64,
}
