//! `--suggest-layer` (of `scan` and `replay`): a policy layer that exempts exactly what was seen
//! tripping a deny, for an admin to review before switching pods to enforce. Each entry is one
//! identity in one namespace: a pod's service account with the image repositories it ran, or
//! the user or service account that sent an exec, attach, tunnel or debug, with the rules it
//! tripped. Never a wildcard identity: names are written literally (glob characters escaped).

use std::collections::{BTreeMap, BTreeSet};

use super::replay::Seen;
use crate::decision::{Action, Decision};
use crate::norm::image::ImageRef;
use crate::subject::{PodScope, Subject, SubjectBody};

/// Entries kept; denials past them are counted and named in the layer's header.
const MAX_ENTRIES: usize = 10_000;

/// Whose requests an entry exempts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    /// The service account a pod or workload runs as (`namespace/name`).
    Pod(String),
    /// The service account that sent the request (`namespace/name`).
    RequesterServiceAccount(String),
    User(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Scope {
    namespace: Option<String>,
    who: Who,
    /// Image repository patterns (`registry/repository[:@]*`): every image of the pod, or of the
    /// debug container.
    images: Vec<String>,
}

/// What one scope was seen denied for, how often and when.
#[derive(Debug, Default)]
struct Denials {
    rules: BTreeSet<String>,
    seen: Seen,
    example: String,
}

/// The denials seen so far, by scope.
#[derive(Debug, Default)]
pub struct Suggestions {
    entries: BTreeMap<Scope, Denials>,
    /// Denials without an identity to scope them to, or past [`MAX_ENTRIES`].
    unscoped: u64,
}

/// `text` as an exact pattern: exemption patterns are globs when they hold `*`, `?` or `[`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// The repository of a normalised image, any tag or digest.
fn repository_pattern(image: &str) -> String {
    match ImageRef::parse(image) {
        Some(r) => format!("{}[:@]*", literal(&r.full_repository())),
        None => literal(image),
    }
}

impl Suggestions {
    /// Records `decision` if it denies (or would in audit mode); `time` is when it was seen.
    pub fn add(&mut self, subject: &Subject, decision: &Decision, time: &str) {
        if decision.action != Action::Deny && !decision.would_deny {
            return;
        }
        let Some(scope) = scope_of(subject) else {
            self.unscoped += 1;
            return;
        };
        if !self.entries.contains_key(&scope) && self.entries.len() >= MAX_ENTRIES {
            self.unscoped += 1;
            return;
        }
        let denials = self.entries.entry(scope).or_default();
        denials
            .rules
            .extend(decision.findings.iter().map(|f| f.rule.clone()));
        denials.seen.add(time);
        if denials.example.is_empty() {
            denials.example = format!(
                "{} {}{}",
                subject.kind,
                subject
                    .namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                subject.name.as_deref().unwrap_or("-")
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The layer, commented with what each entry saw; `source` says what it was suggested from.
    pub fn layer(&self, source: &str) -> String {
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        let list = |items: &[String]| {
            let quoted: Vec<String> = items
                .iter()
                .map(|i| serde_json::Value::from(i.as_str()).to_string())
                .collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut out = format!(
            "# Suggested by reconguard from {}: exemptions for exactly what was seen denied.\n\
             # Each entry is one identity in one namespace and the rules it tripped; review each\n\
             # before applying (`reconguard policy diff --to THIS-FILE ...` shows what it changes).\n",
            one_line(source)
        );
        if self.unscoped > 0 {
            out.push_str(&format!(
                "# {} denials had no identity to scope an exemption to (or were past {MAX_ENTRIES} entries): none suggested.\n",
                self.unscoped
            ));
        }
        out.push_str("apiVersion: reconguard.io/v1alpha1\nkind: Policy\n");
        if self.entries.is_empty() {
            out.push_str("exemptions:\n  add: []\n");
            return out;
        }
        out.push_str("exemptions:\n  add:\n");
        for (scope, denials) in &self.entries {
            let seen = &denials.seen;
            let when = if seen.first.is_empty() {
                String::new()
            } else if seen.first == seen.last {
                format!(", {}", seen.first)
            } else {
                format!(", {} .. {}", seen.first, seen.last)
            };
            out.push_str(&format!(
                "    # {} denied{when}; first {}\n",
                seen.count,
                one_line(&denials.example)
            ));
            out.push_str(&format!(
                "    - name: {}\n",
                entry_name(scope, &denials.rules)
            ));
            if let Some(ns) = &scope.namespace {
                out.push_str(&format!("      namespaces: {}\n", list(&[literal(ns)])));
            }
            let (field, who) = match &scope.who {
                Who::Pod(sa) => ("podServiceAccounts", sa),
                Who::RequesterServiceAccount(sa) => ("requesterServiceAccounts", sa),
                Who::User(user) => ("users", user),
            };
            out.push_str(&format!("      {field}: {}\n", list(&[literal(who)])));
            if !scope.images.is_empty() {
                out.push_str(&format!("      images: {}\n", list(&scope.images)));
            }
            let rules: Vec<String> = denials.rules.iter().cloned().collect();
            out.push_str(&format!("      rules: {}\n", list(&rules)));
        }
        out
    }
}

/// An entry's name, from what it exempts: layers suggested from different inputs (a scan, a
/// replay) are applied together, and `add:` replaces an entry of the same name, so equal names
/// must mean equal entries. FNV-1a, stable across runs and builds.
fn entry_name(scope: &Scope, rules: &BTreeSet<String>) -> String {
    let (kind, who) = match &scope.who {
        Who::Pod(sa) => ("pod", sa),
        Who::RequesterServiceAccount(sa) => ("sa", sa),
        Who::User(user) => ("user", user),
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let parts = [kind, who, scope.namespace.as_deref().unwrap_or("")]
        .into_iter()
        .chain(scope.images.iter().map(String::as_str))
        .chain(rules.iter().map(String::as_str));
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("suggested-{kind}-{hash:016x}")
}

/// One identity in one namespace, as narrow as the request says; `None` when it names nobody.
fn scope_of(subject: &Subject) -> Option<Scope> {
    let images = |pod: &crate::subject::PodSubject| {
        let mut patterns: Vec<String> =
            pod.images().iter().map(|i| repository_pattern(i)).collect();
        patterns.sort();
        patterns.dedup();
        patterns
    };
    let requester = || {
        let r = subject
            .requester
            .as_ref()
            .filter(|r| !r.username.is_empty())?;
        Some(match subject.requester_service_account() {
            Some(sa) => Who::RequesterServiceAccount(sa),
            None => Who::User(r.username.clone()),
        })
    };
    let (who, images) = match &subject.body {
        SubjectBody::Pod(pod) if pod.scope == PodScope::All => {
            (Who::Pod(subject.pod_service_account()?), images(pod))
        }
        // kubectl debug: the requester's container.
        SubjectBody::Pod(pod) => (requester()?, images(pod)),
        _ => (requester()?, Vec::new()),
    };
    Some(Scope {
        namespace: subject.namespace.clone(),
        who,
        images,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_differ_exactly_when_entries_do() {
        let scope = |who: &str| Scope {
            namespace: Some("shop".into()),
            who: Who::User(who.into()),
            images: Vec::new(),
        };
        let rules = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let a = entry_name(&scope("alice"), &rules(&["exec-network-scan"]));
        assert_eq!(
            a,
            entry_name(&scope("alice"), &rules(&["exec-network-scan"]))
        );
        assert_ne!(a, entry_name(&scope("bob"), &rules(&["exec-network-scan"])));
        assert_ne!(
            a,
            entry_name(
                &scope("alice"),
                &rules(&["exec-network-scan", "exec-port-probe"])
            )
        );
        assert!(a.starts_with("suggested-user-"), "{a}");
    }

    #[test]
    fn names_are_written_literally() {
        assert_eq!(literal("dev*@example.org"), "dev[*]@example.org");
        assert_eq!(literal("a?[b"), "a[?][[]b");
        assert_eq!(
            repository_pattern("docker.io/library/nginx:1.27"),
            "docker.io/library/nginx[:@]*"
        );
        // The escaped form matches the name and nothing else.
        let p = crate::norm::pattern::Pattern::new(&literal("dev*@example.org"), false).unwrap();
        assert!(p.matches("dev*@example.org") && !p.matches("devops@example.org"));
    }
}
