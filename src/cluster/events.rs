//! Kubernetes Events for denials and escalations, on the object the request was about (the pod an
//! exec targeted, the workload a template belongs to), so `kubectl describe pod` and event-based
//! tooling show them. Published by kube-runtime's `Recorder` off the admission path: the handler
//! only queues a notice; a full queue drops it. A [`Gate`] deduplicates and rate-limits first.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use lru::LruCache;
use tokio::sync::mpsc;

/// What the handler hands over.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub regarding: ObjectReference,
    /// `Denied`, `WouldDeny` (audit mode) or `Escalated`.
    pub reason: String,
    /// `Exec`, `Attach`, `PortForward`, `Debug`, `Create`, `Update`.
    pub action: String,
    pub note: String,
    /// The top finding's rule: part of what makes two notices the same.
    pub rule: String,
}

/// What became of a notice (`reconguard_events_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Deduplicated,
    RateLimited,
    Dropped,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Deduplicated => "deduplicated",
            Outcome::RateLimited => "rate_limited",
            Outcome::Dropped => "dropped",
            Outcome::Failed => "failed",
        }
    }
}

/// Deduplication and a token bucket, before any API call; time is an input.
///
/// kube-runtime's `Recorder` deduplicates too, but by turning a repeat into an `EventSeries`
/// patch: still one API call per denial, and its key has no rule. The gate drops a repeat of
/// the same object, reason and rule before any call, and holds what passes to a rate. The token
/// bucket is a dozen lines: governor reads its own clock, where the gate's tests (and a replay
/// of past requests) give the time.
#[derive(Debug)]
pub struct Gate {
    dedupe: Duration,
    per_second: f64,
    burst: f64,
    tokens: f64,
    last_refill: Option<Instant>,
    /// Last time each (object, reason, rule) was let through, least recent first: past
    /// `MAX_RECENT` the oldest goes, in O(1).
    recent: LruCache<(String, String, String, String), Instant>,
}

/// Keys remembered at most (a flood of distinct objects forgets the oldest).
const MAX_RECENT: usize = 4096;

impl Gate {
    pub fn new(dedupe: Duration, per_second: f64, burst: u32) -> Gate {
        let burst = f64::from(burst.max(1));
        Gate {
            dedupe,
            per_second,
            burst,
            tokens: burst,
            last_refill: None,
            recent: LruCache::new(NonZeroUsize::new(MAX_RECENT).unwrap_or(NonZeroUsize::MIN)),
        }
    }

    pub fn admit(&mut self, notice: &Notice, now: Instant) -> Result<(), Outcome> {
        let r = &notice.regarding;
        let key = (
            r.namespace.clone().unwrap_or_default(),
            r.name.clone().unwrap_or_default(),
            notice.reason.clone(),
            notice.rule.clone(),
        );
        if let Some(at) = self.recent.peek(&key) {
            if now.saturating_duration_since(*at) < self.dedupe {
                return Err(Outcome::Deduplicated);
            }
        }
        if let Some(last) = self.last_refill {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        }
        self.last_refill = Some(now);
        if self.tokens < 1.0 {
            return Err(Outcome::RateLimited);
        }
        self.tokens -= 1.0;
        self.recent.put(key, now);
        Ok(())
    }
}

/// The handler's end: never blocks.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Notice>,
}

impl EventSink {
    /// Queues a notice; false when the queue is full (the notice is dropped).
    pub fn send(&self, notice: Notice) -> bool {
        self.tx.try_send(notice).is_ok()
    }
}

/// Settings of the publisher (`serve --events`).
#[derive(Debug, Clone, clap::Args)]
pub struct EventSettings {
    /// With --events: seconds during which the same reason and rule on the same object is
    /// published once.
    #[arg(long = "events-dedupe-seconds", value_name = "SECONDS", default_value = "300",
          value_parser = crate::flags::seconds, requires = "events")]
    pub dedupe: Duration,
    /// With --events: events published per second at most, after a burst of --events-burst.
    #[arg(long = "events-per-second", default_value_t = 5.0, value_parser = crate::flags::positive_rate,
          requires = "events")]
    pub per_second: f64,
    #[arg(long = "events-burst", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..), requires = "events")]
    pub burst: u32,
    /// `reportingInstance`: the replica's pod name (the Downward API's POD_NAME).
    #[arg(long = "events-instance", env = "POD_NAME", hide = true)]
    pub instance: Option<String>,
}

/// The queue and the task that publishes from it; `outcome` is told what became of each notice.
pub fn start(
    client: kube::Client,
    settings: EventSettings,
    outcome: impl Fn(Outcome) + Send + Sync + 'static,
) -> EventSink {
    let (tx, mut rx) = mpsc::channel::<Notice>(256);
    let reporter = Reporter {
        controller: "reconguard".into(),
        instance: settings.instance.clone(),
    };
    let recorder = Recorder::new(client, reporter);
    let mut gate = Gate::new(settings.dedupe, settings.per_second, settings.burst);
    tokio::spawn(async move {
        while let Some(notice) = rx.recv().await {
            if let Err(o) = gate.admit(&notice, Instant::now()) {
                outcome(o);
                continue;
            }
            let event = Event {
                type_: EventType::Warning,
                reason: notice.reason.clone(),
                note: Some(truncate(&notice.note, 1024)),
                action: notice.action.clone(),
                secondary: None,
            };
            match recorder.publish(&event, &notice.regarding).await {
                Ok(()) => outcome(Outcome::Sent),
                Err(e) => {
                    outcome(Outcome::Failed);
                    tracing::warn!(error = %e, "publishing an event failed");
                }
            }
        }
    });
    EventSink { tx }
}

/// At most `max` bytes, cut at a character boundary (the API server rejects longer notes).
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(name: &str, rule: &str) -> Notice {
        Notice {
            regarding: ObjectReference {
                kind: Some("Pod".into()),
                namespace: Some("ns".into()),
                name: Some(name.into()),
                ..Default::default()
            },
            reason: "Denied".into(),
            action: "Exec".into(),
            note: "n".into(),
            rule: rule.into(),
        }
    }

    #[test]
    fn the_same_notice_passes_once_per_dedupe_window() {
        let mut g = Gate::new(Duration::from_secs(60), 100.0, 100);
        let t = Instant::now();
        assert_eq!(g.admit(&notice("a", "r"), t), Ok(()));
        assert_eq!(
            g.admit(&notice("a", "r"), t + Duration::from_secs(59)),
            Err(Outcome::Deduplicated)
        );
        // Another rule or another pod is another notice.
        assert_eq!(g.admit(&notice("a", "s"), t), Ok(()));
        assert_eq!(g.admit(&notice("b", "r"), t), Ok(()));
        assert_eq!(
            g.admit(&notice("a", "r"), t + Duration::from_secs(61)),
            Ok(())
        );
    }

    #[test]
    fn a_flood_is_held_to_the_rate() {
        let mut g = Gate::new(Duration::from_secs(60), 2.0, 5);
        let t = Instant::now();
        let passed = (0..100)
            .filter(|i| g.admit(&notice(&format!("p{i}"), "r"), t).is_ok())
            .count();
        assert_eq!(passed, 5, "the burst");
        // Two a second after that.
        let later = t + Duration::from_secs(1);
        let passed = (100..200)
            .filter(|i| g.admit(&notice(&format!("p{i}"), "r"), later).is_ok())
            .count();
        assert_eq!(passed, 2);
    }

    #[test]
    fn memory_of_recent_notices_is_bounded() {
        let mut g = Gate::new(Duration::from_secs(3600), 1e9, u32::MAX);
        let t = Instant::now();
        for i in 0..(3 * MAX_RECENT) {
            let at = t + Duration::from_millis(i as u64);
            assert_eq!(g.admit(&notice(&format!("p{i}"), "r"), at), Ok(()));
        }
        assert_eq!(g.recent.len(), MAX_RECENT);
        // The oldest went; the newest are still deduplicated.
        let last = 3 * MAX_RECENT - 1;
        let at = t + Duration::from_millis(last as u64 + 1);
        assert_eq!(
            g.admit(&notice(&format!("p{last}"), "r"), at),
            Err(Outcome::Deduplicated)
        );
        assert_eq!(g.admit(&notice("p0", "r"), at), Ok(()));
    }

    #[test]
    fn long_notes_are_cut_at_a_character() {
        let note = "é".repeat(1000);
        let cut = truncate(&note, 1024);
        assert!(cut.len() <= 1024 && cut.ends_with("..."));
    }
}
