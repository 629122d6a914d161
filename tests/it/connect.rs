//! Port-forwards and proxies, as the API server sends them: CONNECT on pods/portforward with
//! PodPortForwardOptions, and on pods|services|nodes/proxy with the proxy options, whose only
//! field is `path`; the port of a proxy is in the request's name.

use crate::common;

use common::*;
use reconguard::decision::Action;
use serde_json::{json, Value};

fn review(resource: &str, sub: &str, kind: &str, name: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-4000-8000-00000000c0c0",
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": resource},
            "subResource": sub,
            "name": name,
            "namespace": if resource == "nodes" { Value::Null } else { json!("team-a") },
            "operation": "CONNECT",
            "userInfo": {"username": "dev@example.org"},
            "object": object,
        }
    })
}

fn forward(ports: Value) -> reconguard::decision::Decision {
    let mut object = json!({"kind": "PodPortForwardOptions", "apiVersion": "v1"});
    if !ports.is_null() {
        object["ports"] = ports;
    }
    judge_value(
        policy(),
        &review(
            "pods",
            "portforward",
            "PodPortForwardOptions",
            "web",
            object,
        ),
    )
}

fn proxy(resource: &str, name: &str, path: &str) -> reconguard::decision::Decision {
    let kind = match resource {
        "pods" => "PodProxyOptions",
        "services" => "ServiceProxyOptions",
        _ => "NodeProxyOptions",
    };
    judge_value(
        policy(),
        &review(
            resource,
            "proxy",
            kind,
            name,
            json!({"kind": kind, "apiVersion": "v1", "path": path}),
        ),
    )
}

#[test]
fn port_forwards_to_node_service_ports_deny() {
    for port in [
        10250, 10255, 2379, 2380, 6443, 10257, 10259, 10249, 10256, 2375, 2376, 988,
    ] {
        let d = forward(json!([port]));
        assert_eq!(d.action, Action::Deny, "{port}: {:?}", rules(&d));
        assert_eq!(rules(&d), ["portforward-node-port"], "{port}");
        assert_eq!(d.findings[0].technique, "T1090");
    }
    // One sensitive port among ordinary ones is enough.
    let d = forward(json!([8080, 10250]));
    assert_eq!(d.action, Action::Deny);
}

#[test]
fn ordinary_and_unseen_port_forwards_are_allowed() {
    for ports in [json!([8080]), json!([5432, 6379]), json!([443])] {
        let d = forward(ports.clone());
        assert_eq!(d.action, Action::Allow, "{ports}");
        assert!(d.findings.is_empty(), "{ports}: {:?}", rules(&d));
    }
    // kubectl names its ports inside the stream: the request carries none, and says so.
    for ports in [Value::Null, json!([])] {
        let d = forward(ports);
        assert_eq!(d.action, Action::Allow);
        assert_eq!(rules(&d), ["portforward-unseen-ports"]);
    }
    // Out-of-range numbers are not ports of anything.
    let d = forward(json!([-1, 70000, 10250 + 65536]));
    assert_eq!(d.action, Action::Allow, "{:?}", rules(&d));
}

#[test]
fn malformed_port_forward_options_are_refused_not_guessed() {
    let d = reconguard::subject::from_manifest(&review(
        "pods",
        "portforward",
        "PodPortForwardOptions",
        "web",
        json!({"ports": "10250"}),
    ));
    assert!(d.is_err());
}

#[test]
fn kubelet_command_paths_deny_in_every_spelling() {
    for path in [
        "/exec/kube-system/kube-proxy-x2v9q/kube-proxy",
        "/exec/kube-system/kube-proxy-x2v9q/6a1b2c3d-0000-4000-8000-000000000000/kube-proxy",
        "/run/default/web/app",
        "/attach/default/web/app",
        "/portForward/default/web",
        "/cri/exec/AbCdEf",
        "/checkpoint/default/web/app",
        "//exec/default/web/app",
        "/./exec/default/web/app/",
        "/metrics/../exec/default/web/app",
        "/%65xec/default/web/app",
        "/run/%64efault/web/app",
    ] {
        let d = proxy("nodes", "worker-1", path);
        assert_eq!(d.action, Action::Deny, "{path}: {:?}", rules(&d));
        assert!(
            rules(&d).contains(&"proxy-kubelet-command".to_string()),
            "{path}"
        );
        // The same path reaches the kubelet through a pod or service on its port.
        let d = proxy("pods", "node-agent-x:10250", path);
        assert_eq!(d.action, Action::Deny, "pod proxy {path}");
    }
}

#[test]
fn kubelet_discovery_paths_annotate() {
    for path in [
        "/pods",
        "/runningpods/",
        "/configz",
        "/debug/pprof/heap",
        "/logs/",
        "/logs/syslog",
        "/spec/",
    ] {
        let d = proxy("nodes", "worker-1", path);
        assert_eq!(d.action, Action::Annotate, "{path}: {:?}", rules(&d));
        assert_eq!(rules(&d), ["proxy-kubelet-discovery"], "{path}");
    }
}

#[test]
fn monitoring_and_application_proxies_are_allowed() {
    for (resource, name, path) in [
        ("nodes", "worker-1", "/metrics/cadvisor"),
        ("nodes", "worker-1", "/metrics"),
        ("nodes", "worker-1", "/stats/summary"),
        ("nodes", "worker-1:10250", "/healthz"),
        ("services", "https:web:443", "/api/health"),
        ("services", "web:http", "/"),
        ("pods", "web-5d8f7-abcde:8080", "/run/report"),
        ("pods", "web-5d8f7-abcde", "/exec"),
        ("pods", "grafana-0:3000", "/api/dashboards/home"),
    ] {
        let d = proxy(resource, name, path);
        assert_eq!(
            d.action,
            Action::Allow,
            "{resource} {name} {path}: {:?}",
            rules(&d)
        );
        assert!(
            d.findings.is_empty(),
            "{resource} {name} {path}: {:?}",
            rules(&d)
        );
    }
}

#[test]
fn pod_and_service_proxies_to_node_service_ports_deny() {
    for name in [
        "etcd-cp-1:2379",
        "https:etcd-cp-1:2379",
        "kube-apiserver-cp-1:6443",
        "node-agent:10255",
    ] {
        for resource in ["pods", "services"] {
            let d = proxy(resource, name, "/");
            assert_eq!(d.action, Action::Deny, "{resource} {name}");
            assert_eq!(rules(&d), ["proxy-node-port"], "{resource} {name}");
        }
    }
}

/// Every port-forward and proxy rule of the default policy is exercised above.
#[test]
fn every_tunnel_rule_is_covered() {
    let mut fired = std::collections::BTreeSet::new();
    fired.extend(rules(&forward(json!([10250]))));
    fired.extend(rules(&forward(Value::Null)));
    fired.extend(rules(&proxy("pods", "x:2379", "/exec/a/b/c")));
    fired.extend(rules(&proxy("nodes", "n", "/configz")));
    let uncovered: Vec<_> = policy()
        .rules
        .keys()
        .filter(|id| {
            (id.starts_with("portforward-") || id.starts_with("proxy-")) && !fired.contains(*id)
        })
        .cloned()
        .collect();
    assert!(uncovered.is_empty(), "{uncovered:?}");
}
