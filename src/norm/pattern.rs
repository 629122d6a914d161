//! Patterns an admin writes in the policy: exact unless they contain `*`, `?` or `[`, so
//! `kube-system` never matches `kube-system-x` by accident.

use globset::{GlobBuilder, GlobMatcher};

/// One exact value or glob.
#[derive(Debug, Clone)]
pub enum Pattern {
    Exact(String),
    Glob(GlobMatcher),
}

impl Pattern {
    /// `separator`: whether `*` stops at `/` (paths) or crosses it (anything else).
    pub fn new(text: &str, separator: bool) -> Result<Self, String> {
        if text.contains(['*', '?', '[']) {
            GlobBuilder::new(text)
                .literal_separator(separator)
                .build()
                .map(|g| Pattern::Glob(g.compile_matcher()))
                .map_err(|e| format!("bad glob {text:?}: {e}"))
        } else {
            Ok(Pattern::Exact(text.to_string()))
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(s) => s == value,
            Pattern::Glob(g) => g.is_match(value),
        }
    }
}
