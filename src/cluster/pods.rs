//! The pod cache: every running pod of the watched namespaces, reduced to a
//! [`TargetPod`](crate::context::TargetPod), kept current by kube-runtime's watcher (list, then
//! watch from the list's resourceVersion, bookmarks, a relist on 410 Gone, backoff on errors).
//!
//! kube-runtime's `reflector` stores whole objects; a Pod is several KiB and the cache needs about
//! 200 bytes of it, so the watcher's events are applied to a map of projections here, with the
//! reflector's protocol: a relist is buffered and swapped in whole when it is done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

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
    /// Per watch stream (one per namespace, or one for all), whether it has listed once.
    listed: Vec<AtomicBool>,
    synced: AtomicBool,
}

impl PodCache {
    /// A cache of `namespaces` (empty: all).
    pub fn new(namespaces: Vec<String>) -> PodCache {
        let streams = namespaces.len().max(1);
        PodCache {
            pods: RwLock::default(),
            namespaces: (!namespaces.is_empty()).then_some(namespaces),
            listed: (0..streams).map(|_| AtomicBool::new(false)).collect(),
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

    fn read(&self) -> RwLockReadGuard<'_, Namespaced> {
        self.pods.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Namespaced> {
        self.pods.write()
    }

    /// The stream that watches `scope` (a namespace, or None for all).
    fn stream(&self, scope: Option<&str>) -> usize {
        match (&self.namespaces, scope) {
            (Some(watched), Some(ns)) => watched.iter().position(|w| w == ns).unwrap_or(0),
            _ => 0,
        }
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
            SubjectBody::Pod(_) if subject.creates_pod() => {
                // Only what the creation rule reads: the namespace for a person (a walk over
                // its pods, rare), the token's holder for a service account (and the namespace
                // when a workload holds it).
                let Some(requester) = subject.requester.as_ref() else {
                    return context;
                };
                match requester.service_account() {
                    Some((ns, name)) => {
                        context.requester_workload =
                            self.holder(ns, name, requester.pod.as_deref());
                        // The message names the namespace's usual creators.
                        if context.requester_workload.is_some() {
                            context.namespace = self.namespace(namespace);
                        }
                    }
                    None if requester.is_person() => {
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
                // Synced once every stream has listed: a relist of one namespace says nothing
                // about another that has not listed yet.
                if let Some(listed) = self.listed.get(self.stream(scope)) {
                    listed.store(true, Ordering::Release);
                }
                if self.listed.iter().all(|l| l.load(Ordering::Acquire)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn list(cache: &PodCache, scope: Option<&str>) {
        let mut buffer = None;
        cache.apply(scope, &mut buffer, Event::Init);
        cache.apply(scope, &mut buffer, Event::InitDone);
    }

    #[test]
    fn synced_only_when_every_namespace_has_listed() {
        let cache = PodCache::new(vec!["a".into(), "b".into()]);
        list(&cache, Some("a"));
        // A relist of the same namespace (a 410 Gone) is not the other namespace's list.
        list(&cache, Some("a"));
        assert!(!cache.synced());
        assert!(
            cache.namespace("a").is_none(),
            "not synced: the cache cannot speak yet"
        );
        list(&cache, Some("b"));
        assert!(cache.synced());
        assert!(cache.namespace("a").is_some());
    }

    #[test]
    fn one_stream_for_all_namespaces_syncs_with_its_list() {
        let cache = PodCache::new(Vec::new());
        assert!(!cache.synced());
        list(&cache, None);
        assert!(cache.synced());
    }
}
