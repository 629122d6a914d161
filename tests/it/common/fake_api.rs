//! A fake Kubernetes API server on loopback (plain HTTP), serving what reconguard's cluster side
//! uses the way the real one does: list with resourceVersion, limit and continue; watch from a
//! resourceVersion with bookmarks and timeoutSeconds; `410 Gone` (an ERROR event with a 410
//! Status) for a resourceVersion older than the last compaction; merge patches of pods (with the
//! uid precondition); Event create and patch; server-side apply of any object. Every request is
//! recorded for assertions.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::broadcast;

/// `(api prefix, resource)`, e.g. `("api/v1", "pods")`, `("apis/apps/v1", "deployments")`.
type Collection = (String, String);

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<Collection, BTreeMap<(String, String), Value>>,
    /// Changes of watched collections, for replay from a resourceVersion.
    log: Vec<(u64, Collection, &'static str, Value)>,
    /// Watches from before this resourceVersion get 410 Gone.
    compacted: u64,
    requests: Vec<Recorded>,
}

pub struct FakeApi {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<(u64, Collection, &'static str, Value)>,
    /// Closes open watches when sent to (a restart of the API server, say).
    hangup: broadcast::Sender<()>,
    pub addr: std::net::SocketAddr,
}

fn collection(prefix: &str, resource: &str) -> Collection {
    (prefix.to_string(), resource.to_string())
}

impl FakeApi {
    pub async fn start() -> Arc<FakeApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (changes, _) = broadcast::channel(1024);
        let (hangup, _) = broadcast::channel(4);
        let api = Arc::new(FakeApi {
            inner: Mutex::new(Inner {
                rv: 100,
                ..Default::default()
            }),
            changes,
            hangup,
            addr: listener.local_addr().unwrap(),
        });
        let router = Router::new().fallback(handle).with_state(api.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        api
    }

    /// A kubeconfig pointing at this server.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             users:\n- name: fake\n  user:\n    token: fake-token\ncontexts:\n- name: fake\n  context:\n    \
             cluster: fake\n    user: fake\ncurrent-context: fake\n",
            self.addr
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Stores (or replaces) an object and tells watchers.
    pub fn put(&self, prefix: &str, resource: &str, mut object: Value) -> Value {
        let mut inner = self.inner.lock().unwrap();
        inner.rv += 1;
        let rv = inner.rv;
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if object["metadata"]["uid"].is_null() {
            object["metadata"]["uid"] = json!(format!("uid-{ns}-{name}"));
        }
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = collection(prefix, resource);
        let existed = inner
            .objects
            .entry(key.clone())
            .or_default()
            .insert((ns, name), object.clone())
            .is_some();
        let kind = if existed { "MODIFIED" } else { "ADDED" };
        inner.log.push((rv, key.clone(), kind, object.clone()));
        let _ = self.changes.send((rv, key, kind, object.clone()));
        object
    }

    pub fn put_pod(&self, pod: Value) -> Value {
        self.put("api/v1", "pods", pod)
    }

    /// Deletes an object; `quietly` leaves no watch event (as if it happened while a watch was
    /// down and the history was compacted).
    pub fn delete(&self, prefix: &str, resource: &str, ns: &str, name: &str, quietly: bool) {
        let mut inner = self.inner.lock().unwrap();
        inner.rv += 1;
        let rv = inner.rv;
        let key = collection(prefix, resource);
        let removed = inner
            .objects
            .get_mut(&key)
            .and_then(|c| c.remove(&(ns.to_string(), name.to_string())));
        if let (Some(mut object), false) = (removed, quietly) {
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            inner.log.push((rv, key.clone(), "DELETED", object.clone()));
            let _ = self.changes.send((rv, key, "DELETED", object));
        }
    }

    /// Forgets the change history: watches from an older resourceVersion get 410 Gone. Open
    /// watches are closed, as an API server restart would.
    pub fn compact(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.compacted = inner.rv + 1;
        inner.log.clear();
        let _ = self.hangup.send(());
    }

    pub fn get(&self, prefix: &str, resource: &str, ns: &str, name: &str) -> Option<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .objects
            .get(&collection(prefix, resource))?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    pub fn all(&self, prefix: &str, resource: &str) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .objects
            .get(&collection(prefix, resource))
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Requests matching a method and a path suffix.
    pub fn count(&self, method: &str, path_contains: &str, query_contains: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| {
                r.method == method
                    && r.path.contains(path_contains)
                    && r.query.contains(query_contains)
            })
            .count()
    }
}

/// `/api/v1[/namespaces/NS]/RESOURCE[/NAME]` or `/apis/G/V[/namespaces/NS]/RESOURCE[/NAME]`.
struct Target {
    prefix: String,
    namespace: Option<String>,
    resource: String,
    name: Option<String>,
}

fn parse(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (prefix, rest) = match *parts.first()? {
        "api" => (parts.get(..2)?.join("/"), &parts[2..]),
        "apis" => (parts.get(..3)?.join("/"), &parts[3..]),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    match rest {
        [resource] => Some(Target {
            prefix,
            namespace,
            resource: resource.to_string(),
            name: None,
        }),
        [resource, name] => Some(Target {
            prefix,
            namespace,
            resource: resource.to_string(),
            name: Some(name.to_string()),
        }),
        _ => None,
    }
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        axum::Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16(),
        })),
    )
        .into_response()
}

/// `a=b&c=d`, percent-decoded.
fn query_pairs(query: &str) -> BTreeMap<String, String> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => out.push(b),
                        Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                    }
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Whether an object passes the one field selector reconguard sends.
fn selected(object: &Value, fields: Option<&String>) -> bool {
    let Some(fields) = fields else { return true };
    let phase = object["status"]["phase"].as_str().unwrap_or("Pending");
    fields.split(',').all(|term| match term.split_once("!=") {
        Some(("status.phase", value)) => phase != value,
        _ => true,
    })
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

async fn handle(
    State(api): State<Arc<FakeApi>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query_pairs(uri.query().unwrap_or(""));
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let parsed_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    api.inner.lock().unwrap().requests.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        content_type: content_type.clone(),
        body: parsed_body.clone(),
    });
    let Some(target) = parse(uri.path()) else {
        return status(StatusCode::NOT_FOUND, "NotFound", "no such path");
    };
    let key = collection(&target.prefix, &target.resource);
    match (method.as_str(), &target.name) {
        ("GET", None) if query.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            watch(api, key, target.namespace, query)
        }
        ("GET", None) => list(&api, &key, target.namespace.as_deref(), &query),
        ("GET", Some(name)) => {
            match api.get(
                &key.0,
                &key.1,
                target.namespace.as_deref().unwrap_or(""),
                name,
            ) {
                Some(o) => axum::Json(o).into_response(),
                None => status(StatusCode::NOT_FOUND, "NotFound", "not found"),
            }
        }
        ("POST", None) => {
            let mut object = parsed_body;
            if object["metadata"]["namespace"].is_null() {
                object["metadata"]["namespace"] = json!(target.namespace);
            }
            (
                StatusCode::CREATED,
                axum::Json(api.put(&key.0, &key.1, object)),
            )
                .into_response()
        }
        ("PATCH", Some(name)) => {
            let ns = target.namespace.clone().unwrap_or_default();
            if content_type.starts_with("application/apply-patch") {
                // Server-side apply with force: the applied object becomes the object.
                let mut object = parsed_body;
                object["metadata"]["namespace"] = json!(ns);
                object["metadata"]["name"] = json!(name);
                return axum::Json(api.put(&key.0, &key.1, object)).into_response();
            }
            let Some(mut object) = api.get(&key.0, &key.1, &ns, name) else {
                return status(StatusCode::NOT_FOUND, "NotFound", "not found");
            };
            let uid = &parsed_body["metadata"]["uid"];
            if !uid.is_null() && *uid != object["metadata"]["uid"] {
                return status(
                    StatusCode::CONFLICT,
                    "Conflict",
                    "Precondition failed: UID in precondition does not match the object",
                );
            }
            merge(&mut object, &parsed_body);
            axum::Json(api.put(&key.0, &key.1, object)).into_response()
        }
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "not served by the fake",
        ),
    }
}

fn list(
    api: &FakeApi,
    key: &Collection,
    namespace: Option<&str>,
    query: &BTreeMap<String, String>,
) -> Response {
    let inner = api.inner.lock().unwrap();
    let fields = query.get("fieldSelector");
    let matching = || {
        inner
            .objects
            .get(key)
            .into_iter()
            .flat_map(|c| c.iter())
            .filter(|((ns, _), o)| namespace.is_none_or(|n| n == ns) && selected(o, fields))
            .map(|(_, o)| o)
    };
    let offset: usize = query
        .get("continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = matching().skip(offset).take(limit).cloned().collect();
    let next = offset.saturating_add(page.len());
    let total = matching().count();
    let mut metadata = json!({"resourceVersion": inner.rv.to_string()});
    if next < total {
        metadata["continue"] = json!(next.to_string());
    }
    axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": page}))
        .into_response()
}

fn line(kind: &str, object: &Value) -> Result<Bytes, Infallible> {
    let mut text = serde_json::to_string(&json!({"type": kind, "object": object})).unwrap();
    text.push('\n');
    Ok(Bytes::from(text))
}

fn watch(
    api: Arc<FakeApi>,
    key: Collection,
    namespace: Option<String>,
    query: BTreeMap<String, String>,
) -> Response {
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(300u64);
    let fields = query.get("fieldSelector").cloned();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(1024);
    let mut changes = api.changes.subscribe();
    let mut hangup = api.hangup.subscribe();
    let (backlog, gone) = {
        let inner = api.inner.lock().unwrap();
        let backlog: Vec<_> = inner
            .log
            .iter()
            .filter(|(rv, k, _, _)| *rv > from && *k == key)
            .cloned()
            .collect();
        (backlog, from < inner.compacted)
    };
    let wanted = move |k: &Collection, o: &Value| {
        *k == key
            && namespace
                .as_deref()
                .is_none_or(|n| o["metadata"]["namespace"].as_str() == Some(n))
    };
    tokio::spawn(async move {
        if gone {
            let _ = tx
                .send(line(
                    "ERROR",
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": "too old resource version",
                            "reason": "Expired", "code": 410}),
                ))
                .await;
            return;
        }
        let mut last = from;
        for (rv, k, kind, o) in backlog {
            if wanted(&k, &o) {
                let kind = if selected(&o, fields.as_ref()) {
                    kind
                } else {
                    "DELETED"
                };
                let _ = tx.send(line(kind, &o)).await;
            }
            last = rv;
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                // A hang-up sent before a change is seen before it.
                biased;
                _ = hangup.recv() => return,
                _ = &mut deadline => return,
                change = changes.recv() => match change {
                    Ok((rv, k, kind, o)) if rv > last => {
                        last = rv;
                        if wanted(&k, &o) {
                            let kind = if selected(&o, fields.as_ref()) { kind } else { "DELETED" };
                            if tx.send(line(kind, &o)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    let mark = json!({"kind": "Pod", "apiVersion": "v1",
                                      "metadata": {"resourceVersion": last.to_string()}});
                    if tx.send(line("BOOKMARK", &mark)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stream = receiver_stream(rx);
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn receiver_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, Infallible>>,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A running pod manifest.
pub fn pod(ns: &str, name: &str, spec: Value, owner: Option<(&str, &str)>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}]},
        "spec": spec,
        "status": {"phase": "Running"},
    });
    if let Some((kind, owner)) = owner {
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": format!("uid-{owner}"),
            "controller": true,
        }]);
    } else {
        pod["metadata"]["managedFields"] =
            json!([{"manager": "kubectl-run", "operation": "Update"}]);
    }
    pod
}
