//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_api;
pub mod server;

use reconguard::decision::{Action, Decision};
use reconguard::policy::Policy;
use reconguard::subject;
use serde_json::{json, Value};

/// The built-in default, compiled once for the whole test binary (compiling it is the costliest
/// step of most tests).
pub fn policy() -> &'static Policy {
    static DEFAULT: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(Policy::embedded_default)
}

pub fn judge_value(policy: &Policy, value: &Value) -> Decision {
    let subjects = subject::from_manifest(value).expect("classifies");
    assert_eq!(subjects.len(), 1, "one subject expected");
    reconguard::evaluate(policy, &subjects[0])
}

pub fn exec(policy: &Policy, argv: &[&str], stdin: bool) -> Decision {
    judge_value(
        policy,
        &json!({"apiVersion": "v1", "kind": "PodExecOptions", "command": argv, "stdin": stdin, "container": "app"}),
    )
}

pub fn pod(policy: &Policy, spec: Value) -> Decision {
    judge_value(
        policy,
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team-a"}, "spec": spec}),
    )
}

pub fn rules(d: &Decision) -> Vec<String> {
    d.findings.iter().map(|f| f.rule.clone()).collect()
}

pub fn parse_action(s: &str) -> Action {
    match s {
        "allow" => Action::Allow,
        "annotate" => Action::Annotate,
        "deny" => Action::Deny,
        other => panic!("unknown action {other}"),
    }
}

/// userInfo as the API server sends it; `bound_pod`: the pod a service-account token was bound
/// to (`authentication.kubernetes.io/pod-name`).
/// Four discovery techniques (processes, connections, network configuration, identity): a
/// burst when one identity runs them within the correlation window.
pub const DISCOVERY: [&[&str]; 4] = [
    &["ps", "aux"],
    &["netstat", "-tuln"],
    &["ip", "addr"],
    &["id"],
];

pub fn user_info(user: &str, bound_pod: Option<&str>) -> Value {
    let mut info = json!({"username": user, "groups": ["system:authenticated"]});
    if let Some(pod) = bound_pod {
        info["extra"] = json!({"authentication.kubernetes.io/pod-name": [pod]});
    }
    info
}

/// A `pods/exec` CONNECT review as the API server sends it, into container `app` of `ns/pod`.
pub fn exec_review(
    uid: &str,
    ns: &str,
    pod: &str,
    user_info: Value,
    argv: &[&str],
    dry_run: bool,
) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "PodExecOptions"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "subResource": "exec", "name": pod, "namespace": ns, "operation": "CONNECT",
            "userInfo": user_info,
            "object": {"kind": "PodExecOptions", "apiVersion": "v1", "stdout": true,
                       "stderr": true, "container": "app", "command": argv},
            "dryRun": dry_run,
        }
    })
}
