//! Shell words: quotes removed, known variables substituted, `$IFS` splitting, substitutions
//! analysed as scripts (found by brush-parser and by the nesting pre-scan), constant
//! substitutions folded, and command names built to hide themselves noticed.
use brush_parser::ast;
use brush_parser::word::{self, Parameter, ParameterExpr, WordPiece};

use super::fold::constant_output;
use super::payload::ansi_c_unescape;
use super::{nesting, syntax, Analyser, Ctx};

impl Analyser<'_> {
    /// A shell word's pieces, when it is safe to parse, the budget covers it, and it parses.
    pub(super) fn parse_word(&self, raw: &str) -> Option<Vec<word::WordPieceWithSource>> {
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
        let program = syntax::parse_script(script)?;
        let [complete] = program.complete_commands.as_slice() else {
            return None;
        };
        let [item] = complete.0.as_slice() else {
            return None;
        };
        if !item.0.additional.is_empty() {
            return None;
        }
        let mut flow = None;
        for cmd in &item.0.first.seq {
            let ast::Command::Simple(sc) = cmd else {
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
                p.piece,
                WordPiece::SingleQuotedText(_)
                    | WordPiece::DoubleQuotedSequence(_)
                    | WordPiece::AnsiCQuotedText(_)
            )
        });
        if has_quote && pieces.len() > 1 {
            self.obfuscated("splits a command name with quotes");
        }
        if pieces
            .iter()
            .any(|p| matches!(&p.piece, WordPiece::AnsiCQuotedText(t) if t.contains('\\')))
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
                    self.literal_piece(&p.piece, &mut out);
                }
                out
            }
            None => raw.replace(['\'', '"'], ""),
        }
    }

    pub(super) fn literal_piece(&self, piece: &WordPiece, out: &mut String) {
        match piece {
            WordPiece::Text(t) | WordPiece::SingleQuotedText(t) => out.push_str(t),
            WordPiece::AnsiCQuotedText(t) => out.push_str(&ansi_c_unescape(t)),
            WordPiece::EscapeSequence(t) => out.push_str(t.strip_prefix('\\').unwrap_or(t)),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                for p in inner {
                    self.literal_piece(&p.piece, out);
                }
            }
            WordPiece::TildeExpansion(_) => out.push('~'),
            WordPiece::ParameterExpansion(expr) => out.push_str(&self.parameter(expr)),
            WordPiece::CommandSubstitution(script)
            | WordPiece::BackquotedCommandSubstitution(script) => {
                match self.constant_script_output(script) {
                    Some(text) => out.push_str(text.trim_end_matches('\n')),
                    None => out.push_str("$(...)"),
                }
            }
            WordPiece::ArithmeticExpression(_) => out.push_str("$((...))"),
        }
    }

    pub(super) fn parameter(&self, expr: &ParameterExpr) -> String {
        let name = match expr {
            ParameterExpr::Parameter { parameter, .. } => match parameter {
                Parameter::Named(n) => n.clone(),
                other => return format!("${other}"),
            },
            _ => return "${...}".to_string(),
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
            if let WordPiece::ParameterExpansion(expr) = &p.piece {
                if self.parameter(expr) == " " {
                    split = true;
                }
            }
            self.literal_piece(&p.piece, &mut out);
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

pub(super) fn collect_substitutions(pieces: &[word::WordPieceWithSource], out: &mut Vec<String>) {
    for p in pieces {
        match &p.piece {
            WordPiece::CommandSubstitution(s) => out.push(s.clone()),
            WordPiece::BackquotedCommandSubstitution(s) => {
                out.push(nesting::unescape_backquoted(s))
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => collect_substitutions(inner, out),
            _ => {}
        }
    }
}

/// Whether a variable or substitution builds the program's own name (`n${x}map`, `$(echo nmap)`),
/// not just the directory it is in (`$JAVA_HOME/bin/java`, `${APP}/run.sh`, which name no
/// program by themselves and are how scripts find installed tools).
fn expansion_in_last_component(pieces: &[word::WordPieceWithSource]) -> bool {
    fn visit(pieces: &[word::WordPieceWithSource], found: &mut bool) {
        for p in pieces {
            match &p.piece {
                WordPiece::Text(t) | WordPiece::SingleQuotedText(t) if t.contains('/') => {
                    *found = false;
                }
                WordPiece::ParameterExpansion(_)
                | WordPiece::CommandSubstitution(_)
                | WordPiece::BackquotedCommandSubstitution(_) => *found = true,
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => visit(inner, found),
                _ => {}
            }
        }
    }
    let mut found = false;
    visit(pieces, &mut found);
    found
}
