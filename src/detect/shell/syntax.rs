//! brush-parser behind guards: parser panics become parse failures, control characters are
//! spaces, here-documents are never given to it. Callers check nesting and the work budget
//! first (`Analyser::unparseable`).

use brush_parser::{ast, word};

/// A shell word's pieces, if it parses. Callers check nesting and budget first.
pub(super) fn parse_word(raw: &str) -> Option<Vec<word::WordPieceWithSource>> {
    let raw = without_control_characters(raw);
    shielded(|| word::parse(&raw, &brush_parser::ParserOptions::default()).ok()).flatten()
}

/// A script's syntax tree, if it parses. Callers check nesting and budget first.
pub(super) fn parse_script(text: &str) -> Option<ast::Program> {
    if text.contains("<<") {
        return None;
    }
    let text = without_control_characters(text);
    let options = brush_parser::ParserOptions::default();
    shielded(|| {
        brush_parser::Parser::new(std::io::Cursor::new(text.as_bytes()), &options)
            .parse_program()
            .ok()
    })
    .flatten()
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
