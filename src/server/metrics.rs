//! Prometheus metrics. Labels are bounded: operation, resource, subresource, decision, rule,
//! technique, namespace, result, reason; never user, pod or command.

use crate::decision::ExemptionEffect;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Resources and subresources reconguard is registered for; anything else a caller sends is
/// counted as `other`, so a client that is not the API server cannot grow the label sets.
const RESOURCES: &[&str] = &[
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "replicationcontrollers",
    "services",
    "nodes",
];
const SUBRESOURCES: &[&str] = &[
    "",
    "exec",
    "attach",
    "ephemeralcontainers",
    "portforward",
    "proxy",
];
/// Distinct namespaces tracked in `denials_total`; later ones are counted as `other`.
const MAX_NAMESPACES: usize = 1000;

fn bounded<'a>(value: &'a str, known: &[&str]) -> &'a str {
    if known.contains(&value) {
        value
    } else {
        "other"
    }
}

pub fn resource_label(resource: &str) -> &str {
    bounded(resource, RESOURCES)
}

pub fn subresource_label(subresource: &str) -> &str {
    bounded(subresource, SUBRESOURCES)
}

pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub evaluation_duration: HistogramVec,
    pub rule_matches: IntCounterVec,
    pub denials: IntCounterVec,
    pub policy_reloads: IntCounterVec,
    pub tls_reloads: IntCounterVec,
    pub certificate_expiry: Gauge,
    pub errors: IntCounterVec,
    pub decision_log_dropped: prometheus::IntCounter,
    pub tls_handshake_failures: IntCounterVec,
    pub exemption_hits: IntCounterVec,
    /// Correlation state of this replica.
    pub correlation_identities: prometheus::IntGauge,
    pub correlation_duplicates: prometheus::IntCounter,
    pub correlation_evictions: prometheus::IntCounter,
    /// The shared correlation store (`--correlation-store`): which memory answers, and why the
    /// store did not.
    pub correlation_store_mode: prometheus::IntGaugeVec,
    pub correlation_store_errors: IntCounterVec,
    /// The pod cache (`--pod-cache`) and what is published to the cluster.
    pub pod_cache_pods: prometheus::IntGauge,
    pub pod_cache_bytes: prometheus::IntGauge,
    pub pod_cache_synced: prometheus::IntGauge,
    pub pod_cache_errors: prometheus::IntCounter,
    pub events: IntCounterVec,
    pub quarantines: IntCounterVec,
    namespaces: parking_lot::Mutex<std::collections::HashSet<String>>,
}

/// Buckets around the API server's webhook timeouts (1-10 s): fine below 50 ms, coarse above.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "reconguard_admission_requests_total",
                "Admission requests judged, by decision.",
            ),
            &["operation", "resource", "subresource", "decision"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "reconguard_admission_request_duration_seconds",
                "Time from request body received to response built.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["resource"],
        )?;
        let evaluation_duration = HistogramVec::new(
            HistogramOpts::new(
                "reconguard_evaluation_duration_seconds",
                "Time the detection engine spent on one request.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["resource"],
        )?;
        let rule_matches = IntCounterVec::new(
            Opts::new(
                "reconguard_rule_matches_total",
                "Findings, by rule and MITRE ATT&CK technique.",
            ),
            &["rule", "technique"],
        )?;
        let denials = IntCounterVec::new(
            Opts::new(
                "reconguard_denials_total",
                "Denied requests by namespace and top rule (enforce mode), or would-be denials (audit mode).",
            ),
            &["namespace", "rule", "mode"],
        )?;
        let policy_reloads = IntCounterVec::new(
            Opts::new(
                "reconguard_policy_reloads_total",
                "Policy reload attempts by result.",
            ),
            &["result"],
        )?;
        let tls_reloads = IntCounterVec::new(
            Opts::new(
                "reconguard_tls_reloads_total",
                "Serving certificate reload attempts by result.",
            ),
            &["result"],
        )?;
        let certificate_expiry = Gauge::new(
            "reconguard_certificate_expiry_timestamp_seconds",
            "Unix time at which the serving certificate expires.",
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "reconguard_errors_total",
                "Requests that could not be judged, by reason.",
            ),
            &["reason"],
        )?;
        let decision_log_dropped = prometheus::IntCounter::new(
            "reconguard_decision_log_dropped_total",
            "Decision log lines dropped because the log output fell behind.",
        )?;
        let tls_handshake_failures = IntCounterVec::new(
            Opts::new(
                "reconguard_tls_handshake_failures_total",
                "TLS handshakes on the webhook port that failed, by reason (certificate_rejected: the client does not trust the serving certificate, e.g. a stale caBundle).",
            ),
            &["reason"],
        )?;
        let exemption_hits = IntCounterVec::new(
            Opts::new(
                "reconguard_exemption_hits_total",
                "Judged requests an exemption matched, by exemption name and effect (allowed: let through a request that would have been annotated or denied; dropped: removed findings of the rules it names; none: matched and changed nothing).",
            ),
            &["exemption", "effect"],
        )?;
        registry.register(Box::new(exemption_hits.clone()))?;
        let correlation_identities = prometheus::IntGauge::new(
            "reconguard_correlation_identities",
            "Identities whose recent discovery findings this replica remembers in its own memory (with a correlation store, the shared state is in the store and this is the replica's fallback).",
        )?;
        let correlation_duplicates = prometheus::IntCounter::new(
            "reconguard_correlation_duplicates_total",
            "Requests counted once because the same identity sent the same command to the same container moments before (kubectl's websocket-then-SPDY retry).",
        )?;
        let correlation_evictions = prometheus::IntCounter::new(
            "reconguard_correlation_evictions_total",
            "Identities forgotten before their window ended because correlation.maxIdentities was reached.",
        )?;
        registry.register(Box::new(correlation_identities.clone()))?;
        registry.register(Box::new(correlation_duplicates.clone()))?;
        registry.register(Box::new(correlation_evictions.clone()))?;
        let correlation_store_mode = prometheus::IntGaugeVec::new(
            Opts::new(
                "reconguard_correlation_store_mode",
                "1 for the memory correlation uses now: local (no store configured: this replica's own), shared (the store answers), fallback (a store is configured but unavailable: this replica's own memory answers until it is back).",
            ),
            &["mode"],
        )?;
        let correlation_store_errors = IntCounterVec::new(
            Opts::new(
                "reconguard_correlation_store_errors_total",
                "Requests correlation answered from this replica's memory because the shared store did not: timeout (no answer within --correlation-store-timeout), connection (the store could not be reached or dropped the request), unavailable (not asked: the store was down and is being reconnected), reply (the store answered something else than the script's result).",
            ),
            &["reason"],
        )?;
        for reason in crate::server::store::ERROR_REASONS {
            correlation_store_errors
                .with_label_values(&[reason])
                .inc_by(0);
        }
        registry.register(Box::new(correlation_store_mode.clone()))?;
        registry.register(Box::new(correlation_store_errors.clone()))?;
        let pod_cache_pods = prometheus::IntGauge::new(
            "reconguard_pod_cache_pods",
            "Running pods in this replica's pod cache (serve --pod-cache).",
        )?;
        let pod_cache_bytes = prometheus::IntGauge::new(
            "reconguard_pod_cache_bytes",
            "Approximate bytes the pod cache's projections hold.",
        )?;
        let pod_cache_synced = prometheus::IntGauge::new(
            "reconguard_pod_cache_synced",
            "1 once every watch of the pod cache has listed; before that requests are judged without context.",
        )?;
        let pod_cache_errors = prometheus::IntCounter::new(
            "reconguard_pod_cache_watch_errors_total",
            "Errors of the pod cache's list and watch (each retried with backoff; 410 Gone relists).",
        )?;
        let events = IntCounterVec::new(
            Opts::new(
                "reconguard_events_total",
                "Kubernetes Events for denials and escalations, by outcome (sent, deduplicated, rate_limited, dropped: queue full, failed).",
            ),
            &["outcome"],
        )?;
        let quarantines = IntCounterVec::new(
            Opts::new(
                "reconguard_quarantines_total",
                "Pods labelled reconguard.io/quarantine after a denied high-risk request, by outcome (labelled, failed, dropped: queue full).",
            ),
            &["outcome"],
        )?;
        for outcome in ["sent", "deduplicated", "rate_limited", "dropped", "failed"] {
            events.with_label_values(&[outcome]);
        }
        for outcome in ["labelled", "failed", "dropped"] {
            quarantines.with_label_values(&[outcome]);
        }
        registry.register(Box::new(pod_cache_pods.clone()))?;
        registry.register(Box::new(pod_cache_bytes.clone()))?;
        registry.register(Box::new(pod_cache_synced.clone()))?;
        registry.register(Box::new(pod_cache_errors.clone()))?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(quarantines.clone()))?;
        for reason in super::tls::HANDSHAKE_FAILURE_REASONS {
            tls_handshake_failures.with_label_values(&[reason]);
        }
        registry.register(Box::new(tls_handshake_failures.clone()))?;
        registry.register(Box::new(super::panics::counter()))?;
        registry.register(Box::new(decision_log_dropped.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(evaluation_duration.clone()))?;
        registry.register(Box::new(rule_matches.clone()))?;
        registry.register(Box::new(denials.clone()))?;
        registry.register(Box::new(policy_reloads.clone()))?;
        registry.register(Box::new(tls_reloads.clone()))?;
        registry.register(Box::new(certificate_expiry.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        for result in ["success", "failure"] {
            policy_reloads.with_label_values(&[result]);
            tls_reloads.with_label_values(&[result]);
        }
        Ok(Metrics {
            registry,
            requests,
            request_duration,
            evaluation_duration,
            rule_matches,
            denials,
            policy_reloads,
            tls_reloads,
            certificate_expiry,
            errors,
            decision_log_dropped,
            tls_handshake_failures,
            exemption_hits,
            correlation_identities,
            correlation_duplicates,
            correlation_evictions,
            correlation_store_mode,
            correlation_store_errors,
            pod_cache_pods,
            pod_cache_bytes,
            pod_cache_synced,
            pod_cache_errors,
            events,
            quarantines,
            namespaces: Default::default(),
        })
    }

    /// Exposes every exemption of a newly loaded policy at 0, so an exemption that never matches
    /// shows up as such rather than as no series at all. The names are the admin's, so bounded.
    pub fn seed_exemptions<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            for effect in [
                ExemptionEffect::Allowed,
                ExemptionEffect::Dropped,
                ExemptionEffect::None,
            ] {
                self.exemption_hits
                    .with_label_values(&[name, effect.as_str()]);
            }
        }
    }

    /// The namespace as a label value: the first MAX_NAMESPACES seen keep their name.
    pub fn namespace_label(&self, namespace: &str) -> String {
        let mut seen = self.namespaces.lock();
        if seen.contains(namespace)
            || (seen.len() < MAX_NAMESPACES && seen.insert(namespace.to_string()))
        {
            namespace.to_string()
        } else {
            "other".into()
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_stay_bounded() {
        assert_eq!(resource_label("pods"), "pods");
        assert_eq!(resource_label("secrets-and-a-random-string"), "other");
        assert_eq!(subresource_label("exec"), "exec");
        assert_eq!(subresource_label("status"), "other");
        let m = Metrics::new().unwrap();
        for i in 0..MAX_NAMESPACES {
            assert_eq!(m.namespace_label(&format!("ns-{i}")), format!("ns-{i}"));
        }
        assert_eq!(m.namespace_label("ns-0"), "ns-0");
        assert_eq!(m.namespace_label("one-too-many"), "other");
    }
}
