//! What is being judged. An AdmissionReview request or a manifest is classified into a
//! `Subject`: a pod spec (Pod, the pod template of a workload, the new containers of a kubectl
//! debug), an exec command, an attach, or something we do not judge.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use kube::core::admission::{AdmissionRequest, Operation};

use crate::admission::RawObject;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Which containers of a pod spec are new in this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodScope {
    All,
    /// kubectl debug: only these ephemeral containers are being added.
    EphemeralOnly(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct PodSubject {
    pub spec: PodSpec,
    pub labels: BTreeMap<String, String>,
    /// Read for the deprecated seccomp and AppArmor annotations, never for exemptions.
    pub annotations: BTreeMap<String, String>,
    pub scope: PodScope,
    /// Whether the object names an owner (a bare pod does not; a workload's template always has one).
    pub owned: bool,
}

impl PodSubject {
    /// Images of the containers in scope, for image exemptions, in normalised form
    /// (`docker.io/library/nginx:latest`); an unparsable reference stays as written.
    pub fn images(&self) -> Vec<String> {
        let spec = &self.spec;
        let mut images: Vec<String> = Vec::new();
        if self.scope == PodScope::All {
            images.extend(
                spec.containers
                    .iter()
                    .chain(spec.init_containers.iter().flatten())
                    .map(|c| c.image.clone().unwrap_or_default()),
            );
        }
        images.extend(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .filter(|c| match &self.scope {
                    PodScope::All => true,
                    PodScope::EphemeralOnly(names) => names.contains(&c.name),
                })
                .map(|c| c.image.clone().unwrap_or_default()),
        );
        images
            .into_iter()
            .map(|raw| {
                crate::norm::image::ImageRef::parse(&raw)
                    .map(|r| r.normalised())
                    .unwrap_or(raw)
            })
            .collect()
    }
}

/// The argv of a `kubectl exec`, from PodExecOptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExecCommand {
    pub command: Vec<String>,
    pub container: String,
    pub stdin: bool,
    pub tty: bool,
}

/// PodAttachOptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AttachOptions {
    pub container: String,
    pub stdin: bool,
    pub tty: bool,
}

/// PodPortForwardOptions. The API server fills `ports` from the URL's query; kubectl sends its
/// ports inside the stream instead, so they are usually absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PortForward {
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<i64>,
}

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// What a proxy request reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyTarget {
    Pod,
    Service,
    Node,
}

/// pods/proxy, services/proxy, nodes/proxy: PodProxyOptions, ServiceProxyOptions and
/// NodeProxyOptions carry only `path`; the port is in the request's name (`web:8080`,
/// `https:web:8443`, `node-1:10250`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRequest {
    pub target: ProxyTarget,
    pub name: String,
    pub path: String,
}

impl ProxyRequest {
    /// The port named in `[scheme:]name[:port]`, if it is a number.
    pub fn port(&self) -> Option<u16> {
        let parts: Vec<&str> = self.name.split(':').collect();
        match parts.as_slice() {
            [_, port] | [_, _, port] => port.parse().ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ProxyOptions {
    #[serde(deserialize_with = "nullable")]
    path: String,
}

#[derive(Debug, Clone)]
pub enum SubjectBody {
    Pod(Box<PodSubject>),
    Exec(ExecCommand),
    Attach(AttachOptions),
    PortForward(PortForward),
    Proxy(ProxyRequest),
    /// Not something reconguard judges; the reason says what it was.
    Skipped(String),
}

/// Who asked, from the review's userInfo.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    pub username: String,
    pub groups: Vec<String>,
    /// The pod a service-account token was bound to (`authentication.kubernetes.io/pod-name`
    /// in userInfo.extra, Kubernetes 1.30 and later): where a service account's request came from.
    pub pod: Option<String>,
}

impl Requester {
    /// A person (or anything the API server does not name `system:`): controllers, nodes and
    /// service accounts are `system:` identities.
    pub fn is_person(&self) -> bool {
        !self.username.is_empty() && !self.username.starts_with("system:")
    }

    /// `(namespace, name)` when the requester is a service account
    /// (`system:serviceaccount:NAMESPACE:NAME`).
    pub fn service_account(&self) -> Option<(&str, &str)> {
        self.username
            .strip_prefix("system:serviceaccount:")?
            .split_once(':')
    }
}

#[derive(Debug, Clone)]
pub struct Subject {
    /// The object's kind (Pod, Deployment, PodExecOptions...).
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The admission operation; None for a manifest read from a file.
    pub operation: Option<Operation>,
    pub subresource: Option<String>,
    pub uid: Option<String>,
    pub requester: Option<Requester>,
    pub dry_run: bool,
    pub body: SubjectBody,
    /// What the server's pod cache knows around the request; empty without one.
    pub context: crate::context::Context,
}

/// The kinds of request a policy mode can be set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Pods and the pod templates of workloads.
    Pods,
    /// pods/exec and pods/attach.
    Exec,
    /// pods/ephemeralcontainers (`kubectl debug`).
    Debug,
    /// pods/portforward and the proxy subresources.
    Tunnels,
}

impl Subject {
    /// A Pod created directly, whole (not a workload's template, not a subresource): what the
    /// unexpected-creation rule judges and what the pod cache gathers context for.
    pub fn creates_pod(&self) -> bool {
        self.kind == "Pod"
            && self.subresource.is_none()
            && self.operation == Some(Operation::Create)
            && matches!(&self.body, SubjectBody::Pod(p) if p.scope == PodScope::All)
    }

    /// What kind of activity the request is (the policy sets a mode per kind).
    pub fn activity(&self) -> Activity {
        match &self.body {
            SubjectBody::Pod(_) if self.subresource.as_deref() == Some("ephemeralcontainers") => {
                Activity::Debug
            }
            SubjectBody::Pod(_) | SubjectBody::Skipped(_) => Activity::Pods,
            SubjectBody::Exec(_) | SubjectBody::Attach(_) => Activity::Exec,
            SubjectBody::PortForward(_) | SubjectBody::Proxy(_) => Activity::Tunnels,
        }
    }

    /// `namespace/name` of the service account that sent the request, when one did.
    pub fn requester_service_account(&self) -> Option<String> {
        let (ns, name) = self.requester.as_ref()?.service_account()?;
        Some(format!("{ns}/{name}"))
    }

    /// `namespace/name` of the service account a Pod or workload template runs as (`default`
    /// when unnamed). `None` for kubectl debug: its container is the requester's, not the pod's.
    pub fn pod_service_account(&self) -> Option<String> {
        match &self.body {
            SubjectBody::Pod(pod) if pod.scope == PodScope::All => {
                let sa = pod
                    .spec
                    .service_account_name
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("default");
                Some(format!("{}/{sa}", self.namespace.as_deref()?))
            }
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubjectError {
    #[error("not an object")]
    NotAnObject,
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("unsupported AdmissionReview apiVersion {0:?} (only admission.k8s.io/v1)")]
    UnsupportedVersion(String),
}

fn invalid(what: &str, reason: impl ToString) -> SubjectError {
    SubjectError::Invalid {
        what: what.to_string(),
        reason: reason.to_string(),
    }
}

/// Resource -> where its pod template sits.
fn template_path(group: &str, resource_or_kind: &str) -> Option<&'static [&'static str]> {
    const TEMPLATE: &[&str] = &["spec", "template"];
    const CRON: &[&str] = &["spec", "jobTemplate", "spec", "template"];
    match (group, resource_or_kind) {
        ("apps", "deployments" | "Deployment")
        | ("apps", "replicasets" | "ReplicaSet")
        | ("apps", "statefulsets" | "StatefulSet")
        | ("apps", "daemonsets" | "DaemonSet")
        | ("batch", "jobs" | "Job")
        | ("", "replicationcontrollers" | "ReplicationController") => Some(TEMPLATE),
        ("batch", "cronjobs" | "CronJob") => Some(CRON),
        _ => None,
    }
}

fn dig<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn string_map(meta: Option<&Value>, key: &str) -> BTreeMap<String, String> {
    meta.and_then(|m| m.get(key))
        .and_then(|l| BTreeMap::<String, String>::deserialize(l).ok())
        .unwrap_or_default()
}

fn pod_spec(spec: Option<&Value>) -> Result<PodSpec, SubjectError> {
    let spec = spec.ok_or(SubjectError::Missing("spec"))?;
    PodSpec::deserialize(spec).map_err(|e| invalid("pod spec", e))
}

/// The pod subject of a workload object (its template) or of a Pod (`template` is None).
fn pod_from(object: &Value, template: Option<&[&str]>) -> Result<PodSubject, SubjectError> {
    let (meta, spec) = match template {
        Some(path) => {
            let t = dig(object, path).ok_or(SubjectError::Missing("spec.template"))?;
            (t.get("metadata"), t.get("spec"))
        }
        None => (object.get("metadata"), object.get("spec")),
    };
    Ok(PodSubject {
        spec: pod_spec(spec)?,
        labels: string_map(meta, "labels"),
        annotations: string_map(meta, "annotations"),
        scope: PodScope::All,
        owned: template.is_some()
            || meta
                .and_then(|m| m.get("ownerReferences"))
                .and_then(Value::as_array)
                .is_some_and(|o| !o.is_empty()),
    })
}

/// A Pod's spec, decoded straight from the review's bytes.
#[derive(Deserialize)]
struct PodParts {
    spec: Option<PodSpec>,
}

/// The pod subject of a Pod in a review: the hot path, without a `Value` tree.
fn pod_of(object: &RawObject) -> Result<PodSubject, SubjectError> {
    let parts: PodParts = object.decode().map_err(|e| invalid("pod spec", e))?;
    let meta = &object.metadata;
    Ok(PodSubject {
        spec: parts.spec.ok_or(SubjectError::Missing("spec"))?,
        labels: meta.labels.clone().unwrap_or_default(),
        annotations: meta.annotations.clone().unwrap_or_default(),
        scope: PodScope::All,
        owned: meta
            .owner_references
            .as_ref()
            .is_some_and(|o| !o.is_empty()),
    })
}

fn split_api_version(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Subjects of a manifest: a Pod, a workload, a List of them, an AdmissionReview, or
/// PodExecOptions. Other kinds become a skipped subject.
pub fn from_manifest(value: &Value) -> Result<Vec<Subject>, SubjectError> {
    let obj = value.as_object().ok_or(SubjectError::NotAnObject)?;
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let meta = obj.get("metadata");
    let base = |body| Subject {
        kind: kind.to_string(),
        namespace: meta.and_then(|m| str_field(m, "namespace")),
        name: meta.and_then(|m| str_field(m, "name")),
        operation: None,
        subresource: None,
        uid: None,
        requester: None,
        dry_run: false,
        body,
        context: Default::default(),
    };
    match kind {
        "List" => {
            let items = obj
                .get("items")
                .and_then(Value::as_array)
                .ok_or(SubjectError::Missing("items"))?;
            let mut out = Vec::new();
            for item in items {
                out.extend(from_manifest(item)?);
            }
            Ok(out)
        }
        "AdmissionReview" => {
            if api_version != crate::admission::REVIEW_API_VERSION {
                return Err(SubjectError::UnsupportedVersion(api_version.to_string()));
            }
            let bytes = serde_json::to_vec(value).map_err(|e| invalid("AdmissionReview", e))?;
            let request = crate::admission::read_review(&bytes).map_err(|e| match e {
                crate::admission::ReviewError::MissingRequest => SubjectError::Missing("request"),
                e => invalid("AdmissionReview", e),
            })?;
            Ok(vec![from_request(&request)?])
        }
        "Pod" if split_api_version(api_version).is_empty() => Ok(vec![base(SubjectBody::Pod(
            Box::new(pod_from(value, None)?),
        ))]),
        "PodExecOptions" => {
            let exec = ExecCommand::deserialize(value).map_err(|e| invalid("PodExecOptions", e))?;
            Ok(vec![base(SubjectBody::Exec(exec))])
        }
        "PodPortForwardOptions" => {
            let forward =
                PortForward::deserialize(value).map_err(|e| invalid("PodPortForwardOptions", e))?;
            Ok(vec![base(SubjectBody::PortForward(forward))])
        }
        "PodProxyOptions" | "ServiceProxyOptions" | "NodeProxyOptions" => {
            let options = ProxyOptions::deserialize(value).map_err(|e| invalid(kind, e))?;
            let target = match kind {
                "PodProxyOptions" => ProxyTarget::Pod,
                "ServiceProxyOptions" => ProxyTarget::Service,
                _ => ProxyTarget::Node,
            };
            Ok(vec![base(SubjectBody::Proxy(ProxyRequest {
                target,
                name: meta.and_then(|m| str_field(m, "name")).unwrap_or_default(),
                path: options.path,
            }))])
        }
        _ => match template_path(split_api_version(api_version), kind) {
            Some(path) => Ok(vec![base(SubjectBody::Pod(Box::new(pod_from(
                value,
                Some(path),
            )?)))]),
            None => Ok(vec![base(SubjectBody::Skipped(format!(
                "{kind} ({api_version}) is not judged"
            )))]),
        },
    }
}

/// The operation as the API server spells it.
pub fn operation_name(op: &Operation) -> &'static str {
    match op {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}

/// The names of a pod's ephemeral containers; none when they cannot be read.
fn ephemeral_names(pod: Option<&RawObject>) -> Vec<String> {
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ephemeral {
        #[serde(default)]
        ephemeral_containers: Vec<Named>,
    }
    #[derive(Deserialize)]
    struct Pod {
        spec: Option<Ephemeral>,
    }
    pod.and_then(|p| p.decode::<Pod>().ok())
        .and_then(|p| p.spec)
        .map(|s| s.ephemeral_containers.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// Whether `path` holds the same value in both objects. Pod Security Admission's rule for
/// UPDATEs: what did not change was judged when it was created, and judging it again would stop
/// controllers from removing a finalizer, adopting a pod or scaling down an old ReplicaSet once
/// the policy got stricter.
fn unchanged(new: Option<&Value>, old: Option<&Value>, path: &[&str]) -> bool {
    match (
        new.and_then(|n| dig(n, path)),
        old.and_then(|o| dig(o, path)),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// [`unchanged`] for a Pod's `spec`, from the bytes: the API server writes both objects with the
/// same encoder, so an unchanged spec is almost always the same text, and only differing texts are
/// compared as trees (key order and spacing do not make a change).
fn spec_unchanged(new: Option<&RawObject>, old: Option<&RawObject>) -> bool {
    #[derive(Deserialize)]
    struct Spec<'a> {
        #[serde(borrow)]
        spec: Option<&'a RawValue>,
    }
    fn spec(o: Option<&RawObject>) -> Option<&RawValue> {
        o.and_then(|o| o.decode::<Spec>().ok()).and_then(|s| s.spec)
    }
    match (spec(new), spec(old)) {
        (Some(a), Some(b)) if a.get() == b.get() => true,
        (Some(a), Some(b)) => {
            let tree = |r: &RawValue| serde_json::from_str::<Value>(r.get()).ok();
            matches!((tree(a), tree(b)), (Some(a), Some(b)) if a == b)
        }
        _ => false,
    }
}

/// An object of a review as a tree, for the paths that dig by name.
fn tree(object: Option<&RawObject>) -> Result<Option<Value>, SubjectError> {
    object
        .map(|o| o.value().map_err(|e| invalid("object", e)))
        .transpose()
}

/// A workload's pod template; an UPDATE that leaves it as it was is skipped. Replicas, selectors,
/// paused, suspend, metadata: the pod template is what is judged.
fn workload(
    path: &[&str],
    operation: &str,
    object: &RawObject,
    old_object: Option<&RawObject>,
) -> Result<SubjectBody, SubjectError> {
    let new = object.value().map_err(|e| invalid("object", e))?;
    if operation == "UPDATE" && unchanged(Some(&new), tree(old_object)?.as_ref(), path) {
        return Ok(SubjectBody::Skipped(
            "an UPDATE that leaves the pod template unchanged is not judged".into(),
        ));
    }
    Ok(SubjectBody::Pod(Box::new(pod_from(&new, Some(path))?)))
}

/// A connect subresource's options (PodExecOptions and the like), decoded from the bytes.
fn options<'a, T: Deserialize<'a>>(object: &'a RawObject, what: &str) -> Result<T, SubjectError> {
    object.decode().map_err(|e| invalid(what, e))
}

/// Classifies one admission request.
pub fn from_request(req: &AdmissionRequest<RawObject>) -> Result<Subject, SubjectError> {
    let operation = operation_name(&req.operation);
    let subresource = req.sub_resource.clone().filter(|s| !s.is_empty());
    let object = req.object.as_ref();
    let old_object = req.old_object.as_ref();
    let required = || object.ok_or(SubjectError::Missing("request.object"));
    let group = req.resource.group.as_str();
    let resource = req.resource.resource.as_str();
    let template = template_path(group, resource).filter(|_| subresource.is_none());
    let mut target = None;
    let body = match (group, resource, subresource.as_deref(), operation) {
        // Metadata, labels, finalizers, ownerReferences: the spec is what is judged.
        ("", "pods", None, "UPDATE") if spec_unchanged(object, old_object) => SubjectBody::Skipped(
            "an UPDATE that leaves the pod spec unchanged is not judged".into(),
        ),
        ("", "pods", None, "CREATE" | "UPDATE") => SubjectBody::Pod(Box::new(pod_of(required()?)?)),
        ("", "pods", Some("exec"), "CONNECT") => {
            SubjectBody::Exec(options(required()?, "PodExecOptions")?)
        }
        ("", "pods", Some("attach"), "CONNECT") => {
            SubjectBody::Attach(options(required()?, "PodAttachOptions")?)
        }
        ("", "pods", Some("portforward"), "CONNECT") => SubjectBody::PortForward(match object {
            Some(o) => options(o, "PodPortForwardOptions")?,
            None => PortForward::default(),
        }),
        ("", r @ ("pods" | "services" | "nodes"), Some("proxy"), "CONNECT") => {
            let options: ProxyOptions = match object {
                Some(o) => options(o, "proxy options")?,
                None => ProxyOptions::default(),
            };
            SubjectBody::Proxy(ProxyRequest {
                target: match r {
                    "pods" => ProxyTarget::Pod,
                    "services" => ProxyTarget::Service,
                    _ => ProxyTarget::Node,
                },
                name: req.name.clone(),
                path: options.path,
            })
        }
        ("", "pods", Some("ephemeralcontainers"), "UPDATE" | "CREATE") => {
            let mut pod = pod_of(required()?)?;
            let before = ephemeral_names(old_object);
            let added: Vec<String> = (pod.spec.ephemeral_containers.iter().flatten())
                .map(|c| c.name.clone())
                .filter(|n| !before.contains(n))
                .collect();
            pod.scope = PodScope::EphemeralOnly(added);
            // The pod being debugged is in the request: its own spec is the target's context.
            let meta = &required()?.metadata;
            target = Some(std::sync::Arc::new(crate::context::TargetPod::from_parts(
                meta, &pod.spec,
            )));
            SubjectBody::Pod(Box::new(pod))
        }
        (_, _, None, "CREATE" | "UPDATE") if template.is_some() => workload(
            template.unwrap_or_default(),
            operation,
            required()?,
            old_object,
        )?,
        (g, r, sub, op) => {
            let what = match sub {
                Some(s) => format!("{r}/{s}"),
                None => r.to_string(),
            };
            let group = if g.is_empty() { "core" } else { g };
            SubjectBody::Skipped(format!("{op} of {group} {what} is not judged"))
        }
    };
    Ok(Subject {
        kind: req.kind.kind.clone(),
        namespace: req.namespace.clone(),
        name: Some(req.name.clone()).filter(|n| !n.is_empty()),
        operation: Some(req.operation.clone()),
        subresource,
        uid: Some(req.uid.clone()),
        requester: Some(Requester {
            username: req.user_info.username.clone().unwrap_or_default(),
            groups: req.user_info.groups.clone().unwrap_or_default(),
            pod: req
                .user_info
                .extra
                .as_ref()
                .and_then(|e| e.get("authentication.kubernetes.io/pod-name"))
                .and_then(|v| v.first())
                .cloned(),
        }),
        dry_run: req.dry_run,
        body,
        context: crate::context::Context {
            target,
            ..Default::default()
        },
    })
}
