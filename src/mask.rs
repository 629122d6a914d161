//! Credentials masked out of every text that leaves reconguard. A command line quoted in a
//! finding can carry a token or a password (`curl -H "Authorization: Bearer ..."`,
//! `mysql --password=...`), and what reconguard writes is read by more people than the secret's
//! owner: the API server's audit log keeps the response's message and warnings, Events are
//! readable by whoever may describe the pod, PolicyReports by whoever may list them.
//!
//! Findings are masked when they are made (`decision::decide`), so every output built from them
//! is; the outputs that also carry text of their own (the decision log's argv and proxy path,
//! error messages, Event notes, `validate`'s example lines) pass it through [`text`] too.
//! Pure: the patterns are constants, compiled once.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

pub const MASK: &str = "[REDACTED]";

/// One credential form the masking knows.
struct Form {
    name: &'static str,
    regex: Regex,
    replacement: &'static str,
}

static FORMS: LazyLock<Vec<Form>> = LazyLock::new(|| {
    let form = |name, regex: &str, replacement| Form {
        name,
        regex: Regex::new(regex).expect("a valid built-in pattern"),
        replacement,
    };
    vec![
        // PEM private keys, whole or cut off.
        form(
            "pem-private-key",
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            "-----BEGIN ${1}PRIVATE KEY-----[REDACTED]${2}",
        ),
        // HTTP authorisation schemes: `Authorization: Bearer ...`, `Basic ...`, `token ...`.
        form(
            "authorization-scheme",
            r"(?i)\b(bearer|basic|token)(\s+|%20)[A-Za-z0-9._~+/=-]{8,}",
            "$1$2[REDACTED]",
        ),
        // Headers that carry a key by themselves: X-Vault-Token, Private-Token, X-API-Key...
        form(
            "secret-header",
            r"(?i)\b((?:x-)?(?:[a-z]+-)*(?:api-?key|auth-token|vault-token|private-token|access-token|security-token|session-token))(\s*:\s*)('[^']*'|\x22[^\x22]*\x22|\S+)",
            "$1$2[REDACTED]",
        ),
        // NAME=value where the name says secret: AWS_SECRET_ACCESS_KEY=, PGPASSWORD=, ?token=.
        form(
            "secret-variable",
            r"(?i)\b([A-Z0-9_]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)[A-Z0-9_]*)=('[^']*'|\x22[^\x22]*\x22|[^\s&]+)",
            "$1=[REDACTED]",
        ),
        // --password=value and --password value (one text; in argv, see `argv`).
        form(
            "secret-option",
            r"(?i)(--?[a-z0-9-]*(?:password|passwd|passphrase|secret|token|api-?key|access-key|credentials?)[a-z0-9-]*)(=|\s+)('[^']*'|\x22[^\x22]*\x22|\S+)",
            "$1$2[REDACTED]",
        ),
        // scheme://user:password@host, also when a shortened text ends inside the password.
        form(
            "url-password",
            r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+):[^@\s/]+(@|…)",
            "$1:[REDACTED]$2",
        ),
        // JSON Web Tokens (service-account tokens, OIDC tokens) wherever they stand.
        form(
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
            "[REDACTED]",
        ),
        // AWS access key ids (long-term and temporary).
        form(
            "aws-access-key-id",
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b",
            "[REDACTED]",
        ),
        // GitHub and GitLab tokens, recognisable by their prefix.
        form(
            "forge-token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,})",
            "[REDACTED]",
        ),
    ]
});

/// All forms at once: most texts hold no secret, and one pass says so.
static ANY: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(FORMS.iter().map(|f| f.regex.as_str())).expect("valid built-in patterns")
});

/// The names of the forms [`text`] masks, for tests that send each through every output.
pub fn forms() -> Vec<&'static str> {
    let mut names: Vec<&str> = FORMS.iter().map(|f| f.name).collect();
    names.push(SECRET_OPTION_ARGUMENT);
    names
}

/// The form only an argv shows: an option whose next argument is the secret.
pub const SECRET_OPTION_ARGUMENT: &str = "secret-option-argument";

/// `text` with every credential it holds masked; borrowed when there was none.
pub fn text(text: &str) -> Cow<'_, str> {
    // Most texts hold no credential: the yes-or-no search stops early and skips the
    // overlapping search that says which forms matched.
    if !ANY.is_match(text) {
        return Cow::Borrowed(text);
    }
    let matched = ANY.matches(text);
    let mut out = text.to_string();
    for (i, form) in FORMS.iter().enumerate() {
        // Replacements add only the mask, which no form looks for: a form that did not match
        // the original cannot match what earlier forms left.
        if matched.matched(i) {
            out = form.regex.replace_all(&out, form.replacement).into_owned();
        }
    }
    Cow::Owned(out)
}

/// Text that has been through [`text`]. Findings carry their message as one, so no output
/// built from a finding can skip the masking.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Masked(String);

impl Masked {
    pub fn new(raw: &str) -> Masked {
        Masked(text(raw).into_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Masked {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Masked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Options whose next argument is a secret (`--password hunter2`, `-token abc`).
fn secret_option(arg: &str) -> bool {
    const NAMES: [&str; 9] = [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "api-key",
        "access-key",
        "credentials",
    ];
    let name = arg.trim_start_matches('-').to_ascii_lowercase();
    arg.starts_with('-') && !arg.contains('=') && NAMES.iter().any(|k| name.contains(k))
}

/// An argv with each argument masked, and the argument after a secret option replaced whole.
pub fn argv(argv: &[String]) -> Vec<String> {
    let mut next_is_secret = false;
    argv.iter()
        .map(|arg| {
            let masked = if next_is_secret {
                MASK.to_string()
            } else {
                text(arg).into_owned()
            };
            next_is_secret = secret_option(arg);
            masked
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    /// One text per form, with the secret it carries.
    fn samples() -> Vec<(&'static str, String, &'static str)> {
        vec![
            (
                "authorization-scheme",
                "curl -H 'Authorization: Bearer abcDEF123.ghiJKL456' https://k".into(),
                "abcDEF123",
            ),
            (
                "secret-header",
                "curl -H \"X-Vault-Token: hvs.CAESIJx9\" https://vault:8200".into(),
                "hvs.CAESIJx9",
            ),
            (
                "secret-variable",
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG aws s3 ls".into(),
                "wJalr",
            ),
            ("secret-variable", "PGPASSWORD='s3cr3t pw' psql".into(), "s3cr3t"),
            (
                "secret-option",
                "mysqladmin --password=hunter22 status".into(),
                "hunter22",
            ),
            (
                "secret-option",
                "vault login --token s.abcdefgh12345".into(),
                "s.abcdefgh",
            ),
            (
                "url-password",
                "git clone https://bob:ghp_abcdef123@github.example/x".into(),
                "ghp_abcdef",
            ),
            (
                "url-password",
                format!("redis-cli -u redis://app:Sup3rPass{}", '…'),
                "Sup3rPass",
            ),
            (
                "pem-private-key",
                "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'"
                    .into(),
                "MIIEow",
            ),
            (
                "pem-private-key",
                "printf '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk".into(),
                "b3Blbn",
            ),
            (
                "jwt",
                "kubectl get pods --server https://10.0.0.1 -H x:eyJhbGciOiJSUzI1.eyJpc3MiOiJrdWJl.c2ln"
                    .into(),
                "eyJpc3MiOiJrdWJl",
            ),
            (
                "aws-access-key-id",
                "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE".into(),
                "AKIAIOSFODNN7EXAMPLE",
            ),
            (
                "forge-token",
                "git push https://x@github.example ghp_0123456789abcdefghijABCDEFGHIJ0123".into(),
                "ghp_0123456789",
            ),
        ]
    }

    #[test]
    fn every_form_is_masked_by_its_own_pattern() {
        let mut seen = std::collections::BTreeSet::new();
        for (form, sample, secret) in samples() {
            let i = FORMS.iter().position(|f| f.name == form).unwrap();
            assert!(
                FORMS[i].regex.is_match(&sample),
                "{form} must match {sample}"
            );
            let masked = text(&sample);
            assert!(!masked.contains(secret), "{sample} -> {masked}");
            assert!(masked.contains(MASK), "{sample} -> {masked}");
            seen.insert(form);
        }
        let known: std::collections::BTreeSet<&str> = FORMS.iter().map(|f| f.name).collect();
        assert_eq!(seen, known, "every form has a sample");
    }

    #[test]
    fn ordinary_text_is_kept_and_borrowed() {
        for t in [
            "ps aux",
            "netstat -tuln",
            "kubectl get pods -n shop",
            "ls --color=auto /srv",
            "reads the service account token: cat /var/run/secrets/kubernetes.io/serviceaccount/token",
            "curl https://kubernetes.default/api/v1/namespaces/shop/secrets",
        ] {
            assert!(matches!(text(t), Cow::Borrowed(_)), "{t} -> {}", text(t));
        }
    }

    #[test]
    fn masking_twice_changes_nothing_more() {
        for (_, sample, _) in samples() {
            let once = text(&sample).into_owned();
            assert_eq!(text(&once), once);
        }
    }

    #[test]
    fn a_secret_option_masks_the_next_argument() {
        let kept = argv(&args(&[
            "mysql",
            "--password",
            "hunter22",
            "-e",
            "select 1",
        ]));
        assert_eq!(kept, args(&["mysql", "--password", MASK, "-e", "select 1"]));
        let kept = argv(&args(&[
            "curl",
            "-H",
            "Authorization: Bearer abcdefgh1234",
            "k",
        ]));
        assert_eq!(kept[2], "Authorization: Bearer [REDACTED]");
    }
}
