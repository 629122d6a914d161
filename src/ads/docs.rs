//! The catalogue written out: one ADS section per rule, grouped by ATT&CK tactic and technique,
//! after a coverage table (technique -> rules -> example). `docs/detections.md` is this, for the
//! default policy.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::examples::describe;
use crate::policy::model::{Example, FalsePositive, ForcedAction, Priority, RuleSpec};
use crate::policy::Policy;

/// ATT&CK's enterprise tactics in the matrix's order; techniques under a tactic not listed here
/// come after them.
const TACTIC_ORDER: [&str; 14] = [
    "Reconnaissance",
    "Resource Development",
    "Initial Access",
    "Execution",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
    "Credential Access",
    "Discovery",
    "Lateral Movement",
    "Collection",
    "Command and Control",
    "Exfiltration",
    "Impact",
];

/// A rule as the catalogue documents it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleEntry<'a> {
    pub id: &'a str,
    pub tactic: &'a str,
    pub technique: &'a str,
    pub technique_name: &'a str,
    pub score: u32,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ForcedAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    pub message: &'a str,
    pub strategy: &'a str,
    pub blind_spots: &'a [String],
    pub false_positives: &'a [FalsePositive],
    pub response: &'a [String],
    /// What each example is, in words, as `validate` and the docs show it.
    pub fires: Vec<String>,
    pub quiet: Vec<String>,
}

const UNMAPPED: &str = "(not in techniques)";

/// The policy's rules in catalogue order: tactic, technique, then id.
pub fn entries(policy: &Policy) -> Vec<RuleEntry<'_>> {
    let techniques = &policy.document.techniques;
    let mut entries: Vec<RuleEntry> = policy
        .document
        .rules
        .iter()
        .map(|(id, spec): (&String, &RuleSpec)| {
            let technique = techniques.get(&spec.technique);
            let words = |examples: &[Example]| examples.iter().map(describe).collect();
            RuleEntry {
                id,
                tactic: technique.map_or(UNMAPPED, |t| t.tactic.as_str()),
                technique: &spec.technique,
                technique_name: technique.map_or(UNMAPPED, |t| t.name.as_str()),
                score: spec.score,
                enabled: policy.rule(id).is_some_and(|r| r.enabled),
                action: spec.action,
                priority: spec.priority,
                message: &spec.message,
                strategy: &spec.strategy,
                blind_spots: &spec.blind_spots,
                false_positives: &spec.false_positives,
                response: &spec.response,
                fires: words(&spec.examples.fires),
                quiet: words(&spec.examples.quiet),
            }
        })
        .collect();
    let rank = |tactic: &str| {
        TACTIC_ORDER
            .iter()
            .position(|t| *t == tactic)
            .unwrap_or(TACTIC_ORDER.len())
    };
    entries.sort_by(|a, b| {
        (rank(a.tactic), a.tactic, a.technique, a.id).cmp(&(
            rank(b.tactic),
            b.tactic,
            b.technique,
            b.id,
        ))
    });
    entries
}

/// Markdown text that keeps to one line inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Inline code that survives backticks in the text.
fn inline_code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {} ``", text)
    } else {
        format!("`{text}`")
    }
}

/// The catalogue as Markdown.
pub fn markdown(policy: &Policy) -> String {
    let entries = entries(policy);
    let mut out = String::new();
    let examples: usize = entries.iter().map(|e| e.fires.len() + e.quiet.len()).sum();
    let techniques: BTreeMap<&str, ()> = entries.iter().map(|e| (e.technique, ())).collect();
    let _ = writeln!(out, "# Detection catalogue\n");
    let _ = writeln!(
        out,
        "Written by `reconguard policy docs` from the policy's own data (layers: {}). Each rule is \
         an Alerting and Detection Strategy: what it detects and how, what it misses, what benign \
         activity trips it and the layer that tunes that, how urgent it is, what to do, and the \
         examples that prove it. `reconguard policy check` judges every example with the engine; \
         `reconguard validate` sends them to a running webhook.\n",
        policy.layers.join(" + ")
    );
    let _ = writeln!(
        out,
        "{} rules, {} techniques, {} examples.\n",
        entries.len(),
        techniques.len(),
        examples
    );
    let _ = writeln!(out, "## Coverage\n");
    let _ = writeln!(
        out,
        "| tactic | technique | rule | priority | score | fires on |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for e in &entries {
        let _ = writeln!(
            out,
            "| {} | {} {} | [{}](#{}) | {} | {} | {} |",
            e.tactic,
            e.technique,
            cell(e.technique_name),
            e.id,
            e.id,
            e.priority.map_or("-", Priority::as_str),
            e.score,
            // Shortened here; the whole example is in the rule's section.
            e.fires.first().map_or("-".to_string(), |f| {
                cell(&inline_code(&crate::detect::shorten(f, 90)))
            })
        );
    }
    if !policy.document.scenarios.is_empty() {
        let _ = writeln!(out, "\n## Scenarios\n");
        for s in &policy.document.scenarios {
            let rules: Vec<String> = s.rules.iter().map(|r| format!("[{r}](#{r})")).collect();
            let _ = writeln!(out, "### {}\n\n{}\n", s.name, s.summary.trim());
            let _ = writeln!(out, "- Rules: {}", rules.join(", "));
            if !s.alerts.is_empty() {
                let _ = writeln!(out, "- Alerts: {}", s.alerts.join(", "));
            }
        }
    }
    let mut tactic = "";
    let mut technique = "";
    for e in &entries {
        if e.tactic != tactic {
            tactic = e.tactic;
            technique = "";
            let _ = writeln!(out, "\n## {tactic}");
        }
        if e.technique != technique {
            technique = e.technique;
            let _ = writeln!(out, "\n### {} {}", e.technique, e.technique_name);
        }
        section(&mut out, e);
    }
    out
}

fn section(out: &mut String, e: &RuleEntry) {
    let _ = writeln!(out, "\n<a id=\"{}\"></a>\n#### {}\n", e.id, e.id);
    let mut facts = vec![
        format!("priority **{}**", e.priority.map_or("-", Priority::as_str)),
        format!("score {}", e.score),
    ];
    if let Some(action) = e.action.map(ForcedAction::as_str) {
        facts.push(format!("forces {action}"));
    }
    if !e.enabled {
        facts.push("disabled".to_string());
    }
    let _ = writeln!(out, "{}. Message: *{}*\n", facts.join(", "), e.message);
    if !e.strategy.is_empty() {
        let _ = writeln!(out, "**Strategy.** {}\n", e.strategy.trim());
    }
    list(
        out,
        "Blind spots and assumptions",
        e.blind_spots.iter().cloned(),
    );
    if !e.false_positives.is_empty() {
        let _ = writeln!(out, "**False positives.**\n");
        for fp in e.false_positives {
            let _ = writeln!(out, "- {}; tune with:\n", fp.name);
            let _ = writeln!(out, "  ```yaml");
            for line in fp.tuning.trim_end().lines() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(out, "  ```");
        }
        out.push('\n');
    }
    list(out, "Fires on", e.fires.iter().map(|f| inline_code(f)));
    list(
        out,
        "Near misses (must not fire)",
        e.quiet.iter().map(|f| inline_code(f)),
    );
    if !e.response.is_empty() {
        let _ = writeln!(out, "**Response.**\n");
        for (i, step) in e.response.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", i + 1, step.trim());
        }
        out.push('\n');
    }
}

fn list(out: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "**{title}.**\n");
    for item in items {
        let _ = writeln!(out, "- {}", item.trim());
    }
    out.push('\n');
}

/// The catalogue as JSON: the rules in catalogue order.
pub fn json(policy: &Policy) -> serde_json::Value {
    serde_json::json!({
        "layers": policy.layers,
        "scenarios": policy.document.scenarios,
        "rules": entries(policy),
    })
}
