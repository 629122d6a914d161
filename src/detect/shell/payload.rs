//! Encoded payloads and inline code: base64 and hex arguments that decode to readable text,
//! `$'...'` escapes, and the string literals of interpreter one-liners.

use base64::Engine as _;

const MIN_PAYLOAD_LEN: usize = 12;

/// Bash `$'...'` escapes.
pub fn ansi_c_unescape(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'e' | b'E' => out.push(27),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'x' => {
                let hex: String = s[i..]
                    .chars()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .collect();
                i += hex.len();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'x'));
            }
            b'0'..=b'7' => {
                let oct: String = std::iter::once(c as char)
                    .chain(
                        s[i..]
                            .chars()
                            .take(2)
                            .take_while(|c| ('0'..='7').contains(c)),
                    )
                    .collect();
                i += oct.len() - 1;
                out.push(u8::from_str_radix(&oct, 8).unwrap_or(0));
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Quoted string literals in interpreter code (`'...'`, `"..."`), unescaped loosely.
pub(super) fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(n) = chars.next() {
            if n == '\\' {
                if let Some(e) = chars.next() {
                    lit.push(e);
                }
                continue;
            }
            if n == c {
                break;
            }
            lit.push(n);
        }
        if !lit.is_empty() {
            out.push(lit);
        }
        if out.len() >= 64 {
            break;
        }
    }
    out
}

/// A base64 or hex payload that decodes to readable text worth analysing.
pub fn decode(arg: &str) -> Option<(&'static str, String)> {
    let trimmed = arg.trim();
    if trimmed.len() < MIN_PAYLOAD_LEN {
        return None;
    }
    let readable = |bytes: Vec<u8>| -> Option<String> {
        let text = String::from_utf8(bytes).ok()?;
        let printable = text
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .count();
        let shaped = text.contains(' ') || text.contains('/');
        (printable * 100 >= text.chars().count() * 95 && shaped && !text.trim().is_empty())
            .then_some(text)
    };
    if trimmed.contains("\\x") {
        let hex: String = trimmed
            .split("\\x")
            .skip(1)
            .filter_map(|h| h.get(..2))
            .collect();
        if hex.len() >= 8 {
            if let Some(t) = hex_decode(&hex).and_then(readable) {
                return Some(("hex", t));
            }
        }
    }
    if trimmed.len() % 2 == 0 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Some(t) = hex_decode(trimmed).and_then(readable) {
            return Some(("hex", t));
        }
    }
    let b64 = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if b64 && !trimmed.starts_with('/') {
        let unpadded = trimmed.trim_end_matches('=');
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            if let Ok(bytes) = engine.decode(unpadded) {
                if let Some(t) = readable(bytes) {
                    return Some(("base64", t));
                }
            }
        }
    }
    None
}

pub(super) fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}
