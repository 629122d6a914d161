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
    // `command printf ...`, `builtin echo ...`: the builtin itself.
    if matches!(basename(first), "command" | "builtin")
        && args.first().is_some_and(|a| !a.starts_with('-'))
    {
        return constant_output(args, input);
    }
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
            let mut decoded = decoded;
            for value in &args[1..] {
                // `%b` prints its argument with escapes read: `printf %b '\x6e\x6d...'`.
                let (at_s, at_b) = (text.find("%s"), text.find("%b"));
                match (at_s, at_b) {
                    (Some(s), Some(b)) if b < s => {
                        let unescaped = percent_b_unescape(value);
                        decoded |= unescaped != *value;
                        text = text.replacen("%b", &unescaped, 1);
                    }
                    (None, Some(_)) => {
                        let unescaped = percent_b_unescape(value);
                        decoded |= unescaped != *value;
                        text = text.replacen("%b", &unescaped, 1);
                    }
                    _ => text = text.replacen("%s", value, 1),
                }
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
        "tr" => decoded(translate(args, &input?)?),
        _ => None,
    }
}

/// printf's `%b` argument: escapes as in `$'...'`, except that octal is written `\0NNN`.
fn percent_b_unescape(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut rewritten = String::with_capacity(value.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'0') {
            let digits: String = chars[i + 2..]
                .iter()
                .take(3)
                .take_while(|c| c.is_digit(8))
                .collect();
            rewritten.push('\\');
            rewritten.push_str(if digits.is_empty() { "0" } else { &digits });
            i += 2 + digits.len();
            continue;
        }
        rewritten.push(chars[i]);
        i += 1;
    }
    ansi_c_unescape(&rewritten)
}

/// `tr SET1 SET2` and `tr -d SET`, with ranges, escapes and the case classes; `None` for what
/// it does not model (complements, other classes).
fn translate(args: &[String], input: &str) -> Option<String> {
    let (delete, sets): (bool, Vec<&String>) = match args {
        [flag, set] if flag == "-d" => (true, vec![set]),
        [a, b] if !a.starts_with('-') => (false, vec![a, b]),
        _ => return None,
    };
    let from = tr_set(sets[0])?;
    if delete {
        return Some(input.chars().filter(|c| !from.contains(c)).collect());
    }
    let to = tr_set(sets[1])?;
    let last = *to.last()?;
    Some(
        input
            .chars()
            .map(|c| match from.iter().position(|f| *f == c) {
                Some(i) => to.get(i).copied().unwrap_or(last),
                None => c,
            })
            .collect(),
    )
}

/// The characters of a `tr` set, in order.
fn tr_set(set: &str) -> Option<Vec<char>> {
    let set = set
        .replace("[:lower:]", "a-z")
        .replace("[:upper:]", "A-Z")
        .replace("[:digit:]", "0-9");
    if set.contains("[:") || set.len() > 256 {
        return None;
    }
    let chars: Vec<char> = ansi_c_unescape(&set).chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i] <= chars[i + 2] {
            out.extend(chars[i]..=chars[i + 2]);
            i += 3;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Some(out)
}
