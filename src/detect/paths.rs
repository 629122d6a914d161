//! Host and container path normalisation. Paths are judged after `//`, `/./`, `/../` and trailing
//! slashes are resolved and `/var/run` is read as `/run` (a symlink on every current distribution),
//! so spelling a path differently never changes its score.

use crate::policy::load::HostPathEntry;

/// An absolute path as a list of normal components; the root is the empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPath(Vec<String>);

impl HostPath {
    /// Parses an absolute path; relative paths (which Kubernetes rejects for hostPath) give None.
    pub fn parse(raw: &str) -> Option<HostPath> {
        let raw = raw.trim();
        if !raw.starts_with('/') {
            return None;
        }
        let mut parts: Vec<String> = Vec::new();
        for comp in raw.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other.to_string()),
            }
        }
        if parts.len() >= 2 && parts[0] == "var" && parts[1] == "run" {
            parts.remove(0);
        }
        Some(HostPath(parts))
    }

    pub fn components(&self) -> &[String] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for HostPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for c in &self.0 {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// How a mounted path relates to a catalogue entry.
fn relates(mount: &HostPath, entry: &HostPathEntry) -> bool {
    let m = mount.components();
    let e = &entry.components;
    let common = m.len().min(e.len());
    let prefix_matches = m[..common]
        .iter()
        .zip(&e[..common])
        .all(|(have, want)| want.matches(have));
    if !prefix_matches {
        return false;
    }
    match m.len().cmp(&e.len()) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Greater => entry.below,
        std::cmp::Ordering::Less => entry.above,
    }
}

/// Catalogue entries that a mounted host path exposes, in catalogue order.
pub fn matching_entries<'p>(
    mount: &HostPath,
    entries: &'p [HostPathEntry],
) -> impl Iterator<Item = &'p HostPathEntry> {
    let mount = mount.clone();
    entries.iter().filter(move |e| relates(&mount, e))
}

/// Normalises a path named inside a command (`cat /etc/../etc//passwd`) for glob matching.
/// `~/x` is kept as written so `**/x` patterns still match it.
pub fn normalise_command_path(raw: &str) -> Option<String> {
    if raw.starts_with("~/") || raw == "~" {
        return Some(raw.to_string());
    }
    HostPath::parse(raw).map(|p| p.to_string())
}

/// Path-like fragments inside one argument: `--unix-socket=/run/docker.sock`,
/// `UNIX-CONNECT:/var/run/docker.sock`, `file:///etc/passwd`, `/proc/1/environ`.
pub fn path_candidates(arg: &str) -> impl Iterator<Item = String> + '_ {
    arg.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '=' | ':' | ',' | ';' | '\'' | '"' | '<' | '>' | '|' | '(' | ')' | '@' | '`'
            )
    })
    .filter(|frag| frag.starts_with('/') || frag.starts_with("~/"))
    .filter_map(normalise_command_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_spellings_of_the_same_path() {
        for raw in [
            "/var/run/docker.sock",
            "/run/docker.sock",
            "//var//run/./docker.sock",
            "/var/lib/../run/docker.sock",
            "/run/docker.sock/",
        ] {
            assert_eq!(
                HostPath::parse(raw).unwrap().to_string(),
                "/run/docker.sock",
                "{raw}"
            );
        }
        assert!(HostPath::parse("/").unwrap().is_root());
        assert!(HostPath::parse("/..").unwrap().is_root());
        assert!(HostPath::parse("/../../").unwrap().is_root());
        assert_eq!(HostPath::parse("relative/path"), None);
    }

    #[test]
    fn finds_paths_inside_arguments() {
        let found: Vec<String> = path_candidates("--unix-socket=/var/run/docker.sock").collect();
        assert_eq!(found, vec!["/run/docker.sock"]);
        let found: Vec<String> = path_candidates("UNIX-CONNECT:/var/run/crio/crio.sock").collect();
        assert_eq!(found, vec!["/run/crio/crio.sock"]);
        let found: Vec<String> = path_candidates("file:///etc/passwd").collect();
        assert_eq!(found, vec!["/etc/passwd"]);
        let found: Vec<String> = path_candidates("~/.kube/config").collect();
        assert_eq!(found, vec!["~/.kube/config"]);
        assert_eq!(path_candidates("hello world").count(), 0);
    }
}
