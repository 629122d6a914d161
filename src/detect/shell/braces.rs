//! Brace expansion, as bash does it before every other expansion: `{a,b}` alternatives and
//! `{1..5}`, `{a..e}`, `{1..9..2}` sequences, nested, outside quotes and not after `$`. The
//! number of words is known before any is built, so a brace bomb (`{1..1000000000000}`, a
//! product of many pairs) is refused with its size instead of being generated.

/// The words `word` expands to (quotes kept: the words are parsed again), or the number of
/// words when it is more than `max`.
pub(super) fn expand(word: &str, max: usize) -> Result<Vec<String>, u128> {
    if !word.contains('{') {
        return Ok(vec![word.to_string()]);
    }
    if unquoted_braces(word) > MAX_BRACES {
        return Err(u128::MAX);
    }
    let count = count(word, 0);
    if count > max as u128 {
        return Err(count);
    }
    Ok(build(word, 0))
}

/// A brace expression found at the top level of a word.
struct Braces<'a> {
    prefix: &'a str,
    body: Body<'a>,
    suffix: &'a str,
}

enum Body<'a> {
    Alternatives(Vec<&'a str>),
    Sequence(Vec<String>),
    /// A sequence too long to list: its length.
    LongSequence(u128),
}

/// Words a sequence may list; longer ones are only counted.
const MAX_SEQUENCE: u128 = 1 << 16;

/// Nesting deeper than this is left unexpanded (bounds the recursion).
const MAX_DEPTH: usize = 16;

/// Braces a word may hold: beyond, finding their pairs costs too much, and the word is refused
/// as a bomb would be.
const MAX_BRACES: usize = 256;

/// The number of words: the product over the word's brace groups, each the sum over its
/// alternatives (nested groups counted the same way).
fn count(word: &str, depth: usize) -> u128 {
    if depth > MAX_DEPTH {
        return 1;
    }
    let mut total = 1u128;
    let mut rest = word;
    while let Some(b) = find(rest) {
        let body: u128 = match &b.body {
            Body::Alternatives(alts) => alts
                .iter()
                .map(|a| count(a, depth + 1))
                .fold(0u128, |s, n| s.saturating_add(n)),
            Body::Sequence(items) => items.len() as u128,
            Body::LongSequence(n) => *n,
        };
        total = total.saturating_mul(body);
        rest = b.suffix;
    }
    total
}

fn build(word: &str, depth: usize) -> Vec<String> {
    if depth > MAX_DEPTH {
        return vec![word.to_string()];
    }
    let mut words = vec![String::new()];
    let mut rest = word;
    while let Some(b) = find(rest) {
        let middles: Vec<String> = match b.body {
            Body::Alternatives(alts) => alts.iter().flat_map(|a| build(a, depth + 1)).collect(),
            Body::Sequence(items) => items,
            Body::LongSequence(_) => break,
        };
        words = words
            .iter()
            .flat_map(|w| middles.iter().map(move |m| format!("{w}{}{m}", b.prefix)))
            .collect();
        rest = b.suffix;
    }
    for w in &mut words {
        w.push_str(rest);
    }
    words
}

/// The bytes of `text` that stand outside quotes and are not escaped, with their offsets: the
/// only ones brace expansion reads.
fn unquoted(text: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let mut quote: Option<u8> = None;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < text.len() {
            let (at, c) = (i, text[i]);
            match quote {
                Some(q) if c == b'\\' && q == b'"' => i += 2,
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                    i += 1;
                }
                None => match c {
                    b'\\' => i += 2,
                    b'\'' | b'"' => {
                        quote = Some(c);
                        i += 1;
                    }
                    _ => {
                        i += 1;
                        return Some((at, c));
                    }
                },
            }
        }
        None
    })
}

/// How many `{` stand outside quotes (a quoted JSON document is no brace expression).
fn unquoted_braces(word: &str) -> usize {
    unquoted(word.as_bytes())
        .filter(|(_, c)| *c == b'{')
        .count()
}

/// The first brace expression at the top level of `word`, outside quotes, not `${`.
fn find(word: &str) -> Option<Braces<'_>> {
    let bytes = word.as_bytes();
    for (i, c) in unquoted(bytes) {
        if c != b'{' || (i > 0 && bytes[i - 1] == b'$') {
            continue;
        }
        let Some(close) = matching(bytes, i) else {
            continue;
        };
        if let Some(body) = parse_body(&word[i + 1..close]) {
            return Some(Braces {
                prefix: &word[..i],
                body,
                suffix: &word[close + 1..],
            });
        }
    }
    None
}

/// The `}` closing the `{` at `open`, skipping nested braces and quotes.
fn matching(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in unquoted(&bytes[open..]) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Alternatives split at top-level commas, or a sequence; `None` when the braces are literal.
fn parse_body(body: &str) -> Option<Body<'_>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in unquoted(body.as_bytes()) {
        match c {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !parts.is_empty() {
        parts.push(&body[start.min(body.len())..]);
        return Some(Body::Alternatives(parts));
    }
    sequence(body)
}

/// `a..e`, `1..10`, `1..10..3`, `-5..5`.
fn sequence(body: &str) -> Option<Body<'static>> {
    let parts: Vec<&str> = body.split("..").collect();
    let (from, to, step) = match parts.as_slice() {
        [a, b] => (*a, *b, None),
        [a, b, s] => (*a, *b, Some(*s)),
        _ => return None,
    };
    let step: i128 = match step {
        Some(s) => s.parse::<i128>().ok()?.unsigned_abs().max(1) as i128,
        None => 1,
    };
    if let (Ok(a), Ok(b)) = (from.parse::<i128>(), to.parse::<i128>()) {
        let n = (a - b).unsigned_abs() / step as u128 + 1;
        if n > MAX_SEQUENCE {
            return Some(Body::LongSequence(n));
        }
        let dir = if b >= a { step } else { -step };
        let mut items = Vec::with_capacity(n as usize);
        let mut x = a;
        for _ in 0..n {
            items.push(x.to_string());
            x += dir;
        }
        return Some(Body::Sequence(items));
    }
    let (mut fa, mut fb) = (from.chars(), to.chars());
    if let (Some(a), None, Some(b), None) = (fa.next(), fa.next(), fb.next(), fb.next()) {
        if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() {
            let (a, b) = (a as u8 as i128, b as u8 as i128);
            let dir = if b >= a { step } else { -step };
            let mut items = Vec::new();
            let mut x = a;
            while (dir > 0 && x <= b) || (dir < 0 && x >= b) {
                items.push(((x as u8) as char).to_string());
                x += dir;
            }
            return Some(Body::Sequence(items));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &str) -> Vec<String> {
        expand(w, 1000).unwrap()
    }

    #[test]
    fn alternatives_sequences_and_nesting_expand_as_bash_does() {
        assert_eq!(words("nm{ap,}"), ["nmap", "nm"]);
        assert_eq!(words("{nmap,true}"), ["nmap", "true"]);
        assert_eq!(words("a{1..3}"), ["a1", "a2", "a3"]);
        assert_eq!(words("{c..a}"), ["c", "b", "a"]);
        assert_eq!(words("{1..9..4}"), ["1", "5", "9"]);
        assert_eq!(words("x{a,b{1,2}}y"), ["xay", "xb1y", "xb2y"]);
        assert_eq!(words("{a,b}{1,2}"), ["a1", "a2", "b1", "b2"]);
    }

    #[test]
    fn literal_braces_stay() {
        for w in [
            "${x}",
            "'{a,b}'",
            "\"{a,b}\"",
            "{a}",
            "{}",
            "a\\{b,c}",
            "{a..}",
        ] {
            assert_eq!(words(w), [w], "{w}");
        }
    }

    #[test]
    fn bombs_are_counted_not_built() {
        assert_eq!(
            expand("{1..1000000000000000000}", 100),
            Err(1_000_000_000_000_000_000)
        );
        let product = "{a,b}".repeat(64);
        assert_eq!(expand(&product, 100), Err(1u128 << 64));
        assert_eq!(expand(&"{".repeat(300), 100), Err(u128::MAX));
        let json = format!("'{}'", "{\"a\":".repeat(300));
        assert_eq!(expand(&json, 100), Ok(vec![json.clone()]));
    }
}
