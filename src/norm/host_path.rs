//! Host paths as the policy compares them: `//`, `/./`, `/../` and trailing slashes resolved
//! and `/var/run` read as `/run` (a symlink on every current distribution), so spelling a path
//! differently never changes its score.

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
}
