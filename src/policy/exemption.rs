//! Exemptions: admin-written selectors that drop all findings, or the listed rules, for what
//! they match. Every selector given must match; nothing a requester controls matches unless an
//! admin wrote exactly that selector.

use crate::detect::catalogue::HashSet;

use crate::norm::pattern::Pattern;

/// A name or a glob, chosen by the pattern itself: only `*`, `?` and `[` make a glob, so
/// `kube-system` never matches `kube-system-x`.
fn any_matches(patterns: &[Pattern], value: &str) -> bool {
    patterns.iter().any(|p| p.matches(value))
}

#[derive(Debug, Clone)]
pub struct Exemption {
    pub name: String,
    pub namespaces: Vec<Pattern>,
    pub users: Vec<Pattern>,
    pub groups: Vec<Pattern>,
    pub requester_service_accounts: Vec<Pattern>,
    pub pod_service_accounts: Vec<Pattern>,
    pub images: Vec<Pattern>,
    pub pod_labels: Vec<(String, Pattern)>,
    pub rules: HashSet<String>,
}

/// What an exemption is matched against: only fields the API server or the admin vouches for,
/// plus what the pod's writer chose (labels, images, its service account) where the admin
/// named exactly that selector.
#[derive(Debug, Default, Clone)]
pub struct ExemptionInput<'a> {
    pub namespace: Option<&'a str>,
    pub user: Option<&'a str>,
    pub groups: &'a [String],
    /// `namespace/name` of the requesting service account, from userInfo.
    pub requester_service_account: Option<&'a str>,
    /// `namespace/name` of the service account a Pod or template runs as; `None` for
    /// everything else, kubectl debug included.
    pub pod_service_account: Option<&'a str>,
    pub images: &'a [String],
    pub labels: Option<&'a std::collections::BTreeMap<String, String>>,
}

impl Exemption {
    pub fn matches(&self, input: &ExemptionInput<'_>) -> bool {
        let one = |patterns: &[Pattern], value: Option<&str>| {
            patterns.is_empty() || value.is_some_and(|v| any_matches(patterns, v))
        };
        one(&self.namespaces, input.namespace)
            && one(&self.users, input.user)
            && (self.groups.is_empty() || input.groups.iter().any(|g| any_matches(&self.groups, g)))
            && one(
                &self.requester_service_accounts,
                input.requester_service_account,
            )
            && one(&self.pod_service_accounts, input.pod_service_account)
            && (self.images.is_empty()
                || (!input.images.is_empty()
                    && input.images.iter().all(|i| any_matches(&self.images, i))))
            && self.pod_labels.iter().all(|(key, pattern)| {
                input
                    .labels
                    .and_then(|l| l.get(key))
                    .is_some_and(|v| pattern.matches(v))
            })
    }
}
