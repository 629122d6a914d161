//! Shell words: quotes removed, known variables substituted, `$IFS` splitting, substitutions
//! analysed as scripts (found by brush-parser and by the nesting pre-scan), constant
//! substitutions folded, and command names built to hide themselves noticed.
use super::ir::{Command, Parameter, Piece};

use super::fold::constant_output;
use super::payload::ansi_c_unescape;
use super::{nesting, syntax, Analyser, Ctx};

impl Analyser<'_> {
    /// A shell word's pieces, when it is safe to parse, the budget covers it, and it parses.
    pub(super) fn parse_word(&self, raw: &str) -> Option<Vec<Piece>> {
        if !self.parseable(raw, 0) || !self.budget.spend(raw.len()) {
            return None;
        }
        syntax::parse_word(raw)
    }

    /// The output of a substitution that only prints constants (`$(echo nmap)`,
    /// `$(printf '\x6e\x6d\x61\x70')`, `$(echo pamn | rev)`), when that is all it does.
    pub(super) fn constant_script_output(&self, script: &str) -> Option<String> {
        if script.len() > self.exec.limits.max_script_bytes
            || !self.parseable(script, 0)
            || !self.budget.spend(script.len())
        {
            return None;
        }
        let parsed = syntax::parse_script(script)?;
        let [pipeline] = parsed.0.as_slice() else {
            return None;
        };
        let mut flow = None;
        for cmd in &pipeline.0 {
            let Command::Simple(sc) = cmd else {
                return None;
            };
            flow = Some(constant_output(&self.quiet_words(sc), flow)?);
        }
        flow.map(|f| f.text)
    }

    /// Quoting inside a command name (`n''map`, `$'\x6e\x6d\x61\x70'`, `\nmap` aside) and names
    /// built from variables or substitutions have no innocent use.
    pub(super) fn inspect_command_name(&mut self, raw: &str) {
        let Some(pieces) = self.parse_word(raw) else {
            return;
        };
        let has_quote = pieces.iter().any(|p| {
            matches!(
                p,
                Piece::SingleQuoted(_) | Piece::DoubleQuoted(_) | Piece::AnsiC(_)
            )
        });
        if has_quote && pieces.len() > 1 {
            self.obfuscated("splits a command name with quotes");
        }
        if pieces
            .iter()
            .any(|p| matches!(p, Piece::AnsiC(t) if t.contains('\\')))
            || raw.starts_with("$'")
        {
            self.obfuscated("spells a command name with escape sequences");
        }
        if expansion_in_last_component(&pieces) {
            self.obfuscated("builds a command name from variables or substitutions");
        }
    }

    pub(super) fn expand_quiet(&self, raw: &str) -> String {
        match self.parse_word(raw) {
            Some(pieces) => {
                let mut out = String::new();
                for p in &pieces {
                    self.literal_piece(p, &mut out);
                }
                out
            }
            None => raw.replace(['\'', '"'], ""),
        }
    }

    pub(super) fn literal_piece(&self, piece: &Piece, out: &mut String) {
        match piece {
            Piece::Text(t) | Piece::SingleQuoted(t) => out.push_str(t),
            Piece::AnsiC(t) => out.push_str(&ansi_c_unescape(t)),
            Piece::Escape(t) => out.push_str(t.strip_prefix('\\').unwrap_or(t)),
            Piece::DoubleQuoted(inner) => {
                for p in inner {
                    self.literal_piece(p, out);
                }
            }
            Piece::Tilde => out.push('~'),
            Piece::Parameter(parameter) => out.push_str(&self.parameter(parameter)),
            Piece::Substitution { script, .. } => match self.constant_script_output(script) {
                Some(text) => out.push_str(text.trim_end_matches('\n')),
                None => out.push_str("$(...)"),
            },
            Piece::Arithmetic => out.push_str("$((...))"),
        }
    }

    pub(super) fn parameter(&self, parameter: &Parameter) -> String {
        let name = match parameter {
            Parameter::Named(n) => n.clone(),
            Parameter::Special(written) => return written.clone(),
            Parameter::Operator => return "${...}".to_string(),
        };
        if name == "IFS" {
            return " ".to_string();
        }
        if name == "SHELL" || name == "BASH" {
            return "sh".to_string();
        }
        match self.vars.get(&name) {
            Some(v) => v.clone(),
            None => format!("${{{name}}}"),
        }
    }

    /// Expands one shell word into the words it becomes: quotes removed, known variables
    /// substituted, `$IFS` splitting, substitutions analysed as scripts.
    pub(super) fn expand(&mut self, raw: &str, ctx: Ctx) -> Vec<String> {
        if let Some(why) = self.unparseable(raw, 0) {
            self.limit(format!("a word {why}"));
        }
        let Some(pieces) = self.parse_word(raw) else {
            return vec![raw.replace(['\'', '"'], "")];
        };
        let mut subs = Vec::new();
        // brush-parser cuts `$(case x in x) ...;; esac)` at the pattern's `)`; `Analyser::script`
        // analyses the bodies the shell sees for the whole script, this word included.
        collect_substitutions(&pieces, &mut subs);
        for s in subs {
            self.script(&s, ctx.deeper());
        }
        let mut out = String::new();
        let mut split = false;
        for p in &pieces {
            if let Piece::Parameter(parameter) = p {
                if self.parameter(parameter) == " " {
                    split = true;
                }
            }
            self.literal_piece(p, &mut out);
        }
        if split {
            out.split_whitespace().map(str::to_string).collect()
        } else {
            vec![out]
        }
    }
}

/// `n$x$@map` with `x` unknown: the word as a shell with those variables unset sees it.
pub(super) fn strip_unknown_variables(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('{') => {
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                }
            }
            Some(n) if n.is_ascii_alphanumeric() || *n == '_' => {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
                {
                    chars.next();
                }
            }
            Some('@' | '*' | '#' | '?' | '!' | '-') => {
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

pub(super) fn collect_substitutions(pieces: &[Piece], out: &mut Vec<String>) {
    for p in pieces {
        match p {
            Piece::Substitution {
                script,
                backquoted: false,
            } => out.push(script.clone()),
            Piece::Substitution {
                script,
                backquoted: true,
            } => out.push(nesting::unescape_backquoted(script)),
            Piece::DoubleQuoted(inner) => collect_substitutions(inner, out),
            _ => {}
        }
    }
}

/// Whether a variable or substitution builds the program's own name (`n${x}map`, `$(echo nmap)`),
/// not just the directory it is in (`$JAVA_HOME/bin/java`, `${APP}/run.sh`, which name no
/// program by themselves and are how scripts find installed tools).
fn expansion_in_last_component(pieces: &[Piece]) -> bool {
    fn visit(pieces: &[Piece], found: &mut bool) {
        for p in pieces {
            match p {
                Piece::Text(t) | Piece::SingleQuoted(t) if t.contains('/') => {
                    *found = false;
                }
                Piece::Parameter(_) | Piece::Substitution { .. } => *found = true,
                Piece::DoubleQuoted(inner) => visit(inner, found),
                _ => {}
            }
        }
    }
    let mut found = false;
    visit(pieces, &mut found);
    found
}
