//! Image references, parsed with the distribution grammar (oci-spec's `Reference`): the registry
//! defaults to docker.io, official images gain `library/`, and tag and digest are split off, so
//! `nmap`, `docker.io/library/nmap:7.95` and `nmap@sha256:...` name the same repository.

use oci_spec::distribution::Reference;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(raw: &str) -> Option<ImageRef> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 512 {
            return None;
        }
        // The grammar rejects upper case in repositories; the runtime would too, but a lower-cased
        // reading still tells us what was meant.
        let reference = Reference::try_from(raw)
            .or_else(|_| Reference::try_from(raw.to_ascii_lowercase()))
            .ok()?;
        Some(ImageRef {
            registry: reference.registry().to_string(),
            repository: reference.repository().to_string(),
            tag: reference.tag().map(str::to_string),
            digest: reference.digest().map(str::to_string),
        })
    }

    /// `registry/repository`, as policy `repositories` are written.
    pub fn full_repository(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The whole reference in canonical form, as image exemptions are written:
    /// `nginx` is `docker.io/library/nginx:latest`.
    pub fn normalised(&self) -> String {
        let mut text = self.full_repository();
        match (&self.tag, &self.digest) {
            (Some(tag), _) => {
                text.push(':');
                text.push_str(tag);
            }
            (None, None) => text.push_str(":latest"),
            (None, Some(_)) => {}
        }
        if let Some(digest) = &self.digest {
            text.push('@');
            text.push_str(digest);
        }
        text
    }

    /// The last path component: what `names` in the policy match.
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_registry_and_library() {
        let r = ImageRef::parse("nmap").unwrap();
        assert_eq!(r.full_repository(), "docker.io/library/nmap");
        assert_eq!(r.name(), "nmap");
        let r = ImageRef::parse("aquasec/kube-hunter:0.6.8").unwrap();
        assert_eq!(r.full_repository(), "docker.io/aquasec/kube-hunter");
        let r = ImageRef::parse("registry.local:5000/tools/kube-hunter@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(r.registry, "registry.local:5000");
        assert_eq!(r.name(), "kube-hunter");
    }

    #[test]
    fn normalised_form() {
        assert_eq!(
            ImageRef::parse("nginx").unwrap().normalised(),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(
            ImageRef::parse("aquasec/kube-hunter:0.6.8")
                .unwrap()
                .normalised(),
            "docker.io/aquasec/kube-hunter:0.6.8"
        );
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            ImageRef::parse(&format!("ghcr.io/x/y@{digest}"))
                .unwrap()
                .normalised(),
            format!("ghcr.io/x/y@{digest}")
        );
    }

    #[test]
    fn tag_is_not_part_of_the_name() {
        let r = ImageRef::parse("ghcr.io/example/shop:kube-hunter").unwrap();
        assert_eq!(r.name(), "shop");
        let r = ImageRef::parse("docker.io/example/kube-hunter-exporter:1").unwrap();
        assert_eq!(r.name(), "kube-hunter-exporter");
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(ImageRef::parse(""), None);
        assert_eq!(ImageRef::parse("::::"), None);
    }
}
