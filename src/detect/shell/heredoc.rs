//! Here-documents, read before the parser sees the script: brush-parser 0.4's here-document
//! tokenizer can loop forever on malformed input, so each `<<WORD` (or `<<-WORD`) is replaced
//! by a placeholder word that the walk maps back to its body. The same pass writes the two
//! things brush-parser 0.4 cannot read in another form that runs the same commands: a `<<`
//! shift in arithmetic as a product, and bash's `select NAME in WORDS; do ...; done` loop as
//! `for` (its body runs as a `for` body does). The scan follows the shell's own
//! reading: quotes (across lines), backslashes, comments and arithmetic (`$((1 << 2))` is a
//! shift, not a here-document), and the body of each here-document on a line starts on the
//! next line and ends at a line that is exactly the delimiter (tabs stripped for `<<-`).

/// One here-document's body, and whether the shell expands `$...` and substitutions in it
/// (an unquoted delimiter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HereDoc {
    pub body: String,
    pub expands: bool,
}

/// The placeholder that stands for here-document `index` in the rewritten script.
pub(super) fn placeholder(index: usize) -> String {
    format!("__reconguard_heredoc_{index}__")
}

/// The index a placeholder stands for.
pub(super) fn index_of(word: &str) -> Option<usize> {
    word.strip_prefix("__reconguard_heredoc_")?
        .strip_suffix("__")?
        .parse()
        .ok()
}

struct Pending {
    delimiter: String,
    strip_tabs: bool,
    expands: bool,
    body: String,
}

/// What the scan of a script found.
pub(super) struct Extracted {
    /// The script with every here-document operator and body replaced by `<<<PLACEHOLDER`.
    pub text: String,
    /// The bodies, in order.
    pub docs: Vec<HereDoc>,
}

/// Placeholders are numbered from `first`, so that documents of every script of one analysis
/// (a substitution is parsed on its own, later) keep distinct numbers.
pub(super) fn scan(text: &str, first: usize) -> Extracted {
    let mut out = String::with_capacity(text.len());
    let mut docs: Vec<HereDoc> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut quote: Option<char> = None;
    let mut arithmetic = 0usize;
    for line in text.split_inclusive('\n') {
        if !pending.is_empty() {
            let content = line.strip_suffix('\n').unwrap_or(line);
            let p = &mut pending[0];
            let compared = if p.strip_tabs {
                content.trim_start_matches('\t')
            } else {
                content
            };
            if compared == p.delimiter {
                let done = pending.remove(0);
                docs.push(HereDoc {
                    body: done.body,
                    expands: done.expands,
                });
            } else {
                p.body.push_str(if p.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                });
            }
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        quote = None;
                    }
                    out.push(c);
                    i += 1;
                    continue;
                }
                Some(_) => {
                    if c == '\\' && i + 1 < chars.len() {
                        out.push(c);
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if c == '"' {
                        quote = None;
                    }
                    out.push(c);
                    i += 1;
                    continue;
                }
                None => {}
            }
            match c {
                '\\' if i + 1 < chars.len() => {
                    out.push(c);
                    out.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                '\'' | '"' => quote = Some(c),
                '#' if i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == ';' => {
                    // A comment: the rest of the line is not read.
                    out.extend(&chars[i..]);
                    break;
                }
                's' if arithmetic == 0
                    && chars[i..].starts_with(&['s', 'e', 'l', 'e', 'c', 't'])
                    && chars.get(i + 6).is_some_and(|c| *c == ' ' || *c == '\t')
                    && (i == 0 || " \t;&|({!".contains(chars[i - 1])) =>
                {
                    out.push_str("for");
                    i += 6;
                    continue;
                }
                '(' if chars.get(i + 1) == Some(&'(') => {
                    arithmetic += 1;
                    out.push_str("((");
                    i += 2;
                    continue;
                }
                ')' if arithmetic > 0 && chars.get(i + 1) == Some(&')') => {
                    arithmetic -= 1;
                    out.push_str("))");
                    i += 2;
                    continue;
                }
                '<' if chars.get(i + 1) == Some(&'<') && chars.get(i + 2) == Some(&'<') => {
                    // A here-string.
                    out.push_str("<<<");
                    i += 3;
                    continue;
                }
                '<' if arithmetic > 0 && chars.get(i + 1) == Some(&'<') => {
                    // A shift: written as a product, which reads the same operands (only the
                    // substitutions in arithmetic matter here), so the parser sees no `<<`.
                    out.push('*');
                    i += 2;
                    continue;
                }
                '<' if chars.get(i + 1) == Some(&'<') => {
                    let mut j = i + 2;
                    let strip_tabs = chars.get(j) == Some(&'-');
                    if strip_tabs {
                        j += 1;
                    }
                    while chars.get(j).is_some_and(|c| *c == ' ' || *c == '\t') {
                        j += 1;
                    }
                    let (delimiter, quoted, end) = delimiter_word(&chars, j);
                    if delimiter.is_empty() {
                        out.push_str("<<");
                        i += 2;
                        continue;
                    }
                    out.push_str("<<<");
                    out.push_str(&placeholder(first + docs.len() + pending.len()));
                    pending.push(Pending {
                        delimiter,
                        strip_tabs,
                        expands: !quoted,
                        body: String::new(),
                    });
                    i = end;
                    continue;
                }
                _ => {}
            }
            out.push(c);
            i += 1;
        }
    }
    // A here-document the script never closes ends with the script, as the shell reads it.
    for p in pending {
        docs.push(HereDoc {
            body: p.body,
            expands: p.expands,
        });
    }
    Extracted { text: out, docs }
}

/// The script and its here-documents, when it has any.
#[cfg(test)]
fn extract(text: &str, first: usize) -> Option<(String, Vec<HereDoc>)> {
    let e = scan(text, first);
    (!e.docs.is_empty()).then_some((e.text, e.docs))
}

/// The delimiter word starting at `start`: its text with quotes removed, whether any part was
/// quoted, and where it ends.
fn delimiter_word(chars: &[char], start: usize) -> (String, bool, usize) {
    let mut word = String::new();
    let mut quoted = false;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                quoted = true;
                let close = chars[i + 1..].iter().position(|d| *d == c);
                match close {
                    Some(n) => {
                        word.extend(&chars[i + 1..i + 1 + n]);
                        i += n + 2;
                    }
                    None => {
                        word.extend(&chars[i + 1..]);
                        i = chars.len();
                    }
                }
            }
            '\\' => {
                quoted = true;
                if let Some(n) = chars.get(i + 1) {
                    word.push(*n);
                }
                i += 2;
            }
            c if c.is_whitespace() || ";|&<>()".contains(c) => break,
            c => {
                word.push(c);
                i += 1;
            }
        }
    }
    (word, quoted, i.min(chars.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract_0(text: &str) -> Option<(String, Vec<HereDoc>)> {
        extract(text, 0)
    }

    #[test]
    fn bodies_are_taken_out_and_their_quoting_kept() {
        let (text, docs) = extract_0("cat <<'EOF' | sh\nnmap -sS x\nEOF\necho done\n").unwrap();
        assert_eq!(text, format!("cat <<<{} | sh\necho done\n", placeholder(0)));
        assert_eq!(
            docs,
            vec![HereDoc {
                body: "nmap -sS x\n".into(),
                expands: false
            }]
        );
        let (_, docs) = extract_0("cat <<-END\n\t$(id)\n\tEND\n").unwrap();
        assert_eq!(docs[0].body, "$(id)\n");
        assert!(docs[0].expands);
        let (text, docs) = extract_0("a <<A; b <<\"B\"\n1\nA\n2\nB\nc").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (docs[0].body.as_str(), docs[1].body.as_str()),
            ("1\n", "2\n")
        );
        assert!(text.ends_with("\nc"), "{text}");
    }

    #[test]
    fn shifts_are_rewritten_and_quoted_operators_kept() {
        assert_eq!(
            scan("n=$((1 << 2)); ((x<<=1))", 0).text,
            "n=$((1 * 2)); ((x*=1))"
        );
        assert_eq!(
            scan("echo '<<EOF'; cat <<< x", 0).text,
            "echo '<<EOF'; cat <<< x"
        );
    }

    #[test]
    fn shifts_strings_comments_and_here_strings_are_not_here_documents() {
        for text in [
            "n=$((1 << 2)); nmap x",
            "echo '<<EOF'; nmap x",
            "echo \"a <<EOF\"; nmap x",
            "# cat <<EOF\nnmap x",
            "cat <<< 'nmap x'",
            "(( x <<= 1 ))\nnmap x",
        ] {
            assert!(extract_0(text).is_none(), "{text}");
        }
    }

    #[test]
    fn select_loops_are_read_as_for_loops() {
        assert_eq!(
            scan("select s in a b; do nmap x; done", 0).text,
            "for s in a b; do nmap x; done"
        );
        assert_eq!(
            scan("echo 'select x'; preselect y", 0).text,
            "echo 'select x'; preselect y"
        );
    }

    #[test]
    fn an_unclosed_document_runs_to_the_end() {
        let (_, docs) = extract_0("cat <<EOF\nnmap\n").unwrap();
        assert_eq!(docs[0].body, "nmap\n");
    }
}
