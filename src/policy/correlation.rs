//! The compiled `correlation` settings: what a burst is. The memory itself (who did what, when)
//! is the engine's (`crate::engine::correlate`); settings change with the policy, memory does not.

use std::time::Duration;

use super::model::CorrelationSpec;
use super::PolicyDocument;
use crate::detect::catalogue::HashSet;

#[derive(Debug, Clone)]
pub struct Correlation {
    pub rule: String,
    pub window: Duration,
    pub duplicate_window: Duration,
    pub distinct_techniques: usize,
    pub max_identities: usize,
    /// Techniques whose tactic is counted.
    pub techniques: HashSet<String>,
}

impl Correlation {
    /// The settings, or None when correlation is absent or disabled.
    pub fn compile(spec: Option<&CorrelationSpec>, doc: &PolicyDocument) -> Option<Correlation> {
        let spec = spec.filter(|s| s.enabled)?;
        let techniques = doc
            .techniques
            .iter()
            .filter(|(_, t)| spec.tactics.contains(&t.tactic))
            .map(|(id, _)| id.clone())
            .collect();
        Some(Correlation {
            rule: spec.rule.clone(),
            window: Duration::from_secs(spec.window_seconds),
            duplicate_window: Duration::from_secs(spec.duplicate_seconds),
            distinct_techniques: spec.distinct_techniques,
            max_identities: spec.max_identities,
            techniques,
        })
    }
}
