//! UPDATE semantics like Pod Security Admission's: an UPDATE that leaves the judged part (a Pod's
//! spec, a workload's pod template) unchanged is allowed without evaluation, so controllers can
//! still finish their work on objects that a stricter policy would now deny; a changed spec or
//! template is judged like a CREATE.

use crate::common;

use common::*;
use reconguard::decision::{Action, Decision};
use serde_json::{json, Value};

/// A Pod the default policy denies: privileged with the node's PID namespace.
fn risky_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "agent-x", "namespace": "shop", "labels": {"app": "agent"}},
        "spec": {
            "hostPID": true,
            "containers": [{"name": "agent", "image": "busybox",
                            "securityContext": {"privileged": true}}]
        }
    })
}

fn risky_template(kind: &str) -> Value {
    let template = json!({"metadata": {"labels": {"app": "agent"}}, "spec": risky_pod()["spec"]});
    let spec = match kind {
        "CronJob" => {
            json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
        }
        _ => {
            json!({"replicas": 3, "selector": {"matchLabels": {"app": "agent"}}, "template": template})
        }
    };
    let api_version = match kind {
        "Job" | "CronJob" => "batch/v1",
        "ReplicationController" => "v1",
        _ => "apps/v1",
    };
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"name": "agent", "namespace": "shop"}, "spec": spec})
}

fn resource_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Pod" => ("", "pods"),
        "Deployment" => ("apps", "deployments"),
        "ReplicaSet" => ("apps", "replicasets"),
        "StatefulSet" => ("apps", "statefulsets"),
        "DaemonSet" => ("apps", "daemonsets"),
        "Job" => ("batch", "jobs"),
        "CronJob" => ("batch", "cronjobs"),
        "ReplicationController" => ("", "replicationcontrollers"),
        other => panic!("{other}"),
    }
}

fn update(object: &Value, old: Option<&Value>, user: &str) -> Decision {
    let kind = object["kind"].as_str().unwrap();
    let (group, resource) = resource_of(kind);
    let version = object["apiVersion"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let mut request = json!({
        "uid": "u", "kind": gvk, "requestKind": gvk,
        "resource": {"group": group, "version": version, "resource": resource},
        "name": object["metadata"]["name"], "namespace": "shop", "operation": "UPDATE",
        "userInfo": {"username": user}, "object": object, "dryRun": false,
    });
    if let Some(old) = old {
        request["oldObject"] = old.clone();
    }
    judge_value(
        policy(),
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}),
    )
}

/// What an UPDATE changes, and a name for it.
type Edit<'a> = (&'a str, &'a dyn Fn(&mut Value));

fn assert_skipped(d: &Decision, what: &str) {
    assert_eq!(d.action, Action::Allow, "{what}: {d:?}");
    assert!(d.findings.is_empty(), "{what}: {d:?}");
    assert!(
        d.skipped
            .as_deref()
            .is_some_and(|s| s.contains("unchanged")),
        "{what}: {d:?}"
    );
}

#[test]
fn the_risky_objects_are_denied_when_created_or_changed() {
    // The premise of every case below.
    let d = judge_value(policy(), &risky_pod());
    assert_eq!(d.action, Action::Deny, "{d:?}");
    for kind in [
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
    ] {
        let d = judge_value(policy(), &risky_template(kind));
        assert_eq!(d.action, Action::Deny, "{kind}: {d:?}");
    }
}

#[test]
fn controllers_can_update_the_metadata_of_a_pod_judged_risky() {
    let old = risky_pod();
    let edits: [Edit; 5] = [
        ("a Job controller removes its finalizer", &|p| {
            p["metadata"]["finalizers"] = json!([]);
        }),
        ("a ReplicaSet adopts the pod", &|p| {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "agent-x", "uid": "1", "controller": true}]);
        }),
        ("a label is changed", &|p| {
            p["metadata"]["labels"]["tier"] = json!("gold")
        }),
        ("an annotation is added", &|p| {
            p["metadata"]["annotations"] = json!({"example.com/owner": "team-a"})
        }),
        ("the deletion grace period is set", &|p| {
            p["metadata"]["deletionTimestamp"] = json!("2026-11-29T00:00:00Z");
            p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        }),
    ];
    for (what, edit) in edits {
        let mut new = old.clone();
        edit(&mut new);
        assert_skipped(
            &update(
                &new,
                Some(&old),
                "system:serviceaccount:kube-system:job-controller",
            ),
            what,
        );
    }
}

#[test]
fn controllers_can_scale_and_pause_workloads_whose_template_is_now_denied() {
    let cases: [Edit; 8] = [
        ("Deployment", &|w| w["spec"]["replicas"] = json!(0)),
        ("Deployment", &|w| w["spec"]["paused"] = json!(true)),
        // The Deployment controller scaling down the old ReplicaSet during a rollout.
        ("ReplicaSet", &|w| w["spec"]["replicas"] = json!(1)),
        ("StatefulSet", &|w| w["spec"]["replicas"] = json!(5)),
        ("DaemonSet", &|w| {
            w["metadata"]["labels"] = json!({"x": "y"})
        }),
        ("Job", &|w| w["spec"]["suspend"] = json!(true)),
        ("CronJob", &|w| w["spec"]["suspend"] = json!(true)),
        ("ReplicationController", &|w| {
            w["spec"]["replicas"] = json!(0)
        }),
    ];
    for (kind, edit) in cases {
        let old = risky_template(kind);
        let mut new = old.clone();
        edit(&mut new);
        assert_skipped(
            &update(
                &new,
                Some(&old),
                "system:serviceaccount:kube-system:deployment-controller",
            ),
            kind,
        );
    }
}

#[test]
fn a_changed_spec_or_template_is_judged() {
    // A Pod's image is the mutable part of its spec.
    let old = risky_pod();
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("busybox:1.37");
    let d = update(&new, Some(&old), "alice");
    assert_eq!(d.action, Action::Deny, "{d:?}");
    assert!(d.skipped.is_none());

    // A harmless Deployment turned risky in one UPDATE.
    for kind in ["Deployment", "CronJob"] {
        let new = risky_template(kind);
        let mut old = new.clone();
        let template = if kind == "CronJob" {
            &mut old["spec"]["jobTemplate"]["spec"]["template"]
        } else {
            &mut old["spec"]["template"]
        };
        template["spec"] = json!({"containers": [{"name": "agent", "image": "busybox"}]});
        let d = update(&new, Some(&old), "alice");
        assert_eq!(d.action, Action::Deny, "{kind}: {d:?}");
    }

    // Without oldObject nothing can be compared: judged.
    let d = update(&risky_pod(), None, "alice");
    assert_eq!(d.action, Action::Deny, "{d:?}");
}

#[test]
fn kubectl_debug_judges_only_the_added_container_in_the_pods_context() {
    // The pod shares the node's PID namespace; the debug container adds SYS_PTRACE.
    let mut old = risky_pod();
    old["spec"]["containers"][0]["securityContext"] = json!({});
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{
        "name": "debugger", "image": "busybox", "targetContainerName": "agent",
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}
    }]);
    let review = |object: &Value, old: &Value| {
        judge_value(
            policy(),
            &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "subResource": "ephemeralcontainers", "name": "agent-x", "namespace": "shop",
                "operation": "UPDATE", "userInfo": {"username": "alice"},
                "object": object, "oldObject": old, "dryRun": false
            }}),
        )
    };
    let d = review(&new, &old);
    let fired = rules(&d);
    assert!(fired.contains(&"cap-sys-ptrace".to_string()), "{fired:?}");
    assert!(
        fired.contains(&"host-pid".to_string()),
        "the pod's context: {fired:?}"
    );
    assert!(d.action >= Action::Annotate, "{d:?}");
    // A second debug container is judged alone: the first one's capability is not counted again.
    let mut newer = new.clone();
    newer["spec"]["ephemeralContainers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "debugger-2", "image": "busybox"}));
    let d = review(&newer, &new);
    assert!(
        !rules(&d).contains(&"cap-sys-ptrace".to_string()),
        "{:?}",
        rules(&d)
    );
}

/// The bytes of a Pod UPDATE review whose object and old object have these specs, as written.
fn pod_update_text(new_spec: &str, old_spec: &str) -> String {
    let object = |spec: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"agent-x"}},"spec":{spec}}}"#
        )
    };
    format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{
            "uid":"u","kind":{{"group":"","version":"v1","kind":"Pod"}},
            "resource":{{"group":"","version":"v1","resource":"pods"}},
            "name":"agent-x","namespace":"shop","operation":"UPDATE",
            "userInfo":{{"username":"alice"}},"object":{},"oldObject":{}}}}}"#,
        object(new_spec),
        object(old_spec)
    )
}

fn judge_text(text: &str) -> Decision {
    let request = reconguard::admission::read_review(text.as_bytes()).expect("a review");
    let subject = reconguard::subject::from_request(&request).expect("classifies");
    reconguard::evaluate(policy(), &subject)
}

/// The spec is compared as written first; other key orders and spacing still compare equal, and a
/// changed value does not.
#[test]
fn a_pod_spec_written_in_another_order_or_spacing_is_unchanged() {
    let spec = r#"{"hostPID":true,"containers":[{"name":"agent","image":"busybox","securityContext":{"privileged":true}}]}"#;
    let reordered = r#"{ "containers" : [ {"securityContext":{"privileged":true},
        "image":"busybox", "name":"agent"} ], "hostPID" : true }"#;
    let changed = spec.replace(r#""hostPID":true"#, r#""hostPID":false"#);
    assert_skipped(&judge_text(&pod_update_text(spec, spec)), "the same text");
    assert_skipped(
        &judge_text(&pod_update_text(spec, reordered)),
        "reordered and respaced",
    );
    let d = judge_text(&pod_update_text(spec, &changed));
    assert_eq!(d.action, Action::Deny, "hostPID turned on: {d:?}");
    assert!(d.skipped.is_none(), "{d:?}");
}
