//! `reconguard evaluate`: judge manifests and AdmissionReviews offline, with the same engine as
//! the webhook.

use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use super::documents::DocumentError;
use super::output::{emit, exit_code, read_input, Format};
use crate::decision::{Action, Decision, ExemptionHit, Finding};
use crate::engine::Engine;
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
            operation: subject.operation.as_ref().map(subject::operation_name),
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

    /// One line of output in `format`.
    pub fn render(&self, format: Format) -> serde_json::Result<String> {
        match format {
            Format::Json => serde_json::to_string(self),
            Format::Text => Ok(self.text()),
        }
    }

    fn decision_text(&self) -> &'static str {
        self.decision.as_str()
    }
}

/// One run of `evaluate`: a policy and the engine's memory, so that the requests of the inputs
/// correlate as the webhook would correlate them arriving in that order.
pub struct Evaluator<'a> {
    policy: &'a Policy,
    engine: Engine,
}

impl<'a> Evaluator<'a> {
    pub fn new(policy: &'a Policy) -> Self {
        Evaluator {
            policy,
            engine: Engine::new(),
        }
    }

    /// Evaluates every subject of one input; returns (source label, subject, decision) per subject.
    pub fn text(
        &self,
        source: &str,
        text: &str,
    ) -> Result<Vec<(String, Subject, Decision)>, DocumentError> {
        let docs = super::documents::parse_documents(source, text)?;
        let mut out = Vec::new();
        let several = docs.len() > 1 || docs.first().is_some_and(|(i, _)| *i > 0);
        for (index, doc) in &docs {
            let index = *index;
            let subjects = subject::from_manifest(doc).map_err(|e| DocumentError {
                source_name: source.to_string(),
                index,
                message: e.to_string(),
            })?;
            for s in subjects {
                let verdict = self.engine.judge(self.policy, &s, Instant::now());
                let label = if several {
                    format!("{source}#{index}")
                } else {
                    source.to_string()
                };
                out.push((label, s, verdict.decision));
            }
        }
        Ok(out)
    }
}

/// Evaluates every subject of one input with a fresh engine.
pub fn evaluate_text(
    policy: &Policy,
    source: &str,
    text: &str,
) -> Result<Vec<(String, Subject, Decision)>, DocumentError> {
    Evaluator::new(policy).text(source, text)
}

/// `reconguard evaluate`: exit 1 when anything is denied.
pub fn run(policy: &Policy, format: Format, files: &[String]) -> anyhow::Result<ExitCode> {
    let evaluator = Evaluator::new(policy);
    let mut denied = false;
    for file in files {
        let text = read_input(file)?;
        let source = if file == "-" { "stdin" } else { file.as_str() };
        for (label, subject, decision) in &evaluator.text(source, &text)? {
            denied |= decision.action == Action::Deny;
            emit(&(Report::new(label, subject, decision).render(format)? + "\n"))?;
        }
    }
    Ok(exit_code(denied))
}
