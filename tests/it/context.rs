//! The engine with the pod cache's context, by class: every property that makes a target
//! escape-adjacent (in each spelling the pod rules accept), every kind of request that counts,
//! and every condition of an unexpected pod creation. The cache itself is tested against a fake
//! API server in tests/it/cluster.rs.

use crate::common;

use std::sync::Arc;

use common::{policy, rules};
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use reconguard::context::{Context, NamespacePods, TargetPod};
use reconguard::decision::Decision;
use reconguard::subject::{self, Requester, Subject};
use serde_json::{json, Value};

const ESCAPE: &str = "exec-escape-adjacent-target";
const CREATION: &str = "pod-unexpected-creation";

fn target(spec: Value) -> Arc<TargetPod> {
    let spec: PodSpec = serde_json::from_value(spec).expect("pod spec");
    let meta = ObjectMeta {
        name: Some("target".into()),
        namespace: Some("ns".into()),
        ..Default::default()
    };
    Arc::new(TargetPod::from_parts(&meta, &spec))
}

fn with_context(mut s: Subject, context: Context) -> Decision {
    s.context = context;
    reconguard::evaluate(policy(), &s)
}

fn subject_of(manifest: Value) -> Subject {
    subject::from_manifest(&manifest)
        .expect("classifies")
        .remove(0)
}

fn exec_into(spec: Value, argv: &[&str], stdin: bool) -> Decision {
    let s = subject_of(json!({"apiVersion": "v1", "kind": "PodExecOptions",
        "metadata": {"name": "target", "namespace": "ns"},
        "command": argv, "stdin": stdin, "tty": stdin, "container": "app"}));
    with_context(
        s,
        Context {
            target: Some(target(spec)),
            ..Default::default()
        },
    )
}

fn app(extra: Value) -> Value {
    let mut c = json!({"name": "app", "image": "registry.example/agent:1.0"});
    if let Some(map) = extra.as_object() {
        for (k, v) in map {
            c[k] = v.clone();
        }
    }
    c
}

fn host_path(path: &str) -> Value {
    json!({"containers": [app(json!({}))], "volumes": [{"name": "h", "hostPath": {"path": path}}]})
}

/// Each property the default `podRules` name, in the spellings the pod rules accept.
fn escape_adjacent_specs() -> Vec<(&'static str, Value)> {
    vec![
        (
            "hostPID",
            json!({"hostPID": true, "containers": [app(json!({}))]}),
        ),
        (
            "privileged container",
            json!({"containers": [app(json!({"securityContext": {"privileged": true}}))]}),
        ),
        (
            "privileged init container",
            json!({"containers": [app(json!({}))],
            "initContainers": [{"name": "init", "image": "x", "securityContext": {"privileged": true}}]}),
        ),
        (
            "SYS_ADMIN",
            json!({"containers": [app(json!({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}))]}),
        ),
        (
            "CAP_SYS_ADMIN spelling",
            json!({"containers": [app(json!({"securityContext": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}}))]}),
        ),
        (
            "ALL",
            json!({"containers": [app(json!({"securityContext": {"capabilities": {"add": ["ALL"]}}}))]}),
        ),
        (
            "SYS_PTRACE",
            json!({"containers": [app(json!({"securityContext": {"capabilities": {"add": ["sys_ptrace"]}}}))]}),
        ),
        (
            "SYS_MODULE",
            json!({"containers": [app(json!({"securityContext": {"capabilities": {"add": ["SYS_MODULE"]}}}))]}),
        ),
        ("host root", host_path("/")),
        ("host root, doubled slash", host_path("//")),
        ("host root, dot", host_path("/./")),
        ("docker socket", host_path("/var/run/docker.sock")),
        (
            "containerd socket through ..",
            host_path("/run/containerd/../containerd/containerd.sock"),
        ),
        ("crio socket directory", host_path("/var/run/crio")),
        ("host /proc", host_path("/proc")),
        ("kubelet credentials", host_path("/var/lib/kubelet/pki")),
        ("kubernetes pki", host_path("/etc/kubernetes")),
    ]
}

/// Properties that reach less far than the node, which the default leaves out.
fn ordinary_specs() -> Vec<(&'static str, Value)> {
    vec![
        ("plain", json!({"containers": [app(json!({}))]})),
        (
            "hostNetwork",
            json!({"hostNetwork": true, "containers": [app(json!({}))]}),
        ),
        (
            "NET_ADMIN",
            json!({"containers": [app(json!({"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}))]}),
        ),
        (
            "unprivileged",
            json!({"containers": [app(json!({"securityContext": {"privileged": false}}))]}),
        ),
        ("app data host path", host_path("/srv/app-data")),
        ("tmp host path", host_path("/tmp/cache")),
        (
            "config map",
            json!({"containers": [app(json!({}))], "volumes": [{"name": "c", "configMap": {"name": "c"}}]}),
        ),
    ]
}

#[test]
fn discovery_in_a_pod_that_reaches_the_node_is_escape_adjacent_for_every_property() {
    for (what, spec) in escape_adjacent_specs() {
        let d = exec_into(spec, &["ps", "aux"], false);
        assert!(
            rules(&d).contains(&ESCAPE.to_string()),
            "{what}: {:?}",
            rules(&d)
        );
        let finding = d.findings.iter().find(|f| f.rule == ESCAPE).unwrap();
        assert!(
            finding.message.contains("lands in pod target"),
            "{what}: {}",
            finding.message
        );
        // ps (20) + the target (50) reaches the deny threshold.
        assert_eq!(d.action, reconguard::decision::Action::Deny, "{what}");
    }
    for (what, spec) in ordinary_specs() {
        let d = exec_into(spec, &["ps", "aux"], false);
        assert!(
            !rules(&d).contains(&ESCAPE.to_string()),
            "{what}: {:?}",
            rules(&d)
        );
    }
}

#[test]
fn the_finding_names_each_property_that_raised_it() {
    let spec = json!({
        "hostPID": true,
        "containers": [app(json!({"securityContext": {"privileged": true}}))],
        "volumes": [{"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}],
    });
    let d = exec_into(spec, &["netstat", "-tuln"], false);
    let message = &d
        .findings
        .iter()
        .find(|f| f.rule == ESCAPE)
        .unwrap()
        .message;
    for property in [
        "host-pid",
        "privileged (container app",
        "hostpath-runtime-socket",
    ] {
        assert!(message.contains(property), "{property}: {message}");
    }
}

#[test]
fn what_counts_is_discovery_credential_access_a_shell_or_host_entry() {
    let node = json!({"hostPID": true, "containers": [app(json!({}))]});
    let counted: &[(&[&str], bool)] = &[
        (&["ps", "aux"], false),
        (&["netstat", "-tuln"], false),
        (&["cat", "/etc/passwd"], false),
        (
            &[
                "sh",
                "-c",
                "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
            ],
            false,
        ),
        (&["sh"], true),
        (&["bash", "-il"], true),
        (&["nsenter", "-t", "1", "-m", "--", "sh"], false),
        (&["docker", "ps"], false),
        (&["busybox", "sh", "-c", "ls /proc/1/root"], false),
    ];
    for (argv, stdin) in counted {
        let d = exec_into(node.clone(), argv, *stdin);
        assert!(
            rules(&d).contains(&ESCAPE.to_string()),
            "{argv:?}: {:?}",
            rules(&d)
        );
    }
    let quiet: &[&[&str]] = &[
        &["cat", "/tmp/healthy"],
        &["true"],
        &["/app/migrate", "--up"],
        &["curl", "-fsS", "http://localhost:8080/health"],
    ];
    for argv in quiet {
        let d = exec_into(node.clone(), argv, false);
        assert!(
            !rules(&d).contains(&ESCAPE.to_string()),
            "{argv:?}: {:?}",
            rules(&d)
        );
    }
}

#[test]
fn attach_and_debug_into_such_a_pod_count() {
    let node = target(json!({"hostPID": true, "containers": [app(json!({}))]}));
    // An attach as the API server sends it.
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": "", "version": "v1", "kind": "PodAttachOptions"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "subResource": "attach",
        "name": "target", "namespace": "ns", "operation": "CONNECT",
        "userInfo": {"username": "alice"},
        "object": {"kind": "PodAttachOptions", "apiVersion": "v1", "stdin": true, "tty": true, "container": "app"}}});
    let s = subject_of(review);
    let d = with_context(
        s,
        Context {
            target: Some(node),
            ..Default::default()
        },
    );
    assert!(rules(&d).contains(&ESCAPE.to_string()), "{:?}", rules(&d));

    // kubectl debug: the target is the pod in the request itself, no cache needed.
    let pod = |ephemeral: Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "target", "namespace": "ns"},
        "spec": {"hostPID": true, "containers": [app(json!({}))], "ephemeralContainers": ephemeral}})
    };
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "subResource": "ephemeralcontainers",
        "name": "target", "namespace": "ns", "operation": "UPDATE", "userInfo": {"username": "alice"},
        "object": pod(json!([{"name": "dbg", "image": "busybox:1.36", "stdin": true, "tty": true}])),
        "oldObject": pod(json!([]))}});
    let d = reconguard::evaluate(policy(), &subject_of(review));
    assert!(rules(&d).contains(&ESCAPE.to_string()), "{:?}", rules(&d));
}

#[test]
fn without_context_nothing_changes() {
    for (what, _) in escape_adjacent_specs() {
        let s = subject_of(json!({"apiVersion": "v1", "kind": "PodExecOptions",
            "metadata": {"name": "target", "namespace": "ns"}, "command": ["ps", "aux"]}));
        let d = reconguard::evaluate(policy(), &s);
        assert!(!rules(&d).contains(&ESCAPE.to_string()), "{what}");
    }
}

fn create(user: &str, owned: bool, ns: Option<NamespacePods>, workload: Option<&str>) -> Decision {
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [app(json!({}))]}});
    if owned {
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "u", "controller": true}]);
    }
    let mut s = subject_of(pod);
    s.operation = Some(kube::core::admission::Operation::Create);
    s.requester = Some(Requester {
        username: user.into(),
        ..Default::default()
    });
    with_context(
        s,
        Context {
            namespace: ns,
            requester_workload: workload.map(str::to_string),
            ..Default::default()
        },
    )
}

fn managed(pods: usize, managed: usize) -> Option<NamespacePods> {
    Some(NamespacePods {
        pods,
        managed,
        creators: vec!["ReplicaSet via kube-controller-manager".into()],
    })
}

#[test]
fn a_persons_bare_pod_stands_out_only_where_every_pod_is_managed() {
    let raised = |d: &Decision| rules(d).contains(&CREATION.to_string());
    assert!(raised(&create(
        "alice@example.com",
        false,
        managed(3, 3),
        None
    )));
    assert!(raised(&create(
        "alice@example.com",
        false,
        managed(5000, 5000),
        None
    )));
    // ownerReferences are the requester's to write: a person's pod that names an owner is
    // raised all the same, and says so.
    let owned = create("alice@example.com", true, managed(12, 12), None);
    assert!(raised(&owned));
    assert!(
        owned.findings[0].message.contains("naming an owner itself"),
        "{:?}",
        owned.findings
    );
    // Below minimumPods (3), one unmanaged pod, a system user, no context.
    assert!(!raised(&create(
        "alice@example.com",
        false,
        managed(2, 2),
        None
    )));
    assert!(!raised(&create(
        "alice@example.com",
        false,
        managed(12, 11),
        None
    )));
    assert!(!raised(&create(
        "system:kube-scheduler",
        false,
        managed(12, 12),
        None
    )));
    assert!(!raised(&create(
        "system:serviceaccount:kube-system:job-controller",
        false,
        managed(12, 12),
        None
    )));
    assert!(!raised(&create("alice@example.com", false, None, None)));
    let d = create("alice@example.com", false, managed(7, 7), None);
    let message = &d
        .findings
        .iter()
        .find(|f| f.rule == CREATION)
        .unwrap()
        .message;
    assert!(
        message.contains("alice@example.com") && message.contains("all 7 running pods"),
        "{message}"
    );
    assert!(
        message.contains("usually: ReplicaSet via kube-controller-manager"),
        "{message}"
    );
}

#[test]
fn a_pod_made_with_a_running_workloads_token_stands_out() {
    let sa = "system:serviceaccount:shop:web";
    let d = create(sa, false, None, Some("ReplicaSet/web-7d9f8"));
    assert!(rules(&d).contains(&CREATION.to_string()), "{:?}", rules(&d));
    assert!(d.findings[0].message.contains("ReplicaSet/web-7d9f8"));
    // An ownerReference the requester wrote excuses nothing.
    assert!(rules(&create(sa, true, None, Some("ReplicaSet/web-7d9f8")))
        .contains(&CREATION.to_string()));
    // A controller's own account, which no running pod holds, is not a workload.
    assert!(!rules(&create(
        "system:serviceaccount:kube-system:replicaset-controller",
        true,
        managed(12, 12),
        None
    ))
    .contains(&CREATION.to_string()));
}

#[test]
fn creators_configured_by_an_admin_and_only_they_are_exempt() {
    let layer = reconguard::policy::load::parse_layer(
        "test",
        "apiVersion: reconguard.io/v1alpha1\nkind: Policy\ncontext:\n  unexpectedCreation:\n    creators: [\"system:serviceaccount:ci:*\", alice@example.com]\n",
    )
    .expect("layer");
    let tuned = reconguard::policy::Policy::from_layers(vec![layer]).expect("loads");
    let judge = |user: &str, workload: Option<&str>| {
        let mut pod = subject_of(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ci"},
            "spec": {"containers": [app(json!({}))]}}),
        );
        pod.operation = Some(kube::core::admission::Operation::Create);
        pod.requester = Some(Requester {
            username: user.into(),
            ..Default::default()
        });
        pod.context = Context {
            namespace: managed(9, 9),
            requester_workload: workload.map(str::to_string),
            ..Default::default()
        };
        rules(&reconguard::evaluate(&tuned, &pod)).contains(&CREATION.to_string())
    };
    assert!(!judge(
        "system:serviceaccount:ci:jenkins",
        Some("StatefulSet/jenkins")
    ));
    assert!(!judge("alice@example.com", None));
    assert!(judge("bob@example.com", None));
    // A name that only looks like the configured one is not exempt.
    assert!(judge(
        "system:serviceaccount:cix:jenkins",
        Some("Deployment/x")
    ));
    assert!(judge("alice@example.com.evil", None));
}
