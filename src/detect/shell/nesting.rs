//! How deeply a script's constructs nest, found in one linear pass before the text reaches the
//! parser. brush-parser's recursive-descent grammar, its word parser, the syntax walk and the
//! drop of the syntax tree all recurse once per level, so depth, not size, is what exhausts a
//! stack: 500 nested `if`s in a 9.5 KB argument overflowed a 2 MiB thread. This scan never
//! recurses and over-approximates the parser's depth, so a script it accepts is safe to parse.

/// One open construct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// `if`/`while`/`until`/`for`/`select`/`case`, closed by this keyword.
    Keyword(&'static str),
    /// `(` and each parenthesis of `((` and `$((`.
    Paren,
    /// `$(`, `<(`, `>(`: a command substitution or process substitution.
    Subst,
    /// `{` and `${`.
    Brace,
    DoubleQuote,
    Backtick,
}

/// The deepest nesting found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nesting {
    /// Compound commands, groups, substitutions, parameter expansions, quotes and runs of prefix
    /// keywords (`! time coproc`), all counted together.
    pub depth: usize,
    /// Parentheses alone: brush-parser backtracks exponentially on nested `((` and `$((`.
    pub parens: usize,
    /// `case` clauses alone: brush-parser backtracks exponentially on nested, unclosed ones
    /// (found by cargo fuzz: 20 levels in 260 bytes took 2 s, 30 levels over a minute).
    pub cases: usize,
}

const CASE: Frame = Frame::Keyword("esac");

fn is_paren(frame: Frame) -> bool {
    matches!(frame, Frame::Paren | Frame::Subst)
}

/// The constructs open at the scan's position, and the deepest nesting seen so far.
#[derive(Debug, Default)]
struct Open {
    stack: Vec<Frame>,
    parens: usize,
    cases: usize,
    deepest: Nesting,
    /// The outermost substitution open now: the stack length with it pushed, and where its body
    /// starts.
    substitution: Option<(usize, usize)>,
    /// Bodies of the outermost substitutions: byte ranges, and whether backquoted.
    substitutions: Vec<(usize, usize, bool)>,
}

impl Open {
    fn top(&self) -> Option<Frame> {
        self.stack.last().copied()
    }

    /// Records the depth reached with `prefix` prefix keywords in front of the current command.
    fn reach(&mut self, prefix: usize) {
        self.deepest.depth = self.deepest.depth.max(self.stack.len() + prefix);
        self.deepest.parens = self.deepest.parens.max(self.parens);
        self.deepest.cases = self.deepest.cases.max(self.cases);
    }

    fn push(&mut self, frame: Frame, prefix: usize) {
        self.stack.push(frame);
        if is_paren(frame) {
            self.parens += 1;
        }
        if frame == CASE {
            self.cases += 1;
        }
        self.reach(prefix);
    }

    /// A substitution whose body starts at `body`.
    fn push_substitution(&mut self, frame: Frame, prefix: usize, body: usize) {
        self.push(frame, prefix);
        if self.substitution.is_none() {
            self.substitution = Some((self.stack.len(), body));
        }
    }

    /// Closes `frame` if it is the innermost one; `at` is where its closing token starts.
    fn pop_if(&mut self, frame: Frame, at: usize) {
        if self.top() != Some(frame) {
            return;
        }
        if let Some((len, body)) = self.substitution {
            if len == self.stack.len() {
                self.substitutions
                    .push((body, at, frame == Frame::Backtick));
                self.substitution = None;
            }
        }
        self.stack.pop();
        if is_paren(frame) {
            self.parens -= 1;
        }
        if frame == CASE {
            self.cases -= 1;
        }
    }
}

/// Words that open a compound command in command position, and the word that closes it.
fn opener(word: &str) -> Option<&'static str> {
    match word {
        "if" => Some("fi"),
        "while" | "until" | "for" | "select" => Some("done"),
        "case" => Some("esac"),
        _ => None,
    }
}

/// Words after which the next word is again in command position.
fn leads_to_command(word: &str) -> bool {
    matches!(
        word,
        "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "time" | "coproc"
    )
}

/// Bytes that end a plain word in the walk besides metacharacters: quotes, expansions, escapes
/// and braces each open (or close) a construct.
const WORD_BREAKS: &[u8] = b"'\"`$\\{}";

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

/// Scans `text` without recursion. Unbalanced closers are ignored, unbalanced openers stay open:
/// both can only raise the result, never hide depth.
pub fn scan(text: &str) -> Nesting {
    if is_plain_word(text) {
        return Nesting::default();
    }
    walk(text).deepest
}

/// A word with no byte that can open a construct and not itself a keyword that opens one or
/// counts as a prefix (`-sT`, `10.96.0.0/24`): most words of most commands, which the walk would
/// pass through to the same result, scanned for every expansion.
fn is_plain_word(text: &str) -> bool {
    !text
        .bytes()
        .any(|b| is_meta(b) || b == b'#' || WORD_BREAKS.contains(&b))
        && opener(text).is_none()
        && !matches!(text, "!" | "time" | "coproc")
}

/// The bodies of a word's or script's outermost command and process substitutions (`$(...)`,
/// `` `...` ``, `<(...)`), found with the shell's own nesting rules: a `)` that ends a case
/// pattern does not end the substitution, as it does for brush-parser 0.4's word parser, which
/// cut `$(case x in x) nmap ...;; esac)` short and lost the command.
pub fn substitutions(text: &str) -> Vec<String> {
    walk(text)
        .substitutions
        .into_iter()
        .filter_map(|(start, end, backquoted)| {
            let body = text.get(start..end)?;
            Some(if backquoted {
                unescape_backquoted(body)
            } else {
                body.to_string()
            })
        })
        .collect()
}

/// The script a backquoted substitution runs: inside backquotes a backslash escapes only `\`,
/// `` ` `` and `$`, so nested backquotes are written `` \` `` and lose one level here.
pub fn unescape_backquoted(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if matches!(n, '\\' | '`' | '$') {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

fn walk(text: &str) -> Open {
    let bytes = text.as_bytes();
    let mut open = Open::default();
    let mut prefix_run = 0usize;
    let mut command_start = true;
    let mut i = 0usize;

    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b == b'\\' {
            i += 2;
            command_start = false;
            continue;
        }
        if open.top() == Some(Frame::DoubleQuote) {
            match (b, next) {
                (b'"', _) => open.pop_if(Frame::DoubleQuote, i),
                (b'$', Some(b'(')) if bytes.get(i + 2) == Some(&b'(') => {
                    open.push(Frame::Paren, prefix_run);
                    i += 1;
                }
                (b'$', Some(b'(')) => {
                    open.push_substitution(Frame::Subst, prefix_run, i + 2);
                    command_start = true;
                    i += 1;
                }
                (b'$', Some(b'{')) => {
                    open.push(Frame::Brace, prefix_run);
                    i += 1;
                }
                (b'`', _) => {
                    open.push_substitution(Frame::Backtick, prefix_run, i + 1);
                    command_start = true;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' => {
                // Literal to the closing quote; nothing inside nests.
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                command_start = false;
            }
            b'"' => {
                open.push(Frame::DoubleQuote, prefix_run);
                command_start = false;
            }
            b'`' => {
                if open.top() == Some(Frame::Backtick) {
                    open.pop_if(Frame::Backtick, i);
                    command_start = false;
                } else {
                    open.push_substitution(Frame::Backtick, prefix_run, i + 1);
                    command_start = true;
                }
            }
            b'#' if command_start || i == 0 || is_meta(bytes[i - 1]) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'$' if next == Some(b'(') && bytes.get(i + 2) == Some(&b'(') => {
                open.push(Frame::Paren, prefix_run);
                i += 1;
            }
            b'$' if next == Some(b'(') => {
                open.push_substitution(Frame::Subst, prefix_run, i + 2);
                command_start = true;
                i += 1;
            }
            b'$' if next == Some(b'{') => {
                open.push(Frame::Brace, prefix_run);
                command_start = false;
                i += 1;
            }
            b'<' | b'>' if next == Some(b'(') => {
                open.push_substitution(Frame::Subst, prefix_run, i + 2);
                command_start = true;
                i += 1;
            }
            b'(' => {
                open.push(Frame::Paren, prefix_run);
                command_start = true;
            }
            b')' => {
                match open.top() {
                    Some(Frame::Subst) => open.pop_if(Frame::Subst, i),
                    _ => open.pop_if(Frame::Paren, i),
                }
                // After a case pattern or a subshell, a command may follow.
                command_start = true;
            }
            b'{' => {
                open.push(Frame::Brace, prefix_run);
                command_start = true;
            }
            b'}' => {
                open.pop_if(Frame::Brace, i);
                command_start = false;
            }
            b';' | b'&' | b'|' | b'\n' => {
                command_start = true;
                prefix_run = 0;
            }
            b' ' | b'\t' | b'\r' | b'<' | b'>' => {}
            _ => {
                // A word: this byte always belongs to it (a lone `$`, a `#` inside a word).
                let start = i;
                i += 1;
                while i < bytes.len() && !is_meta(bytes[i]) && !WORD_BREAKS.contains(&bytes[i]) {
                    i += 1;
                }
                let delimited = i == bytes.len() || is_meta(bytes[i]);
                // A backslash skips one byte, which may leave `start` inside a multibyte
                // character (found by cargo fuzz): such a word is no keyword.
                let word = text.get(start..i).unwrap_or("");
                if command_start && delimited {
                    if let Some(closer) = opener(word) {
                        open.push(Frame::Keyword(closer), prefix_run);
                    } else if matches!(word, "fi" | "done" | "esac") {
                        if let Some(Frame::Keyword(closer)) = open.top() {
                            if closer == word {
                                open.pop_if(Frame::Keyword(closer), start);
                            }
                        }
                    } else if matches!(word, "!" | "time" | "coproc") {
                        prefix_run += 1;
                        open.reach(prefix_run);
                    }
                    command_start = leads_to_command(word);
                } else {
                    command_start = false;
                }
                continue;
            }
        }
        i += 1;
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for plain words gives what the walk gives, keywords and metacharacters
    /// of every kind included.
    #[test]
    fn plain_words_scan_as_the_walk_does() {
        let mut words: Vec<String> = [
            "",
            "-sT",
            "10.96.0.0/24",
            "if",
            "case",
            "while",
            "!",
            "time",
            "coproc",
            "fi",
            "done",
            "esac",
            "then",
            "{",
            "}",
            "a{b",
            "$x",
            "`x`",
            "a#b",
            "#",
            "'",
            "\u{22}",
            "\\",
            "x(",
            "nmap",
            "/usr/bin/nmap",
            "ümlaut",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        for b in 0u8..128 {
            words.push(format!("a{}b", b as char));
            words.push((b as char).to_string());
        }
        for w in &words {
            assert_eq!(scan(w), walk(w).deepest, "{w:?}");
        }
        assert_eq!(scan("if").depth, 1, "a keyword alone opens its construct");
        assert!(is_plain_word("10.96.0.0/24") && !is_plain_word("$(id)"));
    }

    fn depth(s: &str) -> usize {
        scan(s).depth
    }

    #[test]
    fn compound_commands_nest() {
        assert_eq!(depth("ls -l"), 0);
        assert_eq!(depth("if true; then ls; fi"), 1);
        assert_eq!(depth("if true; then if a; then b; fi; fi"), 2);
        assert_eq!(depth("for i in 1 2; do while x; do y; done; done"), 2);
        assert_eq!(depth("case $x in a) b;; esac"), 1);
        assert_eq!(depth("f() { g; }"), 1);
        assert_eq!(depth("( ( ls ) )"), 2);
        // Closed constructs do not add up.
        assert_eq!(depth("if a; then b; fi; if c; then d; fi"), 1);
    }

    #[test]
    fn substitutions_and_quotes_nest() {
        assert_eq!(depth("echo \"$(ls \"${d}\")\""), 4);
        assert_eq!(depth("echo `ls`"), 1);
        assert_eq!(scan("echo $((1+(2)))").parens, 3);
        assert_eq!(depth("cat <(ls)"), 1);
    }

    #[test]
    fn substitutions_are_found_with_the_shells_nesting_rules() {
        assert_eq!(
            substitutions("echo \"$(case x in x) nmap -sS h;; esac)\""),
            ["case x in x) nmap -sS h;; esac"]
        );
        assert_eq!(
            substitutions("a $(b $(c)) `d` <(e) $((1+2))"),
            ["b $(c)", "d", "e"]
        );
        assert!(substitutions("echo '$(not)' \\$(nor)").is_empty());
        assert!(substitutions("echo $(unterminated").is_empty());
        assert_eq!(
            substitutions("echo `echo \\`nmap \\\\\\`id\\\\\\`\\``"),
            ["echo `nmap \\`id\\``"]
        );
    }

    #[test]
    fn case_clauses_are_counted_apart() {
        let n = scan(&"case x in x) if a; then ".repeat(7));
        assert_eq!((n.cases, n.depth), (7, 14));
        assert_eq!(
            scan("case a in a) x;; esac; case b in b) y;; esac").cases,
            1
        );
    }

    #[test]
    fn keywords_only_count_in_command_position() {
        assert_eq!(depth("echo if while for case"), 0);
        assert_eq!(depth("grep -E 'if|fi' f"), 0);
        assert_eq!(depth("# if if if\nls"), 0);
        assert_eq!(depth("echo \\( \\( \\("), 0);
        assert_eq!(depth("echo $ a$ b#c $"), 0);
        // A backslash before a multibyte character.
        assert_eq!(depth("\\\u{fffd}if \\é\\\u{1f600}x; if a; then b; fi"), 1);
    }

    #[test]
    fn prefix_keyword_runs_count() {
        assert_eq!(depth("! ! ! ls"), 3);
        assert_eq!(depth("coproc coproc ls"), 2);
        assert_eq!(depth("! a; ! b"), 1);
    }

    #[test]
    fn every_construct_at_depth_500_is_seen() {
        for (open, close) in [
            ("if true; then ", "; fi"),
            ("while true; do ", "; done"),
            ("until false; do ", "; done"),
            ("for i in 1; do ", "; done"),
            ("select i in 1; do ", "; done"),
            ("case x in x) ", ";; esac"),
            ("{ ", "; }"),
            ("( ", " )"),
            ("f() { ", "; }"),
            ("echo $(", ")"),
            ("echo \"$(", ")\""),
            ("echo ${x:-", "}"),
            ("cat <(", ")"),
            ("coproc ", ""),
            ("! ", ""),
        ] {
            let script = format!("{}ls{}", open.repeat(500), close.repeat(500));
            assert!(depth(&script) >= 500, "{open}: {}", depth(&script));
        }
    }
}
