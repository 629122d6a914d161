//! Constant folding: what a pipeline stage prints when its output depends only on its
//! arguments and its (known) input: `echo`, `printf`, `base64 -d`, `xxd -r -p`, `rev`, `cat`.
//! This is how `echo pamn | rev | sh` is read as `nmap`.

use base64::Engine as _;

use super::basename;
use super::payload::{ansi_c_unescape, hex_decode};

/// Text flowing through a pipeline; `decoded` once a stage transformed it (base64, hex, rev,
/// escape sequences), which is how payloads are hidden.
#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub(super) text: String,
    pub(super) decoded: bool,
}

/// What a stage prints when its output depends only on its arguments and its (known) input.
pub(super) fn constant_output(argv: &[String], input: Option<Flow>) -> Option<Flow> {
    let (first, args) = argv.split_first()?;
    let has = |flags: &[&str]| args.iter().any(|a| flags.contains(&a.as_str()));
    let was_decoded = input.as_ref().is_some_and(|f| f.decoded);
    let input = input.map(|f| f.text);
    let decoded = |text: String| {
        Some(Flow {
            text,
            decoded: true,
        })
    };
    match basename(first) {
        "echo" => {
            let words: Vec<&str> = args
                .iter()
                .map(String::as_str)
                .skip_while(|a| matches!(*a, "-n" | "-e" | "-E" | "-ne" | "-en"))
                .collect();
            let text = words.join(" ");
            let unescaped = if has(&["-e", "-ne", "-en"]) {
                ansi_c_unescape(&text)
            } else {
                text.clone()
            };
            Some(Flow {
                decoded: unescaped != text,
                text: unescaped,
            })
        }
        "printf" => {
            let format = args.first()?;
            let unescaped = ansi_c_unescape(format);
            let decoded = unescaped != *format;
            let mut text = unescaped;
            for value in &args[1..] {
                text = text.replacen("%s", value, 1);
            }
            Some(Flow { text, decoded })
        }
        "base64" if has(&["-d", "--decode", "-D"]) => {
            let cleaned: String = input?.split_whitespace().collect();
            let cleaned = cleaned.trim_end_matches('=');
            let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(cleaned.as_bytes())
                .or_else(|_| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.as_bytes())
                })
                .ok()?;
            decoded(String::from_utf8(bytes).ok()?)
        }
        "xxd" if has(&["-r"]) && has(&["-p", "-ps", "-plain"]) => {
            let hex: String = input?.split_whitespace().collect();
            decoded(String::from_utf8(hex_decode(&hex)?).ok()?)
        }
        "rev" if args.is_empty() => decoded(
            input?
                .lines()
                .map(|l| l.chars().rev().collect::<String>())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        "cat" if args.is_empty() => Some(Flow {
            text: input?,
            decoded: was_decoded,
        }),
        _ => None,
    }
}
