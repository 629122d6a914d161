//! The fallback splitter, for scripts the parser is not given (too deep, here-documents) or
//! cannot parse: split on shell operators and whitespace. Cruder, but nothing goes unseen:
//! since command boundaries are guesses, every known program in a line starts a command too.
use super::{Analyser, Ctx};

impl Analyser<'_> {
    /// When a script does not parse, split it on shell operators and whitespace: cruder, but
    /// nothing goes unseen. Since the command boundaries are guesses, every known program in a
    /// line also starts a command of its own.
    pub(super) fn fallback(&mut self, text: &str, ctx: Ctx) {
        let normalised: String = text
            .chars()
            .map(|c| match c {
                ';' | '|' | '&' | '\n' | '(' | ')' | '{' | '}' | '`' | '$' | '<' | '>' | '\''
                | '"' => '\n',
                c => c,
            })
            .collect();
        for line in normalised.lines() {
            let words: Vec<String> = line
                .split_whitespace()
                .map(|w| w.replace('\\', ""))
                .filter(|w| !w.is_empty())
                .collect();
            let (redirect_targets, words): (Vec<String>, Vec<String>) = words
                .into_iter()
                .partition(|w| w.starts_with("/dev/tcp/") || w.starts_with("/dev/udp/"));
            let starts: Vec<usize> = (0..words.len())
                .filter(|&i| i == 0 || self.known(&self.canonical_program(&words[i])))
                .collect();
            for (n, start) in starts.into_iter().enumerate() {
                if self.out_of_commands() {
                    return;
                }
                let redirects = if n == 0 {
                    redirect_targets.clone()
                } else {
                    Vec::new()
                };
                self.argv(&words[start..], redirects, None, ctx);
            }
        }
    }
}
