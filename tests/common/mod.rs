//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_api;
pub mod server;

use reconguard::decision::{Action, Decision};
use reconguard::policy::Policy;
use reconguard::subject;
use serde_json::{json, Value};

pub fn policy() -> Policy {
    Policy::embedded_default()
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
