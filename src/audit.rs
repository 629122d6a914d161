//! Kubernetes audit events (`audit.k8s.io/v1` `Event`) read back into the AdmissionReview the
//! API server sent its webhooks for the same request, so that `replay` judges a cluster's
//! history through exactly the path `serve` takes. Pure: an event in, a review (JSON) or the
//! reason there is none out.
//!
//! What the log keeps decides what can be judged:
//! - exec, attach, port-forward and proxy requests carry everything in the request URI, which
//!   every audit level records (`Metadata` is enough);
//! - creates and updates of pods and workloads need the object (level `Request` or
//!   `RequestResponse`); a patch carries only the patch, so its patched object is read from the
//!   response (`RequestResponse`);
//! - the log keeps no old object: an update is judged whole, and every ephemeral container of a
//!   debugged pod counts as added.
//!
//! The requester is the impersonated user when there is one (the identity admission saw). A
//! request is logged once per stage; every stage after `RequestReceived` gives its review, so a
//! log that holds only `ResponseStarted` for an exec still in progress (or cut off) is judged,
//! and the caller judges each `auditID` once.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The fields of an audit event that replay reads; the rest are skipped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    #[serde(rename = "auditID")]
    pub audit_id: String,
    pub stage: String,
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    pub verb: String,
    pub user: Value,
    pub impersonated_user: Option<Value>,
    pub object_ref: Option<ObjectRef>,
    pub response_status: Option<ResponseStatus>,
    pub request_object: Option<Value>,
    pub response_object: Option<Value>,
    pub request_received_timestamp: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectRef {
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub api_group: Option<String>,
    pub api_version: Option<String>,
    pub subresource: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResponseStatus {
    pub code: Option<u16>,
}

impl Event {
    /// The HTTP status the API server answered with, when the event records it.
    pub fn status_code(&self) -> Option<u16> {
        self.response_status.as_ref().and_then(|s| s.code)
    }

    /// Whether the API server refused the request on its own (authorization, validation, an
    /// admission webhook): what replay would deny may have been denied already.
    pub fn refused(&self) -> bool {
        self.status_code().is_some_and(|c| c >= 400)
    }

    /// The identity admission saw: the impersonated user when there is one.
    pub fn requester(&self) -> &Value {
        self.impersonated_user
            .as_ref()
            .filter(|u| u.is_object())
            .unwrap_or(&self.user)
    }

    pub fn username(&self) -> &str {
        self.requester()
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Why an event gives no review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// `RequestReceived` (a later stage records the request with its outcome), or a stage of a
    /// request already judged.
    OtherStage,
    /// Reads, deletes and non-resource URLs: no validating webhook sees them.
    NotAdmitted,
    /// A create or update logged below level `Request`: the object is not in the log.
    NoObject,
    /// A patch whose patched object is not in the log (level `RequestResponse` records it).
    PatchWithoutResult,
    /// A connect request whose URI is not the resource's (`.../pods/NAME/exec?...`).
    UnreadableUri,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::OtherStage => "other-stage",
            Skip::NotAdmitted => "not-admitted",
            Skip::NoObject => "no-object",
            Skip::PatchWithoutResult => "patch-without-result",
            Skip::UnreadableUri => "unreadable-uri",
        }
    }

    /// Whether the event was a request a webhook sees that the log cannot replay: what an
    /// admin fixes with the audit policy.
    pub fn unjudgeable(self) -> bool {
        !matches!(self, Skip::OtherStage | Skip::NotAdmitted)
    }
}

/// The stages that record a request with its outcome (or the start of it, for a long-running
/// exec, attach or port-forward).
fn is_judged_stage(stage: &str) -> bool {
    matches!(stage, "ResponseStarted" | "ResponseComplete" | "Panic")
}

/// The AdmissionReview the API server sent for the request `event` records.
pub fn review_of(event: &Event) -> Result<Value, Skip> {
    if !is_judged_stage(&event.stage) {
        return Err(Skip::OtherStage);
    }
    let Some(target) = event.object_ref.as_ref() else {
        return Err(Skip::NotAdmitted);
    };
    let Some(resource) = target.resource.as_deref().filter(|r| !r.is_empty()) else {
        return Err(Skip::NotAdmitted);
    };
    let group = target.api_group.as_deref().unwrap_or("");
    let version = target.api_version.as_deref().unwrap_or("v1");
    let subresource = target.subresource.as_deref().filter(|s| !s.is_empty());
    let (path, query) = event
        .request_uri
        .split_once('?')
        .unwrap_or((&event.request_uri, ""));
    let dry_run = query_values(query, "dryRun").next().is_some();

    let (operation, kind, object) = match (group, resource, subresource) {
        ("", "pods", Some(sub @ ("exec" | "attach" | "portforward"))) => {
            let object = connect_options(sub, query);
            let kind = object["kind"].as_str().unwrap_or_default().to_string();
            ("CONNECT", gvk("", "v1", &kind), object)
        }
        ("", r @ ("pods" | "services" | "nodes"), Some("proxy")) => {
            let kind = match r {
                "pods" => "PodProxyOptions",
                "services" => "ServiceProxyOptions",
                _ => "NodeProxyOptions",
            };
            let path = proxy_path(path).ok_or(Skip::UnreadableUri)?;
            let object = json!({"kind": kind, "apiVersion": "v1", "path": path});
            ("CONNECT", gvk("", "v1", kind), object)
        }
        _ => {
            let operation = match event.verb.as_str() {
                "create" => "CREATE",
                "update" | "patch" => "UPDATE",
                _ => return Err(Skip::NotAdmitted),
            };
            let object = written_object(event)?;
            let kind = object_kind(&object, group, version).ok_or(Skip::NoObject)?;
            (operation, kind, object)
        }
    };
    let name = target
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            // A create with `generateName` has its name in the response only.
            [Some(&object), event.response_object.as_ref()]
                .into_iter()
                .flatten()
                .find_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        })
        .unwrap_or_default();
    let mut request = json!({
        "uid": event.audit_id,
        "kind": kind,
        "resource": {"group": group, "version": version, "resource": resource},
        "name": name,
        "operation": operation,
        "userInfo": event.requester(),
        "object": object,
        "oldObject": null,
        "dryRun": dry_run,
    });
    if let Some(sub) = subresource {
        request["subResource"] = json!(sub);
    }
    if let Some(ns) = target.namespace.as_deref().filter(|n| !n.is_empty()) {
        request["namespace"] = json!(ns);
    }
    Ok(json!({
        "apiVersion": crate::admission::REVIEW_API_VERSION,
        "kind": "AdmissionReview",
        "request": request,
    }))
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

/// The object a create or update wrote: the request's, or for a patch (which carries only the
/// patch) the response's, when it is the object and not a `Status`.
fn written_object(event: &Event) -> Result<Value, Skip> {
    let whole = |o: &&Value| {
        o.is_object()
            && o.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k != "Status")
    };
    if event.verb == "patch" {
        return event
            .response_object
            .as_ref()
            .filter(whole)
            .cloned()
            .ok_or(Skip::PatchWithoutResult);
    }
    event
        .request_object
        .as_ref()
        .filter(|o| o.is_object())
        .or(event.response_object.as_ref().filter(whole))
        .cloned()
        .ok_or(Skip::NoObject)
}

/// The request's kind: the object's own `apiVersion` and `kind`; a pod without them is a Pod.
fn object_kind(object: &Value, group: &str, version: &str) -> Option<Value> {
    let kind = object.get("kind").and_then(Value::as_str);
    let api_version = object.get("apiVersion").and_then(Value::as_str);
    match (kind, api_version) {
        (Some(kind), Some(av)) => {
            let (g, v) = av.split_once('/').unwrap_or(("", av));
            Some(gvk(g, v, kind))
        }
        (Some(kind), None) => Some(gvk(group, version, kind)),
        (None, _) if group.is_empty() => Some(gvk("", version, "Pod")),
        (None, _) => None,
    }
}

/// Every value of `name` in a URL query (`command=sh&command=-c&command=id`), decoded as the
/// API server decodes it (`+` is a space).
fn query_values<'a>(query: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    form_urlencoded::parse(query.as_bytes())
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A boolean query parameter as Go's `strconv.ParseBool` reads it; absent or unreadable is false.
fn query_flag(query: &str, name: &str) -> bool {
    query_values(query, name)
        .last()
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// The options object of an exec, attach or port-forward, from the request URI's query, as the
/// API server builds it for admission.
fn connect_options(subresource: &str, query: &str) -> Value {
    let container = query_values(query, "container").last();
    let streams = |kind: &str| {
        let mut o = json!({
            "kind": kind, "apiVersion": "v1",
            "stdin": query_flag(query, "stdin"),
            "stdout": query_flag(query, "stdout"),
            "stderr": query_flag(query, "stderr"),
            "tty": query_flag(query, "tty"),
        });
        if let Some(c) = &container {
            o["container"] = json!(c);
        }
        o
    };
    match subresource {
        "exec" => {
            let mut o = streams("PodExecOptions");
            o["command"] = json!(query_values(query, "command").collect::<Vec<_>>());
            o
        }
        "attach" => streams("PodAttachOptions"),
        _ => {
            // `ports=8080&ports=9090` and `ports=8080,9090` both occur.
            let ports: Vec<i64> = query_values(query, "ports")
                .flat_map(|v| {
                    v.split(',')
                        .filter_map(|p| p.trim().parse().ok())
                        .collect::<Vec<i64>>()
                })
                .collect();
            let mut o = json!({"kind": "PodPortForwardOptions", "apiVersion": "v1"});
            if !ports.is_empty() {
                o["ports"] = json!(ports);
            }
            o
        }
    }
}

/// The path a proxy request forwards: what follows `/NAME/proxy` in the URI, decoded, with its
/// leading `/` (`/api/v1/namespaces/ns/pods/web:10250/proxy/runningpods/` -> `/runningpods/`).
fn proxy_path(uri_path: &str) -> Option<String> {
    let segments: Vec<&str> = uri_path.split('/').collect();
    let at = segments.iter().position(|s| *s == "proxy")?;
    // `proxy` must be the subresource, after the resource's name, not an old-style prefix.
    if at < 3 {
        return None;
    }
    let rest = segments[at + 1..].join("/");
    let decoded = percent_encoding::percent_decode_str(&rest)
        .decode_utf8_lossy()
        .into_owned();
    Some(format!("/{decoded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(value: Value) -> Event {
        serde_json::from_value(value).unwrap()
    }

    fn exec_event(uri: &str) -> Event {
        event(json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": "a-1", "stage": "ResponseComplete", "requestURI": uri, "verb": "create",
            "user": {"username": "alice", "groups": ["dev", "system:authenticated"]},
            "objectRef": {"resource": "pods", "namespace": "shop", "name": "web-1",
                          "apiVersion": "v1", "subresource": "exec"},
            "responseStatus": {"metadata": {}, "code": 101},
        }))
    }

    #[test]
    fn an_exec_is_read_from_its_query_with_every_argument_decoded() {
        let e = exec_event(
            "/api/v1/namespaces/shop/pods/web-1/exec?command=sh&command=-c&command=nmap+-sT+10.0.0.0%2F24%20%26%26+id&container=app&stdin=true&stdout=true&stderr=1&tty=false",
        );
        let review = review_of(&e).unwrap();
        let request = &review["request"];
        assert_eq!(request["operation"], "CONNECT");
        assert_eq!(request["subResource"], "exec");
        assert_eq!(request["kind"]["kind"], "PodExecOptions");
        assert_eq!(request["namespace"], "shop");
        assert_eq!(request["name"], "web-1");
        assert_eq!(request["uid"], "a-1");
        let object = &request["object"];
        assert_eq!(
            object["command"],
            json!(["sh", "-c", "nmap -sT 10.0.0.0/24 && id"])
        );
        assert_eq!(object["container"], "app");
        assert_eq!(
            (&object["stdin"], &object["stderr"], &object["tty"]),
            (&json!(true), &json!(true), &json!(false))
        );
    }

    #[test]
    fn every_stage_with_an_outcome_gives_the_review() {
        let mut e = exec_event("/api/v1/namespaces/shop/pods/web-1/exec?command=id");
        e.stage = "RequestReceived".into();
        assert_eq!(review_of(&e), Err(Skip::OtherStage));
        for stage in ["ResponseStarted", "ResponseComplete", "Panic"] {
            e.stage = stage.into();
            assert!(review_of(&e).is_ok(), "{stage}");
        }
    }

    #[test]
    fn the_impersonated_user_is_the_requester() {
        let mut e = exec_event("/api/v1/namespaces/shop/pods/web-1/exec?command=id");
        e.impersonated_user = Some(json!({"username": "system:serviceaccount:ci:deployer"}));
        let review = review_of(&e).unwrap();
        assert_eq!(
            review["request"]["userInfo"]["username"],
            "system:serviceaccount:ci:deployer"
        );
        assert_eq!(e.username(), "system:serviceaccount:ci:deployer");
    }

    #[test]
    fn writes_need_their_object_and_a_patch_its_result() {
        let base = json!({
            "auditID": "a-2", "stage": "ResponseComplete", "verb": "create",
            "requestURI": "/apis/apps/v1/namespaces/shop/deployments",
            "user": {"username": "bob"},
            "objectRef": {"resource": "deployments", "namespace": "shop", "name": "web",
                          "apiGroup": "apps", "apiVersion": "v1"},
        });
        assert_eq!(review_of(&event(base.clone())), Err(Skip::NoObject));

        let mut with_object = base.clone();
        with_object["requestObject"] =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let review = review_of(&event(with_object)).unwrap();
        assert_eq!(review["request"]["operation"], "CREATE");
        assert_eq!(
            review["request"]["kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );

        let mut patch = base.clone();
        patch["verb"] = json!("patch");
        patch["requestObject"] = json!({"spec": {"replicas": 3}});
        assert_eq!(
            review_of(&event(patch.clone())),
            Err(Skip::PatchWithoutResult)
        );
        patch["responseObject"] = json!({"kind": "Status", "code": 422});
        assert_eq!(
            review_of(&event(patch.clone())),
            Err(Skip::PatchWithoutResult)
        );
        patch["responseObject"] =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        assert_eq!(
            review_of(&event(patch)).unwrap()["request"]["operation"],
            "UPDATE"
        );

        for verb in ["get", "list", "watch", "delete", "deletecollection"] {
            let mut read = base.clone();
            read["verb"] = json!(verb);
            assert_eq!(review_of(&event(read)), Err(Skip::NotAdmitted), "{verb}");
        }
        let mut non_resource = base;
        non_resource["objectRef"] = Value::Null;
        assert_eq!(review_of(&event(non_resource)), Err(Skip::NotAdmitted));
    }

    #[test]
    fn proxy_paths_and_port_forward_ports_are_read_from_the_uri() {
        let mut e =
            exec_event("/api/v1/namespaces/monitoring/pods/node-exporter:10250/proxy/runningpods/");
        let target = e.object_ref.as_mut().unwrap();
        target.subresource = Some("proxy".into());
        target.name = Some("node-exporter:10250".into());
        let review = review_of(&e).unwrap();
        assert_eq!(review["request"]["object"]["path"], "/runningpods/");
        assert_eq!(review["request"]["kind"]["kind"], "PodProxyOptions");

        let mut e = exec_event(
            "/api/v1/namespaces/shop/pods/web-1/portforward?ports=8080,10250&ports=2379",
        );
        e.object_ref.as_mut().unwrap().subresource = Some("portforward".into());
        let review = review_of(&e).unwrap();
        assert_eq!(
            review["request"]["object"]["ports"],
            json!([8080, 10250, 2379])
        );
    }

    #[test]
    fn a_dry_run_is_marked() {
        let e = event(json!({
            "auditID": "a-3", "stage": "ResponseComplete", "verb": "create",
            "requestURI": "/api/v1/namespaces/shop/pods?dryRun=All&fieldManager=kubectl",
            "user": {"username": "bob"},
            "objectRef": {"resource": "pods", "namespace": "shop", "apiVersion": "v1"},
            "requestObject": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
        }));
        let review = review_of(&e).unwrap();
        assert_eq!(review["request"]["dryRun"], true);
        assert_eq!(
            review["request"]["name"], "p",
            "a create's name is the object's"
        );
    }
}
