//! `reconguard evaluate`: judge manifests and AdmissionReviews offline, with the same engine as
//! the webhook.

use serde::Serialize;

use crate::decision::{Action, Decision, ExemptionHit, Finding};
use crate::policy::Mode;
use crate::policy::Policy;
use crate::subject::{self, Subject};

/// One line of `--format json`.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub source: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub subresource: Option<&'a str>,
    pub decision: Action,
    pub score: u32,
    pub findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub exemptions: &'a [ExemptionHit],
    pub mode: Mode,
    pub would_deny: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<&'a str>,
}

impl<'a> Report<'a> {
    pub fn new(source: &'a str, subject: &'a Subject, decision: &'a Decision) -> Self {
        Report {
            source,
            kind: &subject.kind,
            namespace: subject.namespace.as_deref(),
            name: subject.name.as_deref(),
            operation: subject.operation.as_deref(),
            subresource: subject.subresource.as_deref(),
            decision: decision.action,
            score: decision.score,
            findings: &decision.findings,
            exemption: decision.exemption.as_deref(),
            exemptions: &decision.exemptions,
            mode: decision.mode,
            would_deny: decision.would_deny,
            skipped: decision.skipped.as_deref(),
        }
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "{}: {} {}{} -> {} (score {})",
            self.source,
            self.kind,
            self.namespace.map(|n| format!("{n}/")).unwrap_or_default(),
            self.name.unwrap_or("-"),
            self.decision_text(),
            self.score
        );
        if self.would_deny {
            out.push_str(&format!(" [{} mode: would deny]", self.mode.as_str()));
        }
        if let Some(e) = self.exemption {
            out.push_str(&format!("\n  exempted by {e}"));
        }
        for hit in self
            .exemptions
            .iter()
            .filter(|h| Some(h.name.as_str()) != self.exemption)
        {
            out.push_str(&format!(
                "\n  exemption {} matched: {}",
                hit.name,
                hit.effect.as_str()
            ));
        }
        if let Some(s) = self.skipped {
            out.push_str(&format!("\n  skipped: {s}"));
        }
        for f in self.findings {
            // A pod's command says which container and which part of it ran it.
            let origin = f
                .origin
                .filter(|o| *o != crate::policy::CommandOrigin::Exec)
                .map(|o| o.as_str());
            let container = match (f.container.as_deref(), origin) {
                (Some(c), Some(o)) => format!(" [{c} {o}]"),
                (Some(c), None) => format!(" [{c}]"),
                (None, Some(o)) => format!(" [{o}]"),
                (None, None) => String::new(),
            };
            out.push_str(&format!(
                "\n  {:>4} {:<10} {}{}: {}",
                f.score, f.technique, f.rule, container, f.message
            ));
        }
        out
    }

    fn decision_text(&self) -> &'static str {
        self.decision.as_str()
    }
}

/// Evaluates every subject of one input; returns (source label, subject, decision) per subject.
pub fn evaluate_text(
    policy: &Policy,
    source: &str,
    text: &str,
) -> Result<Vec<(String, Subject, Decision)>, super::documents::DocumentError> {
    let docs = super::documents::parse_documents(source, text)?;
    let mut out = Vec::new();
    let several = docs.len() > 1 || docs.first().is_some_and(|(i, _)| *i > 0);
    for (index, doc) in &docs {
        let index = *index;
        let subjects =
            subject::from_manifest(doc).map_err(|e| super::documents::DocumentError {
                source_name: source.to_string(),
                index,
                message: e.to_string(),
            })?;
        for s in subjects {
            let decision = crate::evaluate(policy, &s);
            let label = if several {
                format!("{source}#{index}")
            } else {
                source.to_string()
            };
            out.push((label, s, decision));
        }
    }
    Ok(out)
}
