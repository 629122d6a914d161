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

/// Lower-case words looked for at once (aho-corasick, one pass over the text), each matched only
/// with no letter right before or after it: `kubeletctl_linux_amd64`, `alpine-peirates`, `pspy64`
/// contain a toolkit's name, `robotbuild` does not contain `botb`.
#[derive(Debug, Clone)]
pub struct WordSet {
    words: Vec<String>,
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl WordSet {
    /// `words` must be lower-case and non-empty (the policy compiler checks both). An automaton
    /// that cannot be built is an error for the policy to report, never a set that finds nothing.
    pub fn new(words: Vec<String>) -> Result<WordSet, aho_corasick::BuildError> {
        let automaton = if words.is_empty() {
            None
        } else {
            Some(aho_corasick::AhoCorasick::new(&words)?)
        };
        Ok(WordSet { words, automaton })
    }

    /// The set that finds nothing (what a policy that failed to compile is left with).
    pub fn empty() -> WordSet {
        WordSet {
            words: Vec::new(),
            automaton: None,
        }
    }

    /// The first word, in list order, that `haystack` (lower-case) contains as a word.
    pub fn find(&self, haystack: &str) -> Option<&str> {
        let automaton = self.automaton.as_ref()?;
        let bytes = haystack.as_bytes();
        automaton
            .find_overlapping_iter(haystack)
            .filter(|m| {
                let before = m.start().checked_sub(1).map(|i| bytes[i]);
                let after = bytes.get(m.end()).copied();
                !before.is_some_and(|b| b.is_ascii_alphabetic())
                    && !after.is_some_and(|b| b.is_ascii_alphabetic())
            })
            .map(|m| m.pattern().as_usize())
            .min()
            .map(|i| self.words[i].as_str())
    }
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
            assert_eq!(
                WordSet::new(vec![needle.to_string()]).unwrap().find(hay),
                Some(needle),
                "{hay} {needle}"
            );
        }
        for (hay, needle) in [
            ("robotbuild", "botb"),
            ("pspython", "pspy"),
            ("traitorous", "traitor"),
            ("x", ""),
        ] {
            assert_eq!(
                WordSet::new(vec![needle.to_string()]).unwrap().find(hay),
                None,
                "{hay} {needle}"
            );
        }
    }

    #[test]
    fn the_first_word_in_list_order_wins_among_overlapping_matches() {
        let set = WordSet::new(vec![
            "kube-hunter".into(),
            "hunter".into(),
            "linpeas".into(),
        ])
        .unwrap();
        assert_eq!(set.find("aquasec/kube-hunter"), Some("kube-hunter"));
        assert_eq!(set.find("x/hunter-linpeas"), Some("hunter"));
        assert_eq!(set.find("linpeas.sh then hunter"), Some("hunter"));
        assert_eq!(set.find("kubehunter"), None);
        assert_eq!(WordSet::new(Vec::new()).unwrap().find("anything"), None);
    }
}
