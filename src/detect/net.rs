//! Network destinations named in a command: URLs, `host:port`, bare hosts, compared as
//! normalised hosts (`crate::norm::host`).

use crate::norm::host::{host_key, HostKey};

/// A destination found in an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: HostKey,
    pub port: Option<u16>,
}

/// Splits `authority` (no scheme, no path) into host and port.
fn split_authority(authority: &str, lenient: bool) -> Option<Destination> {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = host_key(&authority[..=end], lenient)?;
        let port = authority[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok());
        return Some(Destination { host, port });
    }
    if authority.matches(':').count() > 1 {
        // Bare IPv6 without brackets.
        return host_key(authority, lenient).map(|host| Destination { host, port: None });
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, p.parse().ok()),
        None => (authority, None),
    };
    host_key(host, lenient).map(|host| Destination { host, port })
}

/// Ports given with a host the command line does not make known (`https://$NODE_IP:10250/pods`,
/// `${HOST}:2379`): the port alone says what is reached.
pub fn ports_of_unknown_hosts(arg: &str) -> Vec<u16> {
    arg.split(|c: char| c.is_whitespace() || c == '\u{22}' || c == '\'' || c == '=' || c == ',')
        .filter_map(|word| {
            let rest = word.split_once("://").map_or(word, |(_, rest)| rest);
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let authority = authority.rsplit('@').next().unwrap_or(authority);
            let (host, port) = authority.rsplit_once(':')?;
            host.starts_with('$').then(|| port.parse().ok()).flatten()
        })
        .collect()
}

/// Destinations named by one argument. `client` says the argument belongs to a network client,
/// where bare host names and unusual IP spellings are read as destinations; elsewhere only URLs
/// and standard IP literals are.
pub fn destinations(arg: &str, client: bool) -> Vec<Destination> {
    let mut found = Vec::new();
    for word in
        arg.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=' || c == ',')
    {
        if word.is_empty() || word.len() > 2048 {
            continue;
        }
        if let Some(idx) = scheme_end(word) {
            let rest = &word[idx + 3..];
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            found.extend(split_authority(authority, true));
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        // `/dev/tcp/HOST/PORT` is handled by the command analyser; here only host[:port][/path].
        if word.starts_with('/') {
            continue;
        }
        let authority = word.split('/').next().unwrap_or("");
        if let Some(d) = split_authority(authority, client) {
            found.push(d);
        }
    }
    found
}

/// Where `://` starts in a word, found by its `:` (a byte search): this runs for every word of
/// every argument, and a substring search costs its setup each time.
fn scheme_end(word: &str) -> Option<usize> {
    word.match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| word[i..].starts_with("://"))
}

/// URL paths named by one argument (`https://10.96.0.1/api/v1/secrets?limit=1` gives
/// `/api/v1/secrets`). For a network client's argument a URL without scheme counts too
/// (`curl kubernetes.default/api/v1/pods`, `curl $KUBERNETES_SERVICE_HOST/api`).
pub fn url_paths(arg: &str, client: bool) -> Vec<&str> {
    let mut found = Vec::new();
    for word in arg.split(|c: char| {
        c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '(' || c == ')'
    }) {
        let rest = match scheme_end(word) {
            Some(idx) => &word[idx + 3..],
            None if client && !word.starts_with(['-', '/']) => word,
            None => continue,
        };
        let Some(slash) = rest.find('/') else {
            continue;
        };
        let path = &rest[slash..];
        let path = path.split(['?', '#']).next().unwrap_or(path);
        found.push(path);
    }
    found
}

#[cfg(test)]
mod tests {

    #[test]
    fn url_paths_with_and_without_scheme() {
        assert_eq!(
            url_paths("https://10.96.0.1:443/api/v1/secrets?limit=1", false),
            vec!["/api/v1/secrets"]
        );
        assert_eq!(
            url_paths("kubernetes.default/api/v1/pods", true),
            vec!["/api/v1/pods"]
        );
        assert!(url_paths("kubernetes.default/api/v1/pods", false).is_empty());
        assert!(url_paths("/etc/passwd", true).is_empty());
        assert!(url_paths("--data=@x", true).is_empty());
    }
    use super::*;

    fn ip(s: &str) -> HostKey {
        HostKey::Ip(s.parse().unwrap())
    }

    #[test]
    fn every_spelling_of_the_metadata_address_is_the_same_host() {
        let want = ip("169.254.169.254");
        for spelling in [
            "169.254.169.254",
            "2852039166",
            "0xa9fea9fe",
            "0xA9FEA9FE",
            "0251.0376.0251.0376",
            "0xa9.0xfe.0xa9.0xfe",
            "169.254.43518",
            "169.16689662",
        ] {
            let got = destinations(&format!("http://{spelling}/latest/meta-data/"), false);
            assert_eq!(got.first().map(|d| &d.host), Some(&want), "{spelling}");
        }
        let got = destinations("http://[::ffff:169.254.169.254]/", false);
        assert_eq!(got[0].host, want);
        let got = destinations("http://[::ffff:a9fe:a9fe]:80/", false);
        assert_eq!(got[0].host, want);
        assert_eq!(got[0].port, Some(80));
    }

    #[test]
    fn ipv6_metadata_and_names() {
        let got = destinations("http://[fd00:ec2::254]/latest/", false);
        assert_eq!(got[0].host, ip("fd00:ec2::254"));
        let got = destinations(
            "http://Metadata.Google.Internal./computeMetadata/v1/",
            false,
        );
        assert_eq!(
            got[0].host,
            HostKey::Name("metadata.google.internal".into())
        );
        let got = destinations("user:pw@10.0.0.1:10250", true);
        assert_eq!(got[0].host, ip("10.0.0.1"));
        assert_eq!(got[0].port, Some(10250));
    }

    #[test]
    fn bare_names_only_count_for_network_clients() {
        assert!(destinations("metadata", false).is_empty());
        assert_eq!(
            destinations("metadata", true)[0].host,
            HostKey::Name("metadata".into())
        );
        // A big number outside a client or URL is not an address.
        assert!(destinations("2852039166", false).is_empty());
        assert!(destinations("-c", true).is_empty());
    }
}
