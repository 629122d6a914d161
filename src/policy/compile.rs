//! Validation and compilation of a policy document into a `Policy` and the detectors'
//! `Catalogue`. Every problem is reported with the path of the offending value
//! (`rules.host-pid.technique`), so an admin can find it in the YAML; all problems at once.

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::exemption::Exemption;
use super::load::{Modes, Policy, PolicyError, Problem, Rule, API_VERSION, KIND};
use super::model::*;
use crate::detect::catalogue::{
    Catalogue, CodeMarker, ConnectCatalogue, ContextCatalogue, CredentialSearch, EscapeAdjacent,
    ExecCatalogue, HashMap, HashSet, HostPathEntry, ImageEntry, KubernetesApi, KubernetesRequest,
    KubernetesVerb, Limits, PathRules, PodCatalogue, ProgramEntry, Toolkits, UnexpectedCreation,
    Wrapper,
};
use crate::detect::RULES_RAISED_BY_NAME;
use crate::norm::capability::normalise_capability;
use crate::norm::host::HostKey;
use crate::norm::host_path::HostPath;
use crate::norm::image::ImageRef;
use crate::norm::pattern::{Pattern, WordSet};

/// Why `serviceAccounts` no longer loads, and what to write instead. It matched a pod's own
/// `spec.serviceAccountName` for pod specs and the requester for everything else. Read either
/// way, an old policy would keep the hole or widen it (to pods the account itself creates).
const SERVICE_ACCOUNTS_SPLIT: &str = "is no longer read: it matched a pod's own \
     spec.serviceAccountName, which whoever creates the pod writes. Write \
     `requesterServiceAccounts: [ns/name]` for the service account that sends the request \
     (from the API server's userInfo), or `podServiceAccounts: [ns/name]` for the one a Pod or \
     workload template runs as (anyone who may create pods in ns can name it: narrow it with \
     `rules` and `images`)";

struct Checker {
    problems: Vec<Problem>,
    rules: BTreeSet<String>,
    /// Rules some catalogue entry, setting or combination raises.
    raised: BTreeSet<String>,
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A reference by something that raises the rule (a catalogue entry, a combination).
    fn rule_ref(&mut self, path: String, rule: &str) {
        self.raised.insert(rule.to_string());
        self.rule_exists(path, rule);
    }

    /// A reference that only names the rule (an exemption, a combination's parts).
    fn rule_exists(&mut self, path: String, rule: &str) {
        if !self.rules.contains(rule) {
            self.problem(path, format!("unknown rule {rule:?}"));
        }
    }

    fn pattern(&mut self, path: String, text: &str, separator: bool) -> Option<Pattern> {
        if text.is_empty() {
            self.problem(path, "empty pattern");
            return None;
        }
        match Pattern::new(text, separator) {
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(path, e);
                None
            }
        }
    }

    fn patterns(&mut self, path: &str, texts: &[String], separator: bool) -> Vec<Pattern> {
        texts
            .iter()
            .enumerate()
            .filter_map(|(i, t)| self.pattern(format!("{path}[{i}]"), t, separator))
            .collect()
    }

    /// `separator`: `*` stays within one path component (paths), or crosses `/` (anything else).
    fn glob(&mut self, path: String, text: &str, separator: bool) -> Option<Glob> {
        match GlobBuilder::new(text).literal_separator(separator).build() {
            Ok(g) => Some(g),
            Err(e) => {
                self.problem(path, format!("bad glob {text:?}: {e}"));
                None
            }
        }
    }

    fn globset(&mut self, path: &str, texts: &[String], separator: bool) -> GlobSet {
        let mut builder = GlobSetBuilder::new();
        for (i, t) in texts.iter().enumerate() {
            if let Some(g) = self.glob(format!("{path}[{i}]"), t, separator) {
                builder.add(g);
            }
        }
        self.built(path, builder)
    }

    /// A glob set, or a problem at `path`: a set that failed to build must not match nothing
    /// in silence (detection would be off with a valid-looking policy).
    fn built(&mut self, path: &str, builder: GlobSetBuilder) -> GlobSet {
        match builder.build() {
            Ok(set) => set,
            Err(e) => {
                self.problem(
                    path,
                    format!("the patterns cannot be compiled together: {e}"),
                );
                GlobSet::empty()
            }
        }
    }

    /// A word set, or a problem at `path`.
    fn word_set(&mut self, path: &str, words: &[String]) -> WordSet {
        let words = lower(self, path, words);
        match WordSet::new(words) {
            Ok(set) => set,
            Err(e) => {
                self.problem(path, format!("the words cannot be compiled together: {e}"));
                WordSet::empty()
            }
        }
    }
}

fn valid_technique(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    main.len() == 4
        && main.bytes().all(|b| b.is_ascii_digit())
        && sub.is_none_or(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
}

fn set(items: &[String]) -> HashSet<String> {
    items.iter().cloned().collect()
}

/// Substrings compared case-insensitively; an empty one would match everything.
fn lower(c: &mut Checker, path: &str, items: &[String]) -> Vec<String> {
    for (i, item) in items.iter().enumerate() {
        if item.trim().is_empty() {
            c.problem(format!("{path}[{i}]"), "must not be empty");
        }
    }
    items
        .iter()
        .filter(|i| !i.trim().is_empty())
        .map(|i| i.to_lowercase())
        .collect()
}

pub(super) fn compile(doc: PolicyDocument) -> Result<Policy, PolicyError> {
    let mut c = Checker {
        problems: Vec::new(),
        rules: doc.rules.keys().cloned().collect(),
        raised: BTreeSet::new(),
    };
    if doc.api_version != API_VERSION {
        c.problem("apiVersion", format!("must be {API_VERSION:?}"));
    }
    if doc.kind != KIND {
        c.problem("kind", format!("must be {KIND:?}"));
    }
    if doc.thresholds.annotate == 0 {
        c.problem("thresholds.annotate", "must be at least 1");
    }
    if doc.thresholds.deny < doc.thresholds.annotate {
        c.problem(
            "thresholds.deny",
            "must be greater than or equal to thresholds.annotate",
        );
    }

    let mut rules = HashMap::default();
    for (id, spec) in &doc.rules {
        let path = format!("rules.{id}");
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            c.problem(
                path.clone(),
                "rule ids use lower-case letters, digits and -",
            );
        }
        if !valid_technique(&spec.technique) {
            c.problem(
                format!("{path}.technique"),
                format!(
                    "{:?} is not a MITRE ATT&CK technique id (T1234 or T1234.001)",
                    spec.technique
                ),
            );
        }
        if spec.score > 1000 {
            c.problem(format!("{path}.score"), "must be at most 1000");
        }
        if spec.message.trim().is_empty() {
            c.problem(format!("{path}.message"), "must not be empty");
        }
        rules.insert(
            id.clone(),
            Rule {
                id: id.clone(),
                score: spec.score,
                technique: spec.technique.clone(),
                message: spec.message.clone(),
                enabled: spec.enabled,
                action: spec.action,
            },
        );
    }

    for (i, combo) in doc.combinations.iter().enumerate() {
        let path = format!("combinations[{i}]");
        c.rule_ref(format!("{path}.rule"), &combo.rule);
        if combo.all_of.is_empty() {
            c.problem(format!("{path}.allOf"), "must name at least one rule");
        }
        for (j, r) in combo.all_of.iter().enumerate() {
            c.rule_exists(format!("{path}.allOf[{j}]"), r);
        }
        for (j, r) in combo.any_of.iter().enumerate() {
            if r != "*" {
                c.rule_exists(format!("{path}.anyOf[{j}]"), r);
            }
        }
    }

    let mut origin_scores: HashMap<String, BTreeMap<CommandOrigin, u32>> = HashMap::default();
    let mut origin_ids = HashSet::default();
    for (i, entry) in doc.origins.iter().enumerate() {
        let path = format!("origins[{i}]");
        if !origin_ids.insert(entry.id.clone()) {
            c.problem(format!("{path}.id"), format!("duplicate id {:?}", entry.id));
        }
        if entry.origins.is_empty() {
            c.problem(format!("{path}.origins"), "must name at least one origin");
        }
        for (rule, score) in &entry.scores {
            c.rule_exists(format!("{path}.scores.{rule}"), rule);
            let by_origin = origin_scores.entry(rule.clone()).or_default();
            for origin in &entry.origins {
                by_origin.insert(*origin, *score);
            }
        }
    }

    let mut exemptions = Vec::new();
    let mut names = HashSet::default();
    for (i, e) in doc.exemptions.iter().enumerate() {
        let path = format!("exemptions[{i}]");
        if e.name.trim().is_empty() {
            c.problem(format!("{path}.name"), "must not be empty");
        } else if !names.insert(e.name.clone()) {
            c.problem(
                format!("{path}.name"),
                format!("duplicate name {:?}", e.name),
            );
        }
        if e.service_accounts.is_some() {
            c.problem(format!("{path}.serviceAccounts"), SERVICE_ACCOUNTS_SPLIT);
        }
        let selectors = e.namespaces.len()
            + e.users.len()
            + e.groups.len()
            + e.requester_service_accounts.len()
            + e.pod_service_accounts.len()
            + e.images.len()
            + e.pod_labels.len();
        if selectors == 0 && e.service_accounts.is_none() {
            c.problem(
                path.clone(),
                "needs at least one selector (namespaces, users, groups, requesterServiceAccounts, podServiceAccounts, images, podLabels); an exemption of everything is mode: off",
            );
        }
        for (j, r) in e.rules.iter().enumerate() {
            c.rule_exists(format!("{path}.rules[{j}]"), r);
        }
        for (field, accounts) in [
            ("requesterServiceAccounts", &e.requester_service_accounts),
            ("podServiceAccounts", &e.pod_service_accounts),
        ] {
            for (j, sa) in accounts.iter().enumerate() {
                if sa
                    .split_once('/')
                    .is_none_or(|(ns, name)| ns.is_empty() || name.is_empty() || name.contains('/'))
                {
                    c.problem(format!("{path}.{field}[{j}]"), "must be namespace/name");
                }
            }
        }
        let pod_labels = e
            .pod_labels
            .iter()
            .filter_map(|(k, v)| {
                c.pattern(format!("{path}.podLabels.{k}"), v, false)
                    .map(|p| (k.clone(), p))
            })
            .collect();
        exemptions.push(Exemption {
            name: e.name.clone(),
            namespaces: c.patterns(&format!("{path}.namespaces"), &e.namespaces, false),
            users: c.patterns(&format!("{path}.users"), &e.users, false),
            groups: c.patterns(&format!("{path}.groups"), &e.groups, false),
            requester_service_accounts: c.patterns(
                &format!("{path}.requesterServiceAccounts"),
                &e.requester_service_accounts,
                true,
            ),
            pod_service_accounts: c.patterns(
                &format!("{path}.podServiceAccounts"),
                &e.pod_service_accounts,
                true,
            ),
            images: c.patterns(&format!("{path}.images"), &e.images, true),
            pod_labels,
            rules: set(&e.rules),
        });
    }

    let pod = compile_pod(&mut c, &doc.pod, &rules);
    let mut exec = compile_exec(&mut c, &doc.exec);
    exec.unresolved_names = deny_level_programs(&exec, &rules, doc.thresholds.deny);
    let connect = doc.connect.as_ref().map(|k| compile_connect(&mut c, k));

    if let Some(spec) = &doc.correlation {
        c.rule_ref("correlation.rule".to_string(), &spec.rule);
        if spec.distinct_techniques < 2 {
            c.problem("correlation.distinctTechniques", "must be at least 2");
        }
        if spec.window_seconds == 0 || spec.duplicate_seconds >= spec.window_seconds {
            c.problem(
                "correlation.windowSeconds",
                "must be positive and longer than duplicateSeconds",
            );
        }
        if spec.max_identities == 0 {
            c.problem("correlation.maxIdentities", "must be at least 1");
        }
        for (i, tactic) in spec.tactics.iter().enumerate() {
            if !doc.techniques.values().any(|t| &t.tactic == tactic) {
                c.problem(
                    format!("correlation.tactics[{i}]"),
                    format!("no technique in `techniques` is filed under {tactic:?}"),
                );
            }
        }
    }
    let context = doc
        .context
        .as_ref()
        .map(|spec| compile_context(&mut c, spec, &doc, &rules))
        .unwrap_or_default();
    rule_contract(&mut c);

    if !c.problems.is_empty() {
        return Err(PolicyError::Invalid(c.problems));
    }
    Ok(Policy {
        mode: Modes::from(&doc.mode),
        layers: Vec::new(),
        warnings: Vec::new(),
        thresholds: doc.thresholds,
        combinations: doc.combinations.clone(),
        origin_scores,
        rules,
        exemptions,
        catalogue: Catalogue {
            pod,
            exec,
            connect,
            context,
        },
        correlation: super::Correlation::compile(doc.correlation.as_ref(), &doc),
        document: doc,
    })
}

fn compile_pod(c: &mut Checker, pod: &PodKnowledge, rules: &HashMap<String, Rule>) -> PodCatalogue {
    let mut capabilities = HashMap::default();
    for (name, rule) in &pod.capabilities {
        c.rule_ref(format!("pod.capabilities.{name}"), rule);
        capabilities.insert(normalise_capability(name), rule.clone());
    }
    let mut host_paths = Vec::new();
    for (i, hp) in pod.host_paths.iter().enumerate() {
        let path = format!("pod.hostPaths[{i}]");
        c.rule_ref(format!("{path}.rule"), &hp.rule);
        let Some(normal) = HostPath::parse(&hp.path) else {
            c.problem(format!("{path}.path"), "must be an absolute path");
            continue;
        };
        let components = normal
            .components()
            .iter()
            .filter_map(|comp| c.pattern(format!("{path}.path"), comp, true))
            .collect();
        host_paths.push(HostPathEntry {
            path: normal,
            components,
            priority: rules.get(&hp.rule).map_or(0, |r| r.score),
            rule: hp.rule.clone(),
            below: hp.below,
            above: hp.above,
        });
    }
    if let Some(rule) = &pod.other_host_path_rule {
        c.rule_ref("pod.otherHostPathRule".into(), rule);
    }
    if let Some(rule) = &pod.block_device_rule {
        c.rule_ref("pod.blockDeviceRule".into(), rule);
    }
    if let Some(rule) = &pod.other_capability_rule {
        c.rule_ref("pod.otherCapabilityRule".into(), rule);
    }
    let images = pod
        .images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            c.rule_ref(format!("pod.images[{i}].rule"), &img.rule);
            let mut repositories = HashSet::default();
            for (j, r) in img.repositories.iter().enumerate() {
                match ImageRef::parse(r) {
                    Some(parsed) => {
                        repositories.insert(parsed.full_repository());
                    }
                    None => c.problem(
                        format!("pod.images[{i}].repositories[{j}]"),
                        format!("{r:?} is not an image repository"),
                    ),
                }
            }
            ImageEntry {
                rule: img.rule.clone(),
                names: set(&img.names),
                repositories,
                name_contains: c
                    .word_set(&format!("pod.images[{i}].nameContains"), &img.name_contains),
            }
        })
        .collect();
    PodCatalogue {
        capabilities,
        host_paths,
        other_host_path_rule: pod.other_host_path_rule.clone(),
        block_device_rule: pod.block_device_rule.clone(),
        baseline_capabilities: pod
            .baseline_capabilities
            .iter()
            .map(|c| normalise_capability(c))
            .collect(),
        other_capability_rule: pod.other_capability_rule.clone(),
        safe_sysctls: set(&pod.safe_sysctls),
        selinux_types: set(&pod.selinux_types),
        images,
    }
}

/// The rules the engine can raise and the rules the policy defines must be the same set: a rule
/// the detectors raise by name that the policy lacks would be dropped silently (a policy written
/// for an older release would quietly turn new detectors off), and a rule nothing raises is a
/// typo or a leftover.
fn compile_context(
    c: &mut Checker,
    spec: &ContextSpec,
    doc: &PolicyDocument,
    rules: &HashMap<String, Rule>,
) -> ContextCatalogue {
    let escape_adjacent = spec.escape_adjacent.as_ref().map(|e| {
        let path = "context.escapeAdjacent";
        c.rule_ref(format!("{path}.rule"), &e.rule);
        for (i, rule) in e.pod_rules.iter().enumerate() {
            c.rule_exists(format!("{path}.podRules[{i}]"), rule);
        }
        for (i, rule) in e.rules.iter().enumerate() {
            c.rule_exists(format!("{path}.rules[{i}]"), rule);
        }
        for (i, tactic) in e.tactics.iter().enumerate() {
            if !doc.techniques.values().any(|t| &t.tactic == tactic) {
                c.problem(
                    format!("{path}.tactics[{i}]"),
                    format!("no technique in `techniques` is filed under {tactic:?}"),
                );
            }
        }
        let under_tactics = rules.iter().filter(|(id, rule)| {
            **id != e.rule
                && doc
                    .techniques
                    .get(&rule.technique)
                    .is_some_and(|t| e.tactics.contains(&t.tactic))
        });
        let triggers = under_tactics
            .map(|(id, _)| id.clone())
            .chain(e.rules.iter().cloned())
            .collect();
        (e.enabled).then(|| EscapeAdjacent {
            rule: e.rule.clone(),
            pod_rules: e.pod_rules.iter().cloned().collect(),
            triggers,
            debug: e.debug,
        })
    });
    let unexpected_creation = spec.unexpected_creation.as_ref().map(|u| {
        let path = "context.unexpectedCreation";
        c.rule_ref(format!("{path}.rule"), &u.rule);
        if u.minimum_pods == 0 {
            c.problem(format!("{path}.minimumPods"), "must be at least 1");
        }
        let creators = c.patterns(&format!("{path}.creators"), &u.creators, false);
        (u.enabled).then(|| UnexpectedCreation {
            rule: u.rule.clone(),
            minimum_pods: u.minimum_pods,
            creators,
        })
    });
    ContextCatalogue {
        escape_adjacent: escape_adjacent.flatten(),
        unexpected_creation: unexpected_creation.flatten(),
    }
}

fn rule_contract(c: &mut Checker) {
    for id in RULES_RAISED_BY_NAME {
        if !c.rules.contains(*id) {
            c.problem(
                format!("rules.{id}"),
                "missing: the engine raises this rule by name (define it; `enabled: false` turns it off)",
            );
        }
    }
    let unraised: Vec<String> = c
        .rules
        .iter()
        .filter(|id| !RULES_RAISED_BY_NAME.contains(&id.as_str()) && !c.raised.contains(*id))
        .cloned()
        .collect();
    for id in unraised {
        c.problem(
            format!("rules.{id}"),
            "nothing raises this rule: no detector names it, and no catalogue entry, setting or \
             combination refers to it (to silence a rule, set its `enabled: false` rather than \
             removing the entries that raise it)",
        );
    }
}

struct PathRulesBuilder {
    absolute: GlobSetBuilder,
    absolute_rules: Vec<String>,
    relative_names: HashMap<String, Vec<String>>,
    relative_single: GlobSetBuilder,
    relative_single_rules: Vec<String>,
    relative_multi: GlobSetBuilder,
    relative_multi_rules: Vec<String>,
}

impl Default for PathRulesBuilder {
    fn default() -> Self {
        PathRulesBuilder {
            absolute: GlobSetBuilder::new(),
            absolute_rules: Vec::new(),
            relative_names: HashMap::default(),
            relative_single: GlobSetBuilder::new(),
            relative_single_rules: Vec::new(),
            relative_multi: GlobSetBuilder::new(),
            relative_multi_rules: Vec::new(),
        }
    }
}

impl PathRulesBuilder {
    /// Every glob matches absolute paths; `**/` globs also match relative names (see
    /// `PathRules::matching`). `separator` globs: `*` stays within a component.
    fn add(&mut self, c: &mut Checker, at: String, pattern: &str, rule: &str) {
        let Some(glob) = c.glob(at.clone(), pattern, true) else {
            return;
        };
        if let Some(rest) = pattern.strip_prefix("**/") {
            if !rest.contains('/') && !rest.contains(['*', '?', '[', '{']) {
                self.relative_names
                    .entry(rest.to_string())
                    .or_default()
                    .push(rule.to_string());
            } else if !rest.contains('/') {
                if let Some(single) = c.glob(at, rest, true) {
                    self.relative_single.add(single);
                    self.relative_single_rules.push(rule.to_string());
                }
            } else {
                self.relative_multi.add(glob.clone());
                self.relative_multi_rules.push(rule.to_string());
            }
        }
        self.absolute.add(glob);
        self.absolute_rules.push(rule.to_string());
    }

    /// `path`: where the rules' patterns are written, for a problem.
    fn build(self, c: &mut Checker, path: &str) -> PathRules {
        PathRules {
            absolute: c.built(path, self.absolute),
            absolute_rules: self.absolute_rules,
            relative_names: self.relative_names,
            relative_single: c.built(path, self.relative_single),
            relative_single_rules: self.relative_single_rules,
            relative_multi: c.built(path, self.relative_multi),
            relative_multi_rules: self.relative_multi_rules,
        }
    }
}

/// Programs whose name alone denies (their rule scores at the deny threshold or forces a
/// denial, whatever the arguments): a command name a script builds at run time, in a script
/// that names one of them, is judged as that program.
fn deny_level_programs(
    exec: &ExecCatalogue,
    rules: &HashMap<String, Rule>,
    deny: u32,
) -> HashSet<String> {
    exec.programs
        .iter()
        .filter(|(_, entries)| {
            entries.iter().any(|e| {
                e.when_args.is_none()
                    && !e.without_args
                    && rules.get(&e.rule).is_some_and(|r| {
                        r.enabled && (r.score >= deny || r.action == Some(ForcedAction::Deny))
                    })
            })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

fn compile_exec(c: &mut Checker, exec: &ExecKnowledge) -> ExecCatalogue {
    let mut programs: HashMap<String, Vec<ProgramEntry>> = HashMap::default();
    for (i, p) in exec.programs.iter().enumerate() {
        let path = format!("exec.programs[{i}]");
        c.rule_ref(format!("{path}.rule"), &p.rule);
        if p.names.is_empty() {
            c.problem(format!("{path}.names"), "must name at least one program");
        }
        let when_args = if p.when_args.is_empty() {
            None
        } else {
            let mut builder = GlobSetBuilder::new();
            for (j, a) in p.when_args.iter().enumerate() {
                match GlobBuilder::new(a).literal_separator(false).build() {
                    Ok(g) => {
                        builder.add(g);
                    }
                    Err(e) => c.problem(format!("{path}.whenArgs[{j}]"), e.to_string()),
                }
            }
            Some(c.built(&format!("{path}.whenArgs"), builder))
        };
        for name in &p.names {
            programs
                .entry(name.clone())
                .or_default()
                .push(ProgramEntry {
                    rule: p.rule.clone(),
                    when_args: when_args.clone(),
                    without_args: p.without_args,
                });
        }
    }

    let mut paths = PathRulesBuilder::default();
    let mut written_paths = PathRulesBuilder::default();
    for (i, p) in exec.paths.iter().enumerate() {
        let path = format!("exec.paths[{i}]");
        c.rule_ref(format!("{path}.rule"), &p.rule);
        let target = if p.writes {
            &mut written_paths
        } else {
            &mut paths
        };
        for (j, pattern) in p.patterns.iter().enumerate() {
            if !(pattern.starts_with('/') || pattern.starts_with("**/")) {
                c.problem(
                    format!("{path}.patterns[{j}]"),
                    "must be absolute or start with **/",
                );
                continue;
            }
            target.add(c, format!("{path}.patterns[{j}]"), pattern, &p.rule);
        }
    }

    let mut wrappers = HashMap::default();
    for w in &exec.wrappers {
        let wrapper = Wrapper {
            options_with_value: w.options_with_value.clone(),
            script_options: w.script_options.clone(),
            skip: w.skip,
            skip_assignments: w.skip_assignments,
            user_argument: w.user_argument,
            joins_arguments: w.joins_arguments,
            lookup_options: w.lookup_options.clone(),
            argv_options: w.argv_options.clone(),
            runs_rest: w.runs_rest,
            script_prefixes: w.script_prefixes.clone(),
            input_separators: w.input_separators.clone(),
            replace_options: w.replace_options.clone(),
        };
        for name in &w.names {
            wrappers.insert(name.clone(), wrapper.clone());
        }
    }
    for (i, m) in exec.code_markers.iter().enumerate() {
        c.rule_ref(format!("exec.codeMarkers[{i}].rule"), &m.rule);
        if m.all_of.is_empty() || m.all_of.iter().any(|s| s.is_empty()) {
            c.problem(
                format!("exec.codeMarkers[{i}].allOf"),
                "needs non-empty markers",
            );
        }
    }
    let socat_shell_addresses = c.globset(
        "exec.socat.shellAddresses",
        &exec.socat.shell_addresses,
        false,
    );
    let lowered: Vec<String> = exec
        .socat
        .listen_addresses
        .iter()
        .map(|a| a.to_lowercase())
        .collect();
    let socat_listen_addresses = c.globset("exec.socat.listenAddresses", &lowered, false);
    let credential_search = exec
        .credential_search
        .as_ref()
        .map(|s| compile_credential_search(c, s));
    let kubernetes_api = exec
        .kubernetes_api
        .as_ref()
        .map(|k| compile_kubernetes_api(c, k));
    let toolkits = exec.toolkits.as_ref().map(|t| {
        c.rule_ref("exec.toolkits.downloadRule".into(), &t.download_rule);
        c.rule_ref("exec.toolkits.runRule".into(), &t.run_rule);
        if let Some(rule) = &t.tool_rule {
            c.rule_ref("exec.toolkits.toolRule".into(), rule);
        } else if !t.tools.is_empty() {
            c.problem("exec.toolkits.tools", "needs toolRule");
        }
        Toolkits {
            download_rule: t.download_rule.clone(),
            run_rule: t.run_rule.clone(),
            fetchers: set(&t.fetchers),
            names: c.word_set("exec.toolkits.names", &t.names),
            tool_rule: t.tool_rule.clone(),
            tools: c.word_set("exec.toolkits.tools", &t.tools),
        }
    });
    let hosts = |c: &mut Checker, path: &str, items: &[String]| -> HashSet<HostKey> {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, h)| match HostKey::parse_configured(h) {
                Some(k) => Some(k),
                None => {
                    c.problem(
                        format!("{path}[{i}]"),
                        format!("{h:?} is not a host name or IP"),
                    );
                    None
                }
            })
            .collect()
    };
    let metadata_hosts = hosts(
        c,
        "exec.network.metadataHosts",
        &exec.network.metadata_hosts,
    );
    let api_server_hosts = hosts(
        c,
        "exec.network.apiServerHosts",
        &exec.network.api_server_hosts,
    );
    let limits = exec.limits;
    if limits.max_script_bytes == 0 || limits.max_script_bytes > 1 << 20 {
        c.problem(
            "exec.limits.maxScriptBytes",
            "must be between 1 and 1048576",
        );
    }
    if limits.max_depth == 0 || limits.max_depth > 16 {
        c.problem("exec.limits.maxDepth", "must be between 1 and 16");
    }
    if limits.max_commands == 0 || limits.max_commands > 4096 {
        c.problem("exec.limits.maxCommands", "must be between 1 and 4096");
    }
    // The upper bound keeps the parser's recursion far from any thread's stack limit.
    if limits.max_nesting == 0 || limits.max_nesting > 64 {
        c.problem("exec.limits.maxNesting", "must be between 1 and 64");
    }
    if limits.max_work < 1024 || limits.max_work > 1 << 26 {
        c.problem("exec.limits.maxWork", "must be between 1024 and 67108864");
    }

    ExecCatalogue {
        unresolved_names: HashSet::default(),
        programs,
        paths: paths.build(c, "exec.paths"),
        written_paths: written_paths.build(c, "exec.paths"),
        writers: set(&exec.writers),
        shell_relays: set(&exec.shell_relays),
        wrappers,
        shells: set(&exec.shells),
        interpreters: set(&exec.interpreters.names),
        code_options: set(&exec.interpreters.code_options),
        positional_code: set(&exec.interpreters.positional_code),
        positional_code_options: exec.interpreters.positional_code_options.clone(),
        code_markers: exec
            .code_markers
            .iter()
            .map(|m| CodeMarker {
                rule: m.rule.clone(),
                all_of: m.all_of.clone(),
            })
            .collect(),
        netcat: set(&exec.netcat.names),
        netcat_scan_options: exec.netcat.scan_options.clone(),
        netcat_exec_options: exec.netcat.exec_options.clone(),
        netcat_listen_options: exec.netcat.listen_options.clone(),
        socat: set(&exec.socat.names),
        socat_shell_addresses,
        socat_listen_addresses,
        downloaders: set(&exec.downloaders),
        metadata_hosts,
        api_server_hosts,
        api_server_variables: exec.network.api_server_variables.clone(),
        kubelet_ports: exec.network.kubelet_ports.iter().copied().collect(),
        metadata_variables: exec.network.metadata_variables.clone(),
        ip_embedding_domains: exec
            .network
            .ip_embedding_domains
            .iter()
            .map(|d| d.trim_matches('.').to_ascii_lowercase())
            .collect(),
        control_plane_ports: exec.network.control_plane_ports.iter().copied().collect(),
        network_clients: set(&exec.network.clients),
        non_connecting: set(&exec.network.non_connecting),
        lookup_arguments: set(&exec.lookup_arguments),
        credential_search,
        kubernetes_api,
        toolkits,
        limits: Limits {
            max_script_bytes: limits.max_script_bytes,
            max_depth: limits.max_depth,
            max_commands: limits.max_commands,
            max_nesting: limits.max_nesting,
            max_work: limits.max_work,
        },
    }
}

fn compile_credential_search(c: &mut Checker, s: &CredentialSearchSpec) -> CredentialSearch {
    let path = "exec.credentialSearch";
    c.rule_ref(format!("{path}.rule"), &s.rule);
    CredentialSearch {
        rule: s.rule.clone(),
        searchers: set(&s.searchers),
        recursive_searchers: set(&s.recursive_searchers),
        recursive_options: s.recursive_options.clone(),
        whole_filesystem: set(&s.whole_filesystem),
        scanners: set(&s.scanners),
        terms: lower(c, &format!("{path}.terms"), &s.terms),
        broad_terms: lower(c, &format!("{path}.broadTerms"), &s.broad_terms),
        broad_roots: c.patterns(&format!("{path}.broadRoots"), &s.broad_roots, true),
    }
}

fn compile_kubernetes_api(c: &mut Checker, k: &KubernetesApiSpec) -> KubernetesApi {
    let path = "exec.kubernetesApi";
    let verbs = k
        .verbs
        .iter()
        .enumerate()
        .map(|(i, v)| {
            c.rule_ref(format!("{path}.verbs[{i}].rule"), &v.rule);
            if v.verbs.is_empty() {
                c.problem(format!("{path}.verbs[{i}].verbs"), "must name a verb");
            }
            KubernetesVerb {
                rule: v.rule.clone(),
                verbs: set(&v.verbs),
                resources: c.patterns(&format!("{path}.verbs[{i}].resources"), &v.resources, true),
                named: v.named,
            }
        })
        .collect();
    let requests = k
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            c.rule_ref(format!("{path}.requests[{i}].rule"), &r.rule);
            for (j, p) in r.paths.iter().enumerate() {
                if !p.starts_with('/') {
                    c.problem(
                        format!("{path}.requests[{i}].paths[{j}]"),
                        "must start with /",
                    );
                }
            }
            KubernetesRequest {
                rule: r.rule.clone(),
                paths: c.globset(&format!("{path}.requests[{i}].paths"), &r.paths, true),
                writes: r.writes,
            }
        })
        .collect();
    KubernetesApi {
        clients: set(&k.clients),
        options_with_value: k.options_with_value.clone(),
        verbs,
        list_options: k.list_options.clone(),
        requests,
        write_arguments: k.write_arguments.clone(),
    }
}

fn compile_connect(c: &mut Checker, k: &ConnectKnowledge) -> ConnectCatalogue {
    c.rule_ref("connect.portForwardRule".into(), &k.port_forward_rule);
    c.rule_ref("connect.proxyPortRule".into(), &k.proxy_port_rule);
    if let Some(rule) = &k.unseen_ports_rule {
        c.rule_ref("connect.unseenPortsRule".into(), rule);
    }
    let mut builder = GlobSetBuilder::new();
    let mut rules = Vec::new();
    for (i, p) in k.proxy_paths.iter().enumerate() {
        let path = format!("connect.proxyPaths[{i}]");
        c.rule_ref(format!("{path}.rule"), &p.rule);
        for (j, pattern) in p.patterns.iter().enumerate() {
            if !pattern.starts_with('/') {
                c.problem(format!("{path}.patterns[{j}]"), "must start with /");
                continue;
            }
            if let Some(g) = c.glob(format!("{path}.patterns[{j}]"), pattern, true) {
                builder.add(g);
                rules.push(p.rule.clone());
            }
        }
    }
    ConnectCatalogue {
        node_ports: k.node_ports.iter().copied().collect(),
        port_forward_rule: k.port_forward_rule.clone(),
        unseen_ports_rule: k.unseen_ports_rule.clone(),
        proxy_port_rule: k.proxy_port_rule.clone(),
        proxy_paths: c.built("connect.proxyPaths", builder),
        proxy_path_rules: rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Matching relative names by their last component gives exactly what one glob set over
    /// every pattern gives.
    #[test]
    fn split_path_rules_match_like_one_glob_set() {
        let patterns = [
            "**/release_agent",
            "**/.ssh",
            "**/core_pat*",
            "**/.ssh/id_*",
            "**/var/lib/etcd/**",
            "**/binfmt_misc/register",
            "/etc/shadow",
            "/*/**/etc/shadow",
        ];
        let mut c = Checker {
            problems: Vec::new(),
            rules: BTreeSet::new(),
            raised: BTreeSet::new(),
        };
        let mut builder = PathRulesBuilder::default();
        let mut whole = GlobSetBuilder::new();
        for (i, p) in patterns.iter().enumerate() {
            builder.add(&mut c, format!("p{i}"), p, p);
            whole.add(GlobBuilder::new(p).literal_separator(true).build().unwrap());
        }
        let rules = builder.build(&mut c, "p");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let whole = whole.build().unwrap();
        for candidate in [
            "release_agent",
            "x/release_agent",
            "release_agent/x",
            ".ssh",
            "home/u/.ssh",
            ".ssh/id_rsa",
            "a/.ssh/id_ed25519",
            "core_pattern",
            "kernel/core_pattern",
            "var/lib/etcd/member",
            "x/var/lib/etcd/member/snap",
            "fs/binfmt_misc/register",
            "register",
            "/etc/shadow",
            "/host/etc/shadow",
            "/host/x/release_agent",
            "etc/shadow",
            "nothing",
        ] {
            let mut got: Vec<&str> = rules.matching(candidate);
            got.sort();
            let mut want: Vec<&str> = whole
                .matches(candidate)
                .into_iter()
                .map(|i| patterns[i])
                .collect();
            want.sort();
            assert_eq!(got, want, "{candidate}");
        }
        assert!(c.problems.is_empty());
    }
}
