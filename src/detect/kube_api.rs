//! Kubernetes API use from inside a pod that goes beyond looking: reading secrets, creating pods,
//! exec-ing into other pods. Found by client verb (`kubectl get secrets -A`, `kubectl run`) and by
//! request path, whatever the host and client (`curl -k https://10.96.0.1/api/v1/secrets`): the
//! paths of the Kubernetes API are its own, so the host does not matter.

use super::catalogue::KubernetesApi;
use super::exec::describe;
use super::net::url_paths;
use super::shell::Invocation;
use super::{shorten, Signals};

/// `kubectl [options] VERB [RESOURCE...]`.
pub fn client_verbs(api: &KubernetesApi, inv: &Invocation, out: &mut Signals) {
    if !api.clients.contains(&inv.program) {
        return;
    }
    let positional = positional_args(&inv.args, &api.options_with_value);
    let Some((verb, rest)) = positional.split_first() else {
        return;
    };
    // `get secret db`, `get secret/db`: the objects are named; `-A` or `-l` list whatever is named.
    let named = (rest.len() > 1 || rest.first().is_some_and(|r| r.contains('/')))
        && !super::options::any_given(&inv.args, &api.list_options);
    for entry in &api.verbs {
        if !entry.verbs.contains(*verb) || entry.named.is_some_and(|n| n != named) {
            continue;
        }
        let resource_matches = entry.resources.is_empty()
            || rest.first().is_some_and(|r| {
                r.split(',')
                    .any(|part| entry.resources.iter().any(|p| p.matches(part)))
            });
        if resource_matches {
            out.raise(&entry.rule, describe(inv));
        }
    }
}

/// Arguments that are not options or option values.
fn positional_args<'a>(args: &'a [String], options_with_value: &[String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.extend(iter.map(String::as_str));
            break;
        }
        if arg.starts_with('-') {
            if options_with_value.iter().any(|o| o == arg) {
                iter.next();
            }
            continue;
        }
        out.push(arg.as_str());
    }
    out
}

/// Request paths in a network client's arguments.
pub fn client_requests(api: &KubernetesApi, inv: &Invocation, out: &mut Signals) {
    let writes = super::options::any_given(&inv.args, &api.write_arguments);
    for arg in &inv.args {
        requests(api, arg, true, writes, &|| describe(inv), out);
    }
}

/// Request paths in inline code (`requests.get("https://.../api/v1/secrets")`). A write is a
/// method name (`POST`) anywhere in the code.
pub fn code_requests(api: &KubernetesApi, code: &str, out: &mut Signals) {
    let lowered = code.to_lowercase();
    let writes = api
        .write_arguments
        .iter()
        .filter(|w| !w.starts_with('-'))
        .any(|w| lowered.contains(&w.to_lowercase()));
    let what = || format!("inline code `{}`", shorten(code, 60));
    requests(api, code, false, writes, &what, out);
}

fn requests(
    api: &KubernetesApi,
    text: &str,
    client: bool,
    writes: bool,
    what: &dyn Fn() -> String,
    out: &mut Signals,
) {
    for path in url_paths(text, client) {
        for entry in &api.requests {
            if (!entry.writes || writes) && entry.paths.is_match(path) {
                out.raise(
                    &entry.rule,
                    format!("{} requests {}", what(), shorten(path, 80)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verb_after_options_with_values() {
        let args: Vec<String> = [
            "-n",
            "kube-system",
            "--context=prod",
            "get",
            "secrets",
            "-o",
            "yaml",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let opts = vec!["-n".to_string(), "-o".to_string()];
        assert_eq!(positional_args(&args, &opts), vec!["get", "secrets"]);
    }
}
