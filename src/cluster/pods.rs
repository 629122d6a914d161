//! The pod cache: every running pod of the watched namespaces, reduced to a
//! [`TargetPod`](crate::context::TargetPod), kept current by kube-runtime's watcher (list, then
//! watch from the list's resourceVersion, bookmarks, a relist on 410 Gone, backoff on errors).
//!
//! kube-runtime's `reflector` stores whole objects; a Pod is several KiB and the cache needs about
//! 200 bytes of it, so the watcher's events are applied to a map of projections here, with the
//! reflector's protocol: a relist is buffered and swapped in whole when it is done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;

use crate::context::{Context, NamespacePods, TargetPod};
use crate::subject::{Subject, SubjectBody};

/// Pods that have finished hold no process to exec into and count for no namespace.
const RUNNING: &str = "status.phase!=Succeeded,status.phase!=Failed";

type Namespaced = HashMap<String, HashMap<String, Arc<TargetPod>>>;

/// Shared by the watcher tasks (writers) and the request handlers (readers).
pub struct PodCache {
    pods: RwLock<Namespaced>,
    /// None: every namespace is watched.
    namespaces: Option<Vec<String>>,
    /// Watch streams whose first list has completed.
    synced_streams: AtomicUsize,
    streams: usize,
    synced: AtomicBool,
}

impl PodCache {
    /// A cache of `namespaces` (empty: all).
    pub fn new(namespaces: Vec<String>) -> PodCache {
        let streams = namespaces.len().max(1);
        PodCache {
            pods: RwLock::default(),
            namespaces: (!namespaces.is_empty()).then_some(namespaces),
            synced_streams: AtomicUsize::new(0),
            streams,
            synced: AtomicBool::new(false),
        }
    }

    /// Whether every watch has listed once: before that a missing pod says nothing.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    fn watches(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|n| n.iter().any(|w| w == namespace))
    }

    pub fn len(&self) -> usize {
        self.read().values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate bytes held by the projections.
    pub fn footprint(&self) -> usize {
        self.read()
            .values()
            .flat_map(HashMap::values)
            .map(|p| p.footprint())
            .sum()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Namespaced> {
        // A writer that panicked left a map that is still whole: keep serving it.
        self.pods.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Namespaced> {
        self.pods.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<TargetPod>> {
        self.read().get(namespace)?.get(name).cloned()
    }

    /// The namespace's running pods, when the cache can speak for the namespace.
    pub fn namespace(&self, namespace: &str) -> Option<NamespacePods> {
        if !self.synced() || !self.watches(namespace) {
            return None;
        }
        let pods = self.read();
        Some(NamespacePods::of(
            pods.get(namespace)
                .into_iter()
                .flat_map(HashMap::values)
                .map(Arc::as_ref),
        ))
    }

    /// A running pod holding `account`'s token in `namespace`: the one the token was bound to
    /// when the request says so (`pod`), else any pod running as that account.
    pub fn holder(&self, namespace: &str, account: &str, pod: Option<&str>) -> Option<String> {
        let pods = self.read();
        let in_namespace = pods.get(namespace)?;
        let holder = match pod {
            Some(name) => in_namespace
                .get(name)
                .filter(|p| p.service_account == account),
            None => in_namespace
                .values()
                .filter(|p| p.service_account == account)
                .min_by(|a, b| a.name.cmp(&b.name)),
        }?;
        Some(
            holder
                .controller
                .clone()
                .unwrap_or_else(|| format!("pod {}", holder.name)),
        )
    }

    /// What the cache knows around `subject`; empty for what it does not know.
    pub fn context_for(&self, subject: &Subject) -> Context {
        let mut context = Context::default();
        let namespace = subject.namespace.as_deref().unwrap_or("");
        match &subject.body {
            SubjectBody::Exec(_) | SubjectBody::Attach(_) | SubjectBody::PortForward(_) => {
                if let Some(name) = &subject.name {
                    context.target = self.get(namespace, name);
                }
            }
            SubjectBody::Pod(_)
                if subject.kind == "Pod"
                    && subject.subresource.is_none()
                    && subject.operation.as_deref() == Some("CREATE") =>
            {
                // Only what the creation rule reads: the namespace for a person (a walk over
                // its pods, rare), the token's holder for a service account (and the namespace
                // when a workload holds it).
                let Some(requester) = subject.requester.as_ref() else {
                    return context;
                };
                let user = requester.username.as_str();
                match requester.service_account() {
                    Some((ns, name)) => {
                        context.requester_workload =
                            self.holder(ns, name, requester.pod.as_deref());
                        // The message names the namespace's usual creators.
                        if context.requester_workload.is_some() {
                            context.namespace = self.namespace(namespace);
                        }
                    }
                    None if !user.starts_with("system:") && !user.is_empty() => {
                        context.namespace = self.namespace(namespace);
                    }
                    None => {}
                }
            }
            _ => {}
        }
        context
    }

    /// Applies one watcher event of the stream for `scope` (a namespace, or None for all).
    pub fn apply(&self, scope: Option<&str>, buffer: &mut Option<Namespaced>, event: Event<Pod>) {
        match event {
            Event::Init => *buffer = Some(Namespaced::default()),
            Event::InitApply(pod) => {
                let target = TargetPod::from_pod(&pod);
                if let Some(b) = buffer.as_mut() {
                    insert(b, target);
                }
            }
            Event::InitDone => {
                let listed = buffer.take().unwrap_or_default();
                let mut pods = self.write();
                match scope {
                    None => *pods = listed,
                    Some(ns) => {
                        pods.remove(ns);
                        pods.extend(listed);
                    }
                }
                drop(pods);
                let done = self.synced_streams.fetch_add(1, Ordering::AcqRel) + 1;
                if done >= self.streams {
                    self.synced.store(true, Ordering::Release);
                }
            }
            Event::Apply(pod) => insert(&mut self.write(), TargetPod::from_pod(&pod)),
            Event::Delete(pod) => {
                let target = TargetPod::from_pod(&pod);
                let mut pods = self.write();
                if let Some(ns) = pods.get_mut(&target.namespace) {
                    ns.remove(&target.name);
                    if ns.is_empty() {
                        pods.remove(&target.namespace);
                    }
                }
            }
        }
    }
}

fn insert(pods: &mut Namespaced, target: TargetPod) {
    pods.entry(target.namespace.clone())
        .or_default()
        .insert(target.name.clone(), Arc::new(target));
}

/// What the watch loop reports, for metrics.
pub trait CacheObserver: Send + Sync + 'static {
    fn changed(&self, cache: &PodCache);
    /// After each complete list (the first, and every relist).
    fn listed(&self, _cache: &PodCache) {}
    fn error(&self, error: &watcher::Error);
}

/// Keeps `cache` current until the process stops: one watch of all namespaces, or one per
/// selected namespace. Errors are reported and retried with kube-runtime's default backoff.
pub async fn run(client: kube::Client, cache: Arc<PodCache>, observer: Arc<dyn CacheObserver>) {
    let config = watcher::Config::default().fields(RUNNING).page_size(500);
    let scopes: Vec<Option<String>> = match &cache.namespaces {
        None => vec![None],
        Some(n) => n.iter().cloned().map(Some).collect(),
    };
    let tasks = scopes.into_iter().map(|scope| {
        let (client, cache, observer, config) = (
            client.clone(),
            cache.clone(),
            observer.clone(),
            config.clone(),
        );
        async move {
            let api: Api<Pod> = match &scope {
                None => Api::all(client),
                Some(ns) => Api::namespaced(client, ns),
            };
            let mut buffer = None;
            let mut events = watcher::watcher(api, config).default_backoff().boxed();
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => {
                        let done = matches!(event, Event::InitDone);
                        let quiet = matches!(event, Event::Init | Event::InitApply(_));
                        cache.apply(scope.as_deref(), &mut buffer, event);
                        if done {
                            observer.listed(&cache);
                            tracing::info!(
                                namespace = scope.as_deref().unwrap_or("(all)"),
                                pods = cache.len(),
                                "pod cache listed"
                            );
                        }
                        if !quiet {
                            observer.changed(&cache);
                        }
                    }
                    Err(e) => observer.error(&e),
                }
            }
        }
    });
    futures_util::future::join_all(tasks).await;
}
