//! What the decision log keeps of a command: secrets an operator typed into argv (bearer tokens,
//! `--password=`, `AWS_SECRET_ACCESS_KEY=`, private keys, passwords in URLs) are masked, and long
//! arguments are cut at a stated length. The log is read by more people than the secret's owner.

use std::sync::LazyLock;

use regex::Regex;

pub const MASK: &str = "[REDACTED]";
/// Bytes of argv kept per argument and in total.
pub const MAX_ARG_BYTES: usize = 1024;
pub const MAX_ARGV_BYTES: usize = 4096;

struct Pattern {
    regex: Regex,
    replacement: &'static str,
}

/// All patterns at once: most lines hold no secret, and one pass over them says so.
static ANY: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSet::new(PATTERNS.iter().map(|p| p.regex.as_str()))
        .expect("valid built-in patterns")
});

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let p = |regex: &str, replacement: &'static str| Pattern {
        regex: Regex::new(regex).expect("a valid built-in pattern"),
        replacement,
    };
    vec![
        // PEM private keys, whole or cut off.
        p(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            "-----BEGIN ${1}PRIVATE KEY-----[REDACTED]",
        ),
        // HTTP authorisation schemes.
        p(
            r"(?i)\b(bearer|basic|token)(\s+|%20)[A-Za-z0-9._~+/=-]{8,}",
            "$1$2[REDACTED]",
        ),
        // NAME=value where the name says secret: AWS_SECRET_ACCESS_KEY=, PGPASSWORD=, GITHUB_TOKEN=.
        p(
            r"(?i)\b([A-Z0-9_]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)[A-Z0-9_]*)=('[^']*'|\x22[^\x22]*\x22|\S+)",
            "$1=[REDACTED]",
        ),
        // --password=value, -password value is handled per argument below.
        p(
            r"(?i)(--?[a-z0-9-]*(?:password|passwd|passphrase|secret|token|api-?key|access-key|credentials?)[a-z0-9-]*)(=|\s+)('[^']*'|\x22[^\x22]*\x22|\S+)",
            "$1$2[REDACTED]",
        ),
        // scheme://user:password@host
        p(
            r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+):[^@\s/]+@",
            "$1:[REDACTED]@",
        ),
    ]
});

/// Options whose next argument is a secret.
fn secret_option(arg: &str) -> bool {
    let name = arg.trim_start_matches('-').to_ascii_lowercase();
    arg.starts_with('-')
        && !arg.contains('=')
        && [
            "password",
            "passwd",
            "passphrase",
            "secret",
            "token",
            "apikey",
            "api-key",
            "access-key",
            "credentials",
        ]
        .iter()
        .any(|k| name.contains(k))
}

/// Masks the secrets in one piece of text.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    if !ANY.is_match(text) {
        return out;
    }
    for p in PATTERNS.iter() {
        if p.regex.is_match(&out) {
            out = p.regex.replace_all(&out, p.replacement).into_owned();
        }
    }
    out
}

/// argv as the decision log keeps it, and the original length in bytes when it was cut.
pub fn argv_for_log(argv: &[String]) -> (Vec<String>, Option<usize>) {
    let original: usize = argv.iter().map(String::len).sum();
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut cut = false;
    let mut next_is_secret = false;
    for arg in argv {
        let masked = if next_is_secret {
            MASK.to_string()
        } else {
            redact(arg)
        };
        next_is_secret = secret_option(arg);
        let room = MAX_ARGV_BYTES.saturating_sub(total).min(MAX_ARG_BYTES);
        if room == 0 {
            cut = true;
            break;
        }
        let piece = if masked.len() > room {
            cut = true;
            let mut end = room;
            while !masked.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &masked[..end])
        } else {
            masked
        };
        total += piece.len();
        kept.push(piece);
    }
    (kept, cut.then_some(original))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secrets_are_masked_in_every_usual_spelling() {
        let cases = [
            (
                "curl -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiIs.abc' https://k",
                "eyJhbG",
            ),
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG aws s3 ls",
                "wJalr",
            ),
            ("PGPASSWORD='s3cr3t pw' psql", "s3cr3t"),
            ("mysqladmin --password=hunter22 status", "hunter22"),
            ("vault login --token s.abcdefgh12345", "s.abcdefgh"),
            (
                "git clone https://bob:ghp_abcdef123@github.example/x",
                "ghp_abcdef",
            ),
            (
                "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'",
                "MIIEow",
            ),
            (
                "printf '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk",
                "b3Blbn",
            ),
        ];
        for (text, secret) in cases {
            let masked = redact(text);
            assert!(!masked.contains(secret), "{text} -> {masked}");
            assert!(masked.contains(MASK), "{text} -> {masked}");
        }
    }

    #[test]
    fn ordinary_commands_are_kept() {
        for text in [
            "ps aux",
            "netstat -tuln",
            "kubectl get pods -n shop",
            "ls --color=auto /srv",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn a_secret_option_masks_the_next_argument() {
        let (kept, cut) = argv_for_log(&args(&[
            "mysql",
            "--password",
            "hunter22",
            "-e",
            "select 1",
        ]));
        assert_eq!(kept, args(&["mysql", "--password", MASK, "-e", "select 1"]));
        assert_eq!(cut, None);
    }

    #[test]
    fn long_argv_is_cut_and_its_length_kept() {
        let long = "a".repeat(10_000);
        let (kept, cut) = argv_for_log(&args(&["sh", "-c", &long, "x", "y"]));
        assert_eq!(cut, Some(10_000 + 2 + 2 + 2));
        assert!(kept[2].len() <= MAX_ARG_BYTES + '…'.len_utf8());
        let total: usize = kept.iter().map(String::len).sum();
        assert!(total <= MAX_ARGV_BYTES + 8, "{total}");
        let many: Vec<String> = (0..5000).map(|i| format!("arg{i}")).collect();
        let (kept, cut) = argv_for_log(&many);
        assert!(cut.is_some());
        assert!(kept.iter().map(String::len).sum::<usize>() <= MAX_ARGV_BYTES);
    }
}
