//! Findings + policy -> decision: scores, escape-path combinations, forced actions, thresholds,
//! mode and exemptions. Pure: the same inputs always give the same decision.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::detect::Signal;
use crate::mask::Masked;
use crate::policy::{CommandOrigin, ExemptionInput, ForcedAction, Mode, Policy};
use crate::subject::{Subject, SubjectBody};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Annotate,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Annotate => "annotate",
            Action::Deny => "deny",
        }
    }
}

/// One reason for the decision: a rule that fired, with its weight and ATT&CK technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub score: u32,
    pub technique: String,
    /// The rule's message and what the detector saw, credentials masked.
    pub message: Masked,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Where the command that raised it comes from (exec, container, init, probe, hook, debug).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<CommandOrigin>,
}

/// What an exemption that matched the request did to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExemptionEffect {
    /// Allowed a request that would have been annotated or denied.
    Allowed,
    /// Dropped at least one finding of the rules it names.
    Dropped,
    /// Matched, changed nothing: a sign of an exemption broader than it needs to be.
    None,
}

impl ExemptionEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            ExemptionEffect::Allowed => "allowed",
            ExemptionEffect::Dropped => "dropped",
            ExemptionEffect::None => "none",
        }
    }
}

/// An exemption that matched the request, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExemptionHit {
    pub name: String,
    pub effect: ExemptionEffect,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub action: Action,
    pub score: u32,
    /// Highest score first.
    pub findings: Vec<Finding>,
    /// The exemption that allowed the request outright.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
    /// Rules whose findings exemptions that named them removed from this decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exempted_rules: Vec<String>,
    /// Every exemption that matched, in policy order, with what it did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<ExemptionHit>,
    /// The mode that applied (the policy's mode for this kind of request).
    pub mode: Mode,
    /// Audit mode: this request would have been denied in enforce mode.
    pub would_deny: bool,
    /// Why the request was not judged at all, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Masked>,
}

impl Decision {
    fn allow_unjudged(mode: Mode, reason: String) -> Decision {
        Decision {
            action: Action::Allow,
            score: 0,
            findings: Vec::new(),
            exemption: None,
            exempted_rules: Vec::new(),
            exemptions: Vec::new(),
            mode,
            would_deny: false,
            skipped: Some(Masked::new(&reason)),
        }
    }

    /// Names of the exemptions that changed this decision (allowed it, or dropped findings).
    pub fn effective_exemptions(&self) -> Vec<&str> {
        self.exemptions
            .iter()
            .filter(|h| h.effect != ExemptionEffect::None)
            .map(|h| h.name.as_str())
            .collect()
    }

    /// Distinct techniques of the findings, in finding order.
    pub fn techniques(&self) -> Vec<&str> {
        self.distinct(|f| &f.technique)
    }

    /// Distinct rules of the findings, in finding order.
    pub fn rules(&self) -> Vec<&str> {
        self.distinct(|f| &f.rule)
    }

    fn distinct<'a>(&'a self, field: impl Fn(&'a Finding) -> &'a String) -> Vec<&'a str> {
        let mut seen: Vec<&str> = Vec::new();
        for f in &self.findings {
            let value = field(f).as_str();
            if !seen.contains(&value) {
                seen.push(value);
            }
        }
        seen
    }
}

fn exemption_input<'a>(
    subject: &'a Subject,
    images: &'a [String],
    requester_sa: Option<&'a str>,
    pod_sa: Option<&'a str>,
) -> ExemptionInput<'a> {
    let (user, groups) = match &subject.requester {
        Some(r) => (Some(r.username.as_str()), r.groups.as_slice()),
        None => (None, &[][..]),
    };
    ExemptionInput {
        namespace: subject.namespace.as_deref(),
        user,
        groups,
        requester_service_account: requester_sa,
        pod_service_account: pod_sa,
        images,
        labels: match &subject.body {
            SubjectBody::Pod(p) => Some(&p.labels),
            _ => None,
        },
    }
}

/// Turns signals into a decision under `policy`.
pub fn decide(policy: &Policy, subject: &Subject, signals: Vec<Signal>) -> Decision {
    let mode = policy.mode.of(subject.activity());
    if let SubjectBody::Skipped(reason) = &subject.body {
        return Decision::allow_unjudged(mode, reason.clone());
    }
    if mode == Mode::Off {
        return Decision::allow_unjudged(mode, "policy mode is off".to_string());
    }

    // Normalising image references costs a parse each; only image exemptions need them.
    let images = match &subject.body {
        SubjectBody::Pod(p) if policy.exemptions.iter().any(|e| !e.images.is_empty()) => p.images(),
        _ => Vec::new(),
    };
    let requester_sa = subject.requester_service_account();
    let pod_sa = subject.pod_service_account();
    let input = exemption_input(subject, &images, requester_sa.as_deref(), pod_sa.as_deref());
    let mut exemption = None;
    let mut exempted_rules: BTreeSet<String> = BTreeSet::new();
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut hits: Vec<(&crate::policy::Exemption, ExemptionEffect)> = Vec::new();
    // Every matching exemption is recorded (and counted); the first whole-request one decides.
    for e in policy.exemptions.iter().filter(|e| e.matches(&input)) {
        hits.push((e, ExemptionEffect::None));
        if e.rules.is_empty() {
            exemption.get_or_insert_with(|| (e.name.clone(), hits.len() - 1));
        } else {
            exempted_rules.extend(e.rules.iter().cloned());
        }
    }

    let mut findings: Vec<Finding> = Vec::new();
    let mut present: BTreeSet<String> = BTreeSet::new();
    for signal in signals {
        if exempted_rules.contains(&signal.rule) {
            if policy.rule(&signal.rule).is_some_and(|r| r.enabled) {
                dropped.insert(signal.rule.clone());
                for (e, effect) in hits.iter_mut() {
                    if e.rules.contains(&signal.rule) {
                        *effect = ExemptionEffect::Dropped;
                    }
                }
            }
            continue;
        }
        let Some(rule) = policy.rule(&signal.rule).filter(|r| r.enabled) else {
            continue;
        };
        let score = policy.score_in(rule, signal.origin);
        // `origins` scoring a rule 0 where a command comes from: it does not fire there.
        if score == 0 && rule.score > 0 {
            continue;
        }
        present.insert(rule.id.clone());
        findings.push(Finding {
            rule: rule.id.clone(),
            score,
            technique: rule.technique.clone(),
            message: Masked::new(&format!("{}: {}", rule.message, signal.detail)),
            container: signal.container,
            origin: signal.origin,
        });
    }

    for combo in &policy.combinations {
        if present.contains(&combo.rule) || exempted_rules.contains(&combo.rule) {
            continue;
        }
        if !combo.all_of.iter().all(|r| present.contains(r)) {
            continue;
        }
        let any = combo.any_of.is_empty()
            || combo.any_of.iter().any(|r| {
                if r == "*" {
                    // Informational rules (score 0) are not "anything".
                    present.iter().any(|p| {
                        !combo.all_of.contains(p)
                            && p != &combo.rule
                            && policy.rule(p).is_some_and(|r| r.score > 0)
                    })
                } else {
                    present.contains(r)
                }
            });
        if !any {
            continue;
        }
        let Some(rule) = policy.rule(&combo.rule).filter(|r| r.enabled) else {
            continue;
        };
        let parts: Vec<String> = present
            .iter()
            .filter(|p| {
                combo.all_of.contains(p)
                    || combo.any_of.contains(p)
                    || combo.any_of.iter().any(|a| a == "*")
            })
            .cloned()
            .collect();
        present.insert(rule.id.clone());
        findings.push(Finding {
            rule: rule.id.clone(),
            score: rule.score,
            technique: rule.technique.clone(),
            message: Masked::new(&format!("{} ({})", rule.message, parts.join(" + "))),
            container: None,
            origin: None,
        });
    }

    // Each rule counts once, however many times it fired: at the highest score it fired with
    // (a rule's score can depend on where the command came from).
    let mut by_rule: BTreeMap<&str, u32> = BTreeMap::new();
    for f in &findings {
        let best = by_rule.entry(f.rule.as_str()).or_default();
        *best = (*best).max(f.score);
    }
    let forced = |id: &str| policy.rule(id).and_then(|r| r.action);
    let score: u32 = by_rule.values().sum();
    // A rule forced to annotate never counts toward a denial, alone or with others; its score
    // is still reported. Other findings deny as they would without it.
    let deny_score: u32 = by_rule
        .iter()
        .filter(|(id, _)| forced(id) != Some(ForcedAction::Annotate))
        .map(|(_, s)| s)
        .sum();
    findings.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.rule.cmp(&b.rule)));

    let mut action = if deny_score >= policy.thresholds.deny {
        Action::Deny
    } else if score >= policy.thresholds.annotate {
        Action::Annotate
    } else {
        Action::Allow
    };
    for id in &present {
        match forced(id) {
            Some(ForcedAction::Deny) => action = Action::Deny,
            Some(ForcedAction::Annotate) => action = action.max(Action::Annotate),
            None => {}
        }
    }
    if let Some((_, index)) = &exemption {
        if action != Action::Allow {
            if let Some((_, effect)) = hits.get_mut(*index) {
                *effect = ExemptionEffect::Allowed;
            }
        }
        action = Action::Allow;
    }
    let exemption = exemption.map(|(name, _)| name);
    let mut would_deny = false;
    if mode == Mode::Audit && action == Action::Deny {
        action = Action::Annotate;
        would_deny = true;
    }

    Decision {
        action,
        score,
        findings,
        exemption,
        exempted_rules: dropped.into_iter().collect(),
        exemptions: hits
            .into_iter()
            .map(|(e, effect)| ExemptionHit {
                name: e.name.clone(),
                effect,
            })
            .collect(),
        mode,
        would_deny,
        skipped: None,
    }
}
