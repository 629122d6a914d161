//! `reconguard policy diff`: which decisions change between two policies over the same inputs,
//! the check an admin runs before an upgrade or a tuning change lands.

use std::collections::BTreeSet;

use serde::Serialize;

use super::documents::DocumentError;
use super::evaluate::Evaluator;
use super::output::{emit, read_input, Format};
use crate::decision::{Action, Decision};
use crate::policy::Policy;

/// What a decision says, for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub decision: Action,
    pub would_deny: bool,
    pub score: u32,
    pub rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
}

impl From<&Decision> for Verdict {
    fn from(d: &Decision) -> Verdict {
        Verdict {
            decision: d.action,
            would_deny: d.would_deny,
            score: d.score,
            rules: d.rules().into_iter().map(str::to_string).collect(),
            exemption: d.exemption.clone(),
        }
    }
}

impl Verdict {
    fn text(&self) -> String {
        let mut out = format!("{} (score {})", self.decision.as_str(), self.score);
        if self.would_deny {
            out.push_str(", would deny");
        }
        if let Some(e) = &self.exemption {
            out.push_str(&format!(", exempted by {e}"));
        }
        out
    }
}

/// One subject whose verdict differs.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub source: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub before: Verdict,
    pub after: Verdict,
}

impl Change {
    pub fn text(&self) -> String {
        let before: BTreeSet<&String> = self.before.rules.iter().collect();
        let after: BTreeSet<&String> = self.after.rules.iter().collect();
        let mut rules: Vec<String> = before.difference(&after).map(|r| format!("-{r}")).collect();
        rules.extend(after.difference(&before).map(|r| format!("+{r}")));
        let mut out = format!(
            "{}: {} {}{}: {} -> {}",
            self.source,
            self.kind,
            self.namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            self.name.as_deref().unwrap_or("-"),
            self.before.text(),
            self.after.text()
        );
        if !rules.is_empty() {
            out.push_str(&format!(" [{}]", rules.join(" ")));
        }
        out
    }
}

/// The comparison of one input: how many subjects were judged, and those that changed.
#[derive(Debug, Default)]
pub struct Comparison {
    pub judged: usize,
    pub changes: Vec<Change>,
}

impl Comparison {
    /// `deny -> allow: 2, allow -> annotate: 1`, in a stable order.
    pub fn summary(&self) -> String {
        let mut counts: std::collections::BTreeMap<(Action, Action), usize> = Default::default();
        for c in &self.changes {
            *counts
                .entry((c.before.decision, c.after.decision))
                .or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|((a, b), n)| format!("{} -> {}: {n}", a.as_str(), b.as_str()))
            .collect();
        format!(
            "{} judged, {} changed{}{}",
            self.judged,
            self.changes.len(),
            if parts.is_empty() { "" } else { " (" },
            if parts.is_empty() {
                String::new()
            } else {
                parts.join(", ") + ")"
            }
        )
    }
}

/// Judges every subject of one input under both policies; a subject changes when its decision,
/// its audit-mode would-deny, its score, its rules or its exemption differ.
pub fn compare(
    before: &Evaluator,
    after: &Evaluator,
    source: &str,
    text: &str,
    into: &mut Comparison,
) -> Result<(), DocumentError> {
    let old = before.text(source, text)?;
    let new = after.text(source, text)?;
    for ((label, subject, b), (_, _, a)) in old.iter().zip(new.iter()) {
        into.judged += 1;
        let (before, after) = (Verdict::from(b), Verdict::from(a));
        if before != after {
            into.changes.push(Change {
                source: label.clone(),
                kind: subject.kind.clone(),
                namespace: subject.namespace.clone(),
                name: subject.name.clone(),
                subresource: subject.subresource.clone(),
                before,
                after,
            });
        }
    }
    Ok(())
}

/// `reconguard policy diff`: exit 1 when some decision changes.
pub fn run(
    before: &Policy,
    after: &Policy,
    format: Format,
    files: &[String],
) -> anyhow::Result<std::process::ExitCode> {
    let (before, after) = (Evaluator::new(before), Evaluator::new(after));
    let mut comparison = Comparison::default();
    for file in files {
        let text = read_input(file)?;
        let source = if file == "-" { "stdin" } else { file.as_str() };
        compare(&before, &after, source, &text, &mut comparison)?;
    }
    for change in &comparison.changes {
        match format {
            Format::Json => emit(&format!("{}\n", serde_json::to_string(change)?))?,
            Format::Text => emit(&format!("{}\n", change.text()))?,
        }
    }
    eprintln!("{}", comparison.summary());
    Ok(super::output::exit_code(!comparison.changes.is_empty()))
}
