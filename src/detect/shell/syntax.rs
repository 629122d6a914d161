//! brush-parser behind guards, and the one place that knows its types: its trees are turned
//! into `ir` types here. Parser panics become parse failures, control characters are spaces,
//! here-documents are never given to it (`heredoc` takes them out first). Callers check nesting and the work budget first
//! (`Analyser::unparseable`), which also bounds the recursion of the conversion below.

use brush_parser::{ast, word};

use super::heredoc::{self, HereDoc};
use super::ir::{
    Anchor, Assignment, Command, Compound, Item, Operator, Parameter, Piece, Pipeline, Redirect,
    Script, SimpleCommand,
};

/// Bytes that mean nothing to the shell: no quoting, expansion, globbing, assignment, comment,
/// redirection, operator or history character. Text made only of them and blanks needs no
/// parser: its words are its blank-separated fields.
fn plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_./:,+@%^".contains(&b)
}

/// Words that are syntax when they come first (`time` and `!` change the pipeline, `{` opens a
/// group...): a script starting with one goes to the parser.
const RESERVED_FIRST_WORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "function", "select", "time", "coproc",
];

/// The most common script by far, `timeout 60 nmap -sT 10.0.0.0/24`: one simple command of plain
/// words. Read without brush-parser, whose PEG parse of it costs more than the rest of an
/// evaluation; the result is the tree the parser gives (a property test compares them).
fn plain_command(text: &str) -> Option<Script> {
    if !text
        .bytes()
        .all(|b| plain_byte(b) || b == b' ' || b == b'\t')
    {
        return None;
    }
    let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
    let name = words.next()?;
    if RESERVED_FIRST_WORDS.contains(&name) {
        return None;
    }
    Some(Script(vec![Pipeline(vec![Command::Simple(
        SimpleCommand {
            prefix: Vec::new(),
            name: Some(name.to_string()),
            suffix: words.map(|w| Item::Word(w.to_string())).collect(),
        },
    )])]))
}

/// A shell word's pieces, if it parses. Callers check nesting and budget first.
pub(super) fn parse_word(raw: &str) -> Option<Vec<Piece>> {
    if !raw.is_empty() && raw.bytes().all(plain_byte) {
        return Some(vec![Piece::Text(raw.to_string())]);
    }
    let raw = without_control_characters(raw);
    let pieces =
        shielded(|| word::parse(&raw, &brush_parser::ParserOptions::default()).ok()).flatten()?;
    Some(pieces.into_iter().map(|p| piece(p.piece)).collect())
}

/// A script's syntax, if it parses, and the here-documents taken out of it: each stands in the
/// tree as a here-string of `heredoc::placeholder(first_heredoc + i)`. Callers check nesting and
/// budget first.
pub(super) fn parse_script(text: &str, first_heredoc: usize) -> Option<(Script, Vec<HereDoc>)> {
    if let Some(script) = plain_command(text) {
        return Some((script, Vec::new()));
    }
    if !text.contains("<<") && !text.contains("select") {
        return Some((parse_script_with_brush(text)?, Vec::new()));
    }
    // brush-parser 0.4's here-document tokenizer can loop forever on malformed input: it is
    // given no here-document, and arithmetic shifts are rewritten (`heredoc::scan`).
    let scanned = heredoc::scan(text, first_heredoc);
    Some((parse_script_with_brush(&scanned.text)?, scanned.docs))
}

fn parse_script_with_brush(text: &str) -> Option<Script> {
    let text = without_control_characters(text);
    let options = brush_parser::ParserOptions::default();
    let program = shielded(|| {
        brush_parser::Parser::new(std::io::Cursor::new(text.as_bytes()), &options)
            .parse_program()
            .ok()
    })
    .flatten()?;
    let mut script = Script::default();
    for complete in program.complete_commands {
        script.0.extend(list(complete).0);
    }
    Some(script)
}

// The conversions consume brush's tree, moving its strings rather than copying them.

fn list(list: ast::CompoundList) -> Script {
    let mut out = Vec::new();
    for item in list.0 {
        let and_or = item.0;
        out.push(pipeline(and_or.first));
        for next in and_or.additional {
            match next {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => out.push(pipeline(p)),
            }
        }
    }
    Script(out)
}

fn pipeline(p: ast::Pipeline) -> Pipeline {
    Pipeline(p.seq.into_iter().map(command).collect())
}

fn command(cmd: ast::Command) -> Command {
    match cmd {
        ast::Command::Simple(sc) => Command::Simple(SimpleCommand {
            prefix: sc.prefix.into_iter().flat_map(|p| p.0).map(item).collect(),
            name: sc.word_or_name.map(|w| w.value),
            suffix: sc.suffix.into_iter().flat_map(|s| s.0).map(item).collect(),
        }),
        ast::Command::Compound(cc, redirects) => Command::Compound(
            compound(cc),
            redirects
                .into_iter()
                .flat_map(|r| r.0)
                .map(redirect)
                .collect(),
        ),
        ast::Command::Function(def) => Command::Compound(compound(def.body.0), Vec::new()),
        ast::Command::ExtendedTest(test, _) => {
            let mut words = Vec::new();
            test_words(test.expr, &mut words);
            Command::Test(words)
        }
    }
}

fn compound(cc: ast::CompoundCommand) -> Compound {
    match cc {
        ast::CompoundCommand::BraceGroup(b) => Compound::Group(list(b.list)),
        ast::CompoundCommand::Subshell(s) => Compound::Group(list(s.list)),
        ast::CompoundCommand::ForClause(f) => Compound::For {
            variable: f.variable_name,
            values: f
                .values
                .map(|values| values.into_iter().map(|w| w.value).collect()),
            body: list(f.body.list),
        },
        ast::CompoundCommand::ArithmeticForClause(f) => Compound::ArithmeticFor {
            header: [f.initializer, f.condition, f.updater]
                .into_iter()
                .flatten()
                .map(|e| e.value)
                .collect::<Vec<_>>()
                .join(";"),
            body: list(f.body.list),
        },
        ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
            Compound::Loop {
                condition: list(w.0),
                body: list(w.1.list),
            }
        }
        ast::CompoundCommand::IfClause(i) => {
            let mut branches = vec![list(i.condition), list(i.then)];
            for e in i.elses.into_iter().flatten() {
                if let Some(c) = e.condition {
                    branches.push(list(c));
                }
                branches.push(list(e.body));
            }
            Compound::If(branches)
        }
        ast::CompoundCommand::CaseClause(c) => {
            let mut words = vec![c.value.value];
            let mut branches = Vec::new();
            for item in c.cases {
                words.extend(item.patterns.into_iter().map(|w| w.value));
                branches.extend(item.cmd.map(list));
            }
            Compound::Case { words, branches }
        }
        ast::CompoundCommand::Coprocess(c) => Compound::Coprocess(Box::new(command(*c.body))),
        ast::CompoundCommand::Arithmetic(a) => Compound::Arithmetic(a.expr.value),
    }
}

fn item(item: ast::CommandPrefixOrSuffixItem) -> Item {
    match item {
        ast::CommandPrefixOrSuffixItem::Word(w) => Item::Word(w.value),
        ast::CommandPrefixOrSuffixItem::AssignmentWord(a, w) => {
            let append = a.append;
            let (variable, array) = match (a.name, a.value) {
                (ast::AssignmentName::VariableName(n), ast::AssignmentValue::Scalar(v)) => {
                    (Some((n, v.value)), None)
                }
                (ast::AssignmentName::VariableName(n), ast::AssignmentValue::Array(items)) => (
                    None,
                    Some((n, items.into_iter().map(|(_, v)| v.value).collect())),
                ),
                _ => (None, None),
            };
            Item::Assignment(Box::new(Assignment {
                variable,
                array,
                append,
                word: w.value,
            }))
        }
        ast::CommandPrefixOrSuffixItem::IoRedirect(r) => Item::Redirect(redirect(r)),
        ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, sub) => {
            Item::ProcessSubstitution {
                read: matches!(kind, ast::ProcessSubstitutionKind::Read),
                script: list(sub.list),
            }
        }
    }
}

fn redirect(r: ast::IoRedirect) -> Redirect {
    match r {
        ast::IoRedirect::File(_, kind, target) => match target {
            ast::IoFileRedirectTarget::Filename(w)
                if matches!(
                    kind,
                    ast::IoFileRedirectKind::Write
                        | ast::IoFileRedirectKind::Append
                        | ast::IoFileRedirectKind::Clobber
                ) =>
            {
                Redirect::Write(w.value)
            }
            ast::IoFileRedirectTarget::Filename(w) | ast::IoFileRedirectTarget::Duplicate(w) => {
                Redirect::File(w.value)
            }
            ast::IoFileRedirectTarget::ProcessSubstitution(kind, sub) => {
                Redirect::ProcessSubstitution {
                    read: matches!(kind, ast::ProcessSubstitutionKind::Read),
                    script: list(sub.list),
                }
            }
            ast::IoFileRedirectTarget::Fd(_) => Redirect::Fd,
        },
        ast::IoRedirect::OutputAndError(w, _) => Redirect::OutputAndError(w.value),
        ast::IoRedirect::HereString(_, w) => Redirect::HereString(w.value),
        ast::IoRedirect::HereDocument(_, doc) => Redirect::HereDocument(doc.doc.value),
    }
}

fn piece(p: word::WordPiece) -> Piece {
    use word::WordPiece as W;
    match p {
        W::Text(t) => Piece::Text(t),
        W::SingleQuotedText(t) => Piece::SingleQuoted(t),
        W::AnsiCQuotedText(t) => Piece::AnsiC(t),
        W::EscapeSequence(t) => Piece::Escape(t),
        W::DoubleQuotedSequence(inner) | W::GettextDoubleQuotedSequence(inner) => {
            Piece::DoubleQuoted(inner.into_iter().map(|p| piece(p.piece)).collect())
        }
        W::TildeExpansion(_) => Piece::Tilde,
        W::ParameterExpansion(expr) => Piece::Parameter(parameter_expr(expr)),
        W::CommandSubstitution(script) => Piece::Substitution {
            script,
            backquoted: false,
        },
        W::BackquotedCommandSubstitution(script) => Piece::Substitution {
            script,
            backquoted: true,
        },
        W::ArithmeticExpression(e) => Piece::Arithmetic(e.value),
    }
}

/// Every word of a `[[ ... ]]` test, in order.
fn test_words(expr: ast::ExtendedTestExpr, out: &mut Vec<String>) {
    use ast::ExtendedTestExpr as E;
    match expr {
        E::And(a, b) | E::Or(a, b) => {
            test_words(*a, out);
            test_words(*b, out);
        }
        E::Not(e) | E::Parenthesized(e) => test_words(*e, out),
        E::UnaryTest(_, w) => out.push(w.value),
        E::BinaryTest(_, a, b) => {
            out.push(a.value);
            out.push(b.value);
        }
    }
}

fn parameter(p: word::Parameter) -> Parameter {
    use word::SpecialParameter as S;
    match p {
        word::Parameter::Named(n) => Parameter::Named(n),
        word::Parameter::Positional(n) => Parameter::Positional(n),
        word::Parameter::NamedWithIndex { name, index } => Parameter::Element(name, index),
        word::Parameter::NamedWithAllIndices { name, .. } => Parameter::AllElements(name),
        word::Parameter::Special(S::AllPositionalParameters { .. }) => Parameter::AllPositional,
        other => Parameter::Special(format!("${other}")),
    }
}

/// `${x#p}`, `${x##p}`, `${x%p}`, `${x%%p}`.
fn strip(pattern: Option<String>, longest: bool, prefix: bool) -> Operator {
    let pattern = pattern.unwrap_or_default();
    if prefix {
        Operator::StripPrefix { pattern, longest }
    } else {
        Operator::StripSuffix { pattern, longest }
    }
}

fn parameter_expr(expr: word::ParameterExpr) -> Parameter {
    use word::ParameterExpr as E;
    let on = |p: word::Parameter, indirect: bool, op: Operator| {
        if indirect {
            Parameter::Indirect
        } else {
            Parameter::Operator(Box::new((parameter(p), op)))
        }
    };
    match expr {
        E::Parameter {
            parameter: p,
            indirect,
        } => {
            if indirect {
                Parameter::Indirect
            } else {
                parameter(p)
            }
        }
        E::UseDefaultValues {
            parameter: p,
            indirect,
            default_value,
            ..
        } => on(
            p,
            indirect,
            Operator::Default(default_value.unwrap_or_default()),
        ),
        E::AssignDefaultValues {
            parameter: p,
            indirect,
            default_value,
            ..
        } => on(
            p,
            indirect,
            Operator::Assign(default_value.unwrap_or_default()),
        ),
        E::UseAlternativeValue {
            parameter: p,
            indirect,
            alternative_value,
            ..
        } => on(
            p,
            indirect,
            Operator::Alternative(alternative_value.unwrap_or_default()),
        ),
        E::IndicateErrorIfNullOrUnset {
            parameter: p,
            indirect,
            ..
        } => on(p, indirect, Operator::Error),
        E::ParameterLength {
            parameter: p,
            indirect,
        } => on(p, indirect, Operator::Length),
        E::RemoveSmallestSuffixPattern {
            parameter: p,
            indirect,
            pattern,
        } => on(p, indirect, strip(pattern, false, false)),
        E::RemoveLargestSuffixPattern {
            parameter: p,
            indirect,
            pattern,
        } => on(p, indirect, strip(pattern, true, false)),
        E::RemoveSmallestPrefixPattern {
            parameter: p,
            indirect,
            pattern,
        } => on(p, indirect, strip(pattern, false, true)),
        E::RemoveLargestPrefixPattern {
            parameter: p,
            indirect,
            pattern,
        } => on(p, indirect, strip(pattern, true, true)),
        E::Substring {
            parameter: p,
            indirect,
            offset,
            length,
        } => on(
            p,
            indirect,
            Operator::Substring(offset.value, length.map(|l| l.value)),
        ),
        E::Transform {
            parameter: p,
            indirect,
            op,
        } => on(
            p,
            indirect,
            match op {
                word::ParameterTransformOp::ToLowerCase => Operator::Lower,
                word::ParameterTransformOp::ToUpperCase => Operator::Upper,
                _ => Operator::Transform,
            },
        ),
        E::UppercaseFirstChar {
            parameter: p,
            indirect,
            ..
        }
        | E::UppercasePattern {
            parameter: p,
            indirect,
            ..
        } => on(p, indirect, Operator::Upper),
        E::LowercaseFirstChar {
            parameter: p,
            indirect,
            ..
        }
        | E::LowercasePattern {
            parameter: p,
            indirect,
            ..
        } => on(p, indirect, Operator::Lower),
        E::ReplaceSubstring {
            parameter: p,
            indirect,
            pattern,
            replacement,
            match_kind,
        } => on(
            p,
            indirect,
            Operator::Replace {
                pattern,
                replacement: replacement.unwrap_or_default(),
                all: matches!(match_kind, word::SubstringMatchKind::Anywhere),
                anchor: match match_kind {
                    word::SubstringMatchKind::Prefix => Some(Anchor::Prefix),
                    word::SubstringMatchKind::Suffix => Some(Anchor::Suffix),
                    _ => None,
                },
            },
        ),
        E::VariableNames { .. } | E::MemberKeys { .. } => Parameter::Indirect,
    }
}

/// Control characters other than tab and newline become spaces before parsing: brush-parser
/// 0.4's tokenizer loops forever on a here-document operator followed by `\r` or `\f` in some
/// contexts (found by cargo fuzz), and for detection a stray `\r` is whitespace anyway.
pub(super) fn without_control_characters(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Runs the parser so that a panic inside it (brush-parser 0.4 unwraps an over-long
/// redirection number, `99999999999> x`, found by cargo fuzz) is a parse failure, not a crash.
pub(super) fn shielded<T>(parse: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brush_word(raw: &str) -> Option<Vec<Piece>> {
        let pieces = shielded(|| word::parse(raw, &brush_parser::ParserOptions::default()).ok())
            .flatten()?;
        Some(pieces.into_iter().map(|p| piece(p.piece)).collect())
    }

    /// Plain words, blanks and now and then a reserved word, which must go to the parser.
    fn plain_text() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            8 => "[a-zA-Z0-9_./:,+@%^-]{1,12}",
            1 => prop::sample::select(RESERVED_FIRST_WORDS.to_vec()).prop_map(str::to_string),
        ];
        (prop::collection::vec(word, 0..6), "[ \t]{1,3}")
            .prop_map(|(words, blank)| words.join(&blank))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_plain_reading_is_the_parsers(text in plain_text()) {
            if let Some(fast) = plain_command(&text) {
                let parsed = parse_script_with_brush(&text);
                prop_assert_eq!(format!("{:?}", Some(fast)), format!("{:?}", parsed));
            }
            for w in text.split([' ', '\t']).filter(|w| !w.is_empty()) {
                prop_assert_eq!(
                    format!("{:?}", parse_word(w)),
                    format!("{:?}", brush_word(w))
                );
            }
        }
    }

    #[test]
    fn anything_the_shell_reads_specially_goes_to_the_parser() {
        for text in [
            "a=b cmd",
            "cmd > f",
            "a | b",
            "a; b",
            "echo $x",
            "echo ~",
            "echo *",
            "ls [ab]",
            "echo 'x'",
            "echo \"x\"",
            "a\\ b",
            "# c",
            "a && b",
            "(a)",
            "{ a; }",
            "! a",
            "time a",
            "if a",
            "a\nb",
            "echo `x`",
            "a &",
            "echo é",
        ] {
            assert!(plain_command(text).is_none(), "{text:?}");
        }
        assert!(plain_command("timeout 60 nmap -sT -p 1-1024 10.96.0.0/24").is_some());
        assert!(plain_command("   ").is_none());
    }
}
