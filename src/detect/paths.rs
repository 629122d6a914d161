//! Paths in pod specs and commands against the host-path catalogue, after normalisation
//! (`crate::norm::host_path`).

use std::borrow::Cow;

use super::catalogue::HostPathEntry;
use crate::norm::host_path::HostPath;

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
/// `UNIX-CONNECT:/var/run/docker.sock`, `file:///etc/passwd`, `/proc/1/environ`. Relative
/// fragments (`release_agent`, `./kernel/core_pattern`) are kept without their `./`: only
/// `**/` patterns can match them, which is how `cd /proc/sys/kernel; echo x > core_pattern` is
/// still seen.
pub fn path_candidates(arg: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    arg.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '=' | ':' | ',' | ';' | '\'' | '"' | '<' | '>' | '|' | '(' | ')' | '@' | '`'
            )
    })
    .filter_map(|frag| {
        if frag.starts_with('/') || frag.starts_with("~/") {
            normalise_command_path(frag).map(Cow::Owned)
        } else {
            relative(frag)
        }
    })
}

/// A relative name as written (most words: no copy), or a relative path without `.` and empty
/// components.
fn relative(frag: &str) -> Option<Cow<'_, str>> {
    // `$d/w/notify_on_release`, `${MOUNT}/release_agent`: a directory the script does not make
    // known, and a name below it that `**/` patterns still match.
    if let Some(rest) = frag.strip_prefix('$') {
        let (_, below) = rest.split_once('/')?;
        return relative(below);
    }
    if frag.is_empty() || frag.starts_with('-') || frag == "." {
        return None;
    }
    if !frag.contains('/') {
        return Some(Cow::Borrowed(frag));
    }
    let parts: Vec<&str> = frag
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    (!parts.is_empty()).then(|| Cow::Owned(parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_inside_arguments() {
        let found: Vec<String> = path_candidates("--unix-socket=/var/run/docker.sock")
            .map(String::from)
            .collect();
        assert_eq!(found, vec!["/run/docker.sock"]);
        let found: Vec<String> = path_candidates("UNIX-CONNECT:/var/run/crio/crio.sock")
            .map(String::from)
            .collect();
        assert_eq!(found, vec!["UNIX-CONNECT", "/run/crio/crio.sock"]);
        let found: Vec<String> = path_candidates("file:///etc/passwd")
            .map(String::from)
            .collect();
        assert_eq!(found, vec!["file", "/etc/passwd"]);
        let found: Vec<String> = path_candidates("~/.kube/config")
            .map(String::from)
            .collect();
        assert_eq!(found, vec!["~/.kube/config"]);
        let found: Vec<String> = path_candidates("./kernel//core_pattern --x=y")
            .map(String::from)
            .collect();
        assert_eq!(found, vec!["kernel/core_pattern", "y"]);
        assert_eq!(path_candidates("-r $HOME").count(), 0);
    }
}
