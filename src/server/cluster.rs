//! The server's optional links to the cluster: the pod cache that gives requests their context,
//! Events for denials and escalations, and the containment labeller. All are off unless asked
//! for; each works off the admission path and degrades to judging requests alone.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::core::admission::Operation;

use super::metrics::Metrics;
use crate::cluster::contain::{self, Labeller, Quarantine};
use crate::cluster::events::{self, EventSettings, EventSink, Notice};
use crate::cluster::pods::{self, CacheObserver, PodCache};
use crate::decision::{Action, Decision};
use crate::policy::Policy;
use crate::subject::{PodScope, Subject, SubjectBody};

/// A flood of denials fills the labeller's queue: say so once a second, with the pod.
static DROPPED_LOG: super::ratelimit::LogLimiter =
    super::ratelimit::LogLimiter::new(Duration::from_secs(1));

/// `serve`'s flags for what it does with the Kubernetes API (all off by default).
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterConfig {
    /// Watch running pods (RBAC: list and watch pods) so that exec, attach, port-forward and
    /// debug are judged with their target's risk, and bare pod creation with its namespace's
    /// usual creators. Uses KUBECONFIG, ~/.kube/config or the in-cluster service account.
    #[arg(long)]
    pub pod_cache: bool,
    /// With --pod-cache: watch only this namespace (repeat; none: all namespaces).
    #[arg(long = "pod-cache-namespace", requires = "pod_cache")]
    pub namespaces: Vec<String>,
    /// Publish Kubernetes Events for denials and escalations (RBAC: create and patch
    /// events.k8s.io events).
    #[arg(long)]
    pub events: bool,
    #[command(flatten)]
    pub event_settings: EventSettings,
    /// Label the target pod of a denied exec, attach or port-forward scoring at least this
    /// `reconguard.io/quarantine=<rule>` (RBAC: patch pods). Off unless given.
    #[arg(long)]
    pub quarantine_min_score: Option<u32>,
    /// Kubeconfig for --pod-cache, --events and --quarantine-min-score (default: KUBECONFIG,
    /// ~/.kube/config, else the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<std::path::PathBuf>,
}

impl ClusterConfig {
    pub fn any(&self) -> bool {
        self.pod_cache || self.events || self.quarantine_min_score.is_some()
    }

    /// The publisher's settings, when Events are on.
    pub fn events(&self) -> Option<&EventSettings> {
        self.events.then_some(&self.event_settings)
    }
}

/// What the handlers use; all None without `--pod-cache`, `--events` or `--quarantine`.
#[derive(Default)]
pub struct ClusterState {
    pub pods: Option<Arc<PodCache>>,
    pub events: Option<EventSink>,
    pub labeller: Option<(Labeller, u32)>,
    /// The cache's watch and gauge tasks, stopped with the server. (The Event and label
    /// workers stop by themselves once their queues' senders, above, are dropped.)
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ClusterState {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Observer {
    pods: prometheus::IntGauge,
    bytes: prometheus::IntGauge,
    synced: prometheus::IntGauge,
    errors: prometheus::IntCounter,
}

impl CacheObserver for Observer {
    fn changed(&self, cache: &PodCache) {
        self.pods.set(cache.len() as i64);
        self.synced.set(i64::from(cache.synced()));
    }

    fn listed(&self, cache: &PodCache) {
        self.bytes.set(cache.footprint() as i64);
    }

    fn error(&self, error: &kube::runtime::watcher::Error) {
        self.errors.inc();
        tracing::warn!(%error, "pod cache watch error; retrying");
    }
}

/// Starts what `config` asks for. Only a missing Kubernetes configuration fails: an API server
/// that cannot be reached is retried in the background while requests are judged alone.
pub async fn start(config: &ClusterConfig, metrics: &Metrics) -> anyhow::Result<ClusterState> {
    if !config.any() {
        return Ok(ClusterState::default());
    }
    let client = crate::cluster::client(config.kubeconfig.as_deref())
        .await
        .context("--pod-cache, --events and --quarantine need a Kubernetes API")?;
    let mut state = ClusterState::default();
    if config.pod_cache {
        let cache = Arc::new(PodCache::new(config.namespaces.clone()));
        let observer = Arc::new(Observer {
            pods: metrics.pod_cache_pods.clone(),
            bytes: metrics.pod_cache_bytes.clone(),
            synced: metrics.pod_cache_synced.clone(),
            errors: metrics.pod_cache_errors.clone(),
        });
        let mut tasks = vec![tokio::spawn(pods::run(
            client.clone(),
            cache.clone(),
            observer,
        ))];
        // The projections' bytes are summed after each list and on a timer, not per event.
        let (c, bytes) = (cache.clone(), metrics.pod_cache_bytes.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                bytes.set(c.footprint() as i64);
            }
        }));
        state.pods = Some(cache);
        state.tasks = tasks;
    }
    if let Some(settings) = config.events() {
        let counter = metrics.events.clone();
        state.events = Some(events::start(client.clone(), settings.clone(), move |o| {
            counter.with_label_values(&[o.as_str()]).inc()
        }));
    }
    if let Some(min) = config.quarantine_min_score {
        let counter = metrics.quarantines.clone();
        let labeller = contain::start(client, move |o| {
            counter.with_label_values(&[o.as_str()]).inc()
        });
        state.labeller = Some((labeller, min));
    }
    Ok(state)
}

impl ClusterState {
    /// Adds what the cache knows to `subject` (a debug's target, read from the request itself,
    /// is kept).
    pub fn enrich(&self, subject: &mut Subject) {
        let Some(pods) = &self.pods else {
            return;
        };
        let found = pods.context_for(subject);
        let context = &mut subject.context;
        if context.target.is_none() {
            context.target = found.target;
        }
        context.namespace = context.namespace.take().or(found.namespace);
        context.requester_workload = context
            .requester_workload
            .take()
            .or(found.requester_workload);
    }

    /// Events and containment after a decision; queued, never awaited.
    pub fn after(
        &self,
        policy: &Policy,
        metrics: &Metrics,
        subject: &Subject,
        decision: &Decision,
    ) {
        if subject.dry_run || decision.skipped.is_some() {
            return;
        }
        if let Some(sink) = &self.events {
            if let Some(notice) = notice(policy, subject, decision) {
                if !sink.send(notice) {
                    metrics.events.with_label_values(&["dropped"]).inc();
                }
            }
        }
        if let Some((labeller, min)) = &self.labeller {
            if let Some(q) = quarantine(subject, decision, *min) {
                let (namespace, pod) = (q.namespace.clone(), q.name.clone());
                if !labeller.send(q) {
                    metrics.quarantines.with_label_values(&["dropped"]).inc();
                    if let Some(suppressed) = DROPPED_LOG.admit(std::time::Instant::now()) {
                        tracing::error!(%namespace, %pod, suppressed, "quarantine queue full: pod not labelled");
                    }
                }
            }
        }
    }
}

/// The Event a decision deserves: a denial (or an audit-mode would-be denial), or an escalation
/// raised by context or correlation.
pub fn notice(policy: &Policy, subject: &Subject, decision: &Decision) -> Option<Notice> {
    let escalation = [
        policy.correlation.as_ref().map(|c| c.rule.as_str()),
        policy
            .catalogue
            .context
            .escape_adjacent
            .as_ref()
            .map(|e| e.rule.as_str()),
    ];
    let escalated = decision
        .findings
        .iter()
        .find(|f| escalation.contains(&Some(f.rule.as_str())));
    let reason = if decision.action == Action::Deny {
        "Denied"
    } else if decision.would_deny {
        "WouldDeny"
    } else if escalated.is_some() {
        "Escalated"
    } else {
        return None;
    };
    let top = escalated.or(decision.findings.first())?;
    let name = subject.name.clone()?;
    let (kind, api_version, action) = match &subject.body {
        SubjectBody::Exec(_) => ("Pod", "v1", "Exec"),
        SubjectBody::Attach(_) => ("Pod", "v1", "Attach"),
        SubjectBody::PortForward(_) => ("Pod", "v1", "PortForward"),
        SubjectBody::Proxy(_) => return None,
        SubjectBody::Pod(p) if matches!(p.scope, PodScope::EphemeralOnly(_)) => {
            ("Pod", "v1", "Debug")
        }
        SubjectBody::Pod(_) => (
            subject.kind.as_str(),
            "",
            if subject.operation == Some(Operation::Update) {
                "Update"
            } else {
                "Create"
            },
        ),
        SubjectBody::Skipped(_) => return None,
    };
    let uid = subject
        .context
        .target
        .as_ref()
        .filter(|t| kind == "Pod" && t.name == name)
        .map(|t| t.uid.clone())
        .filter(|u| !u.is_empty());
    let user = subject
        .requester
        .as_ref()
        .map(|r| r.username.as_str())
        .unwrap_or("unknown");
    let rules: Vec<&str> = decision.findings.iter().map(|f| f.rule.as_str()).collect();
    Some(Notice {
        regarding: ObjectReference {
            kind: Some(kind.to_string()),
            api_version: Some(api_version.to_string()).filter(|v| !v.is_empty()),
            namespace: subject.namespace.clone(),
            name: Some(name),
            uid,
            ..Default::default()
        },
        reason: reason.to_string(),
        action: action.to_string(),
        // The finding is masked already; the note is masked whole, as every text that leaves.
        note: crate::mask::text(&format!(
            "{action} by {user} {} by reconguard (score {}): {} [{}]",
            match reason {
                "Denied" => "denied",
                "WouldDeny" => "would be denied (audit mode)",
                _ => "escalated",
            },
            decision.score,
            top.message,
            rules.join(", ")
        ))
        .into_owned(),
        rule: top.rule.clone(),
    })
}

/// The label a denied high-risk request into a pod earns its target.
pub fn quarantine(subject: &Subject, decision: &Decision, min_score: u32) -> Option<Quarantine> {
    let into_pod = matches!(
        subject.body,
        SubjectBody::Exec(_) | SubjectBody::Attach(_) | SubjectBody::PortForward(_)
    );
    if !into_pod || decision.action != Action::Deny || decision.score < min_score {
        return None;
    }
    Some(Quarantine {
        namespace: subject.namespace.clone()?,
        name: subject.name.clone()?,
        uid: subject
            .context
            .target
            .as_ref()
            .map(|t| t.uid.clone())
            .filter(|u| !u.is_empty()),
        rule: decision.findings.first()?.rule.clone(),
    })
}
