//! Credential hunting: a search of a filesystem for keys, kubeconfigs, cloud credentials or
//! password files (`grep -r 'BEGIN RSA PRIVATE KEY' /`, `find / -name id_rsa`). Reading one known
//! file is a path finding (`exec.paths`); sweeping a tree for secrets is what an intruder does and
//! an operator does not.

use super::catalogue::CredentialSearch;
use super::exec::describe;
use super::paths::normalise_command_path;
use super::shell::Invocation;
use super::Signals;

/// Raises the search rule when `inv` searches a tree for a credential term, or for a generic
/// term (password, token) from a broad root.
pub fn detect(search: &CredentialSearch, inv: &Invocation, out: &mut Signals) {
    let what = || describe(inv);
    let program = inv.program.as_str();
    if search.scanners.contains(program) && inv.args.iter().any(|a| broad_root(search, a)) {
        out.raise(
            &search.rule,
            format!("{} scans a whole tree for secrets", what()),
        );
        return;
    }
    let recursive = search.searchers.contains(program)
        || (search.recursive_searchers.contains(program)
            && super::options::any_given(&inv.args, &search.recursive_options));
    if !recursive {
        return;
    }
    let lowered: Vec<String> = inv.args.iter().map(|a| a.to_lowercase()).collect();
    let named = |terms: &[String]| {
        terms
            .iter()
            .find(|t| lowered.iter().any(|a| a.contains(t.as_str())))
            .cloned()
    };
    if let Some(term) = named(&search.terms) {
        out.raise(&search.rule, format!("{} searches for {term:?}", what()));
        return;
    }
    let broad =
        search.whole_filesystem.contains(program) || inv.args.iter().any(|a| broad_root(search, a));
    if broad {
        if let Some(term) = named(&search.broad_terms) {
            out.raise(
                &search.rule,
                format!("{} searches a whole tree for {term:?}", what()),
            );
        }
    }
}

fn broad_root(search: &CredentialSearch, arg: &str) -> bool {
    let candidate = if arg.starts_with('/') {
        normalise_command_path(arg)
    } else {
        Some(arg.trim_end_matches('/').to_string()).filter(|a| !a.is_empty())
    };
    candidate.is_some_and(|c| search.broad_roots.iter().any(|p| p.matches(&c)))
}
