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

/// Whether `needle` occurs in `haystack` (both lower-case) with no letter right before or after
/// it: `kubeletctl_linux_amd64`, `alpine-peirates`, `pspy64` contain a toolkit's name,
/// `robotbuild` does not contain `botb`.
pub fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let bytes = haystack.as_bytes();
    haystack.match_indices(needle).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + needle.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphabetic())
            && !after.is_some_and(|b| b.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_bounded_by_non_letters() {
        for (hay, needle) in [
            ("kubeletctl_linux_amd64", "kubeletctl"),
            ("bustakube/alpine-peirates", "peirates"),
            ("pspy64", "pspy"),
            ("https://github.com/carlospolop/peass-ng/releases", "peass"),
            ("linpeas.sh", "linpeas"),
            ("x robotbuild botb", "botb"),
        ] {
            assert!(contains_word(hay, needle), "{hay} {needle}");
        }
        for (hay, needle) in [
            ("robotbuild", "botb"),
            ("pspython", "pspy"),
            ("traitorous", "traitor"),
            ("x", ""),
        ] {
            assert!(!contains_word(hay, needle), "{hay} {needle}");
        }
    }
}
