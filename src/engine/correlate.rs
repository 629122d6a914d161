//! Memory across requests: findings of one identity within a sliding window. A burst of distinct
//! discovery techniques is reconnaissance even when each request alone only annotates. The
//! engine decides what a request adds (`Remember`) and what a burst means; a `Memory` keeps the
//! histories: `LocalMemory` in the replica (a plain value, time an input, so the logic is pure
//! and tested with made-up clocks), or a store every replica shares (`server::store`).
//!
//! Identities live in an LRU list (`lru`): the least recently seen is also the oldest, so expiry
//! and making room pop from one end in O(1) each. A cache with its own time-to-idle (moka,
//! quick_cache) would read the system clock, which the callers' clocks (an audit log's time, a
//! test's) must be able to replace.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Instant;

use lru::LruCache;
use parking_lot::Mutex;

use crate::policy::Correlation;
use crate::subject::{Subject, SubjectBody};

/// Whether a request counts: exec, attach, port-forward and proxy requests are a person or a
/// workload acting; pod specs are written by controllers and judged on their own.
pub fn counts(subject: &Subject) -> bool {
    !subject.dry_run
        && matches!(
            subject.body,
            SubjectBody::Exec(_)
                | SubjectBody::Attach(_)
                | SubjectBody::PortForward(_)
                | SubjectBody::Proxy(_)
        )
}

/// Who acted: the user, and for a service account the pod its token was bound to.
pub fn identity(subject: &Subject) -> Option<String> {
    let requester = subject.requester.as_ref()?;
    Some(match &requester.pod {
        Some(pod) => format!("{} from pod {pod}", requester.username),
        None => requester.username.clone(),
    })
}

/// Identifies a request for de-duplication: target, container and command, not the uid (each
/// admission of the same `kubectl exec` has its own). SHA-256 over a length-prefixed encoding,
/// cut to 128 bits: the same on every replica and every release (a shared store compares
/// fingerprints written by other processes), and no requester can make two different commands
/// collide so that the second goes uncounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    pub fn of(subject: &Subject) -> Fingerprint {
        let mut fields = FieldWriter(ring::digest::Context::new(&ring::digest::SHA256));
        for part in [&subject.namespace, &subject.name, &subject.subresource] {
            fields.text(part.as_deref().unwrap_or(""));
        }
        match &subject.body {
            SubjectBody::Exec(e) => {
                fields.text(&e.container);
                fields.number(e.command.len() as u64);
                for word in &e.command {
                    fields.text(word);
                }
                fields.number(u64::from(e.stdin) << 1 | u64::from(e.tty));
            }
            SubjectBody::Attach(a) => {
                fields.text(&a.container);
                fields.number(u64::from(a.stdin) << 1 | u64::from(a.tty));
            }
            SubjectBody::PortForward(f) => {
                fields.number(f.ports.len() as u64);
                for port in &f.ports {
                    fields.number(*port as u64);
                }
            }
            SubjectBody::Proxy(p) => {
                fields.text(&p.name);
                fields.text(&p.path);
            }
            SubjectBody::Pod(_) | SubjectBody::Skipped(_) => {}
        }
        let digest = fields.0.finish();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest.as_ref()[..16]);
        Fingerprint(bytes)
    }

    /// Lowercase hex, as a store keeps it.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

/// Lowercase hex of `bytes`: fingerprints and a store's identity keys.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Length-prefixed fields, so that `["a b"]` and `["a", "b"]` never encode alike.
struct FieldWriter(ring::digest::Context);

impl FieldWriter {
    fn number(&mut self, n: u64) {
        self.0.update(&n.to_le_bytes());
    }

    fn text(&mut self, s: &str) {
        self.number(s.len() as u64);
        self.0.update(s.as_bytes());
    }
}

/// What one request adds to its identity's history: the engine computes it, a `Memory` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remember {
    pub identity: String,
    pub fingerprint: Fingerprint,
    /// The request's counted findings, `(technique, rule)`.
    pub findings: Vec<(String, String)>,
}

/// What a memory answered about one request, with the size of the replica's own memory (every
/// memory keeps one, if only to fall back on) for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recalled {
    pub observation: Observation,
    /// Identities the replica remembers after this request.
    pub identities: usize,
    /// Identities the replica forgot early to make room for this one.
    pub evicted: u64,
}

/// Where identities' histories are kept. The engine asks once per request with a counted
/// finding; a memory never fails a request: a shared store that cannot answer in time answers
/// from the replica's own memory instead.
pub trait Memory: Send + Sync {
    fn observe(
        &self,
        settings: &Correlation,
        request: &Remember,
        now: Instant,
    ) -> impl Future<Output = Recalled> + Send;
}

/// The replica's own memory: the embedded default, and what a shared store falls back on.
#[derive(Debug, Default)]
pub struct LocalMemory(Mutex<Correlator>);

impl LocalMemory {
    /// `observe` without a future, for the callers that judge synchronously.
    pub fn observe_now(
        &self,
        settings: &Correlation,
        request: &Remember,
        now: Instant,
    ) -> Recalled {
        let mut correlator = self.0.lock();
        let before = correlator.evicted;
        let observation = correlator.observe(
            settings,
            &request.identity,
            request.fingerprint,
            &request.findings,
            now,
        );
        Recalled {
            observation,
            identities: correlator.identities(),
            evicted: correlator.evicted - before,
        }
    }

    /// Holds the replica's memory, as a request does while it is updated (tests use it).
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, Correlator> {
        self.0.lock()
    }
}

impl Memory for LocalMemory {
    fn observe(
        &self,
        settings: &Correlation,
        request: &Remember,
        now: Instant,
    ) -> impl Future<Output = Recalled> + Send {
        std::future::ready(self.observe_now(settings, request, now))
    }
}

/// The burst finding's detail: the sequence, in first-seen order.
pub fn describe(settings: &Correlation, identity: &str, sequence: &[(String, String)]) -> String {
    let seen: Vec<String> = sequence.iter().map(|(t, r)| format!("{t} ({r})")).collect();
    format!(
        "{} distinct discovery techniques from {identity} within {} s: {}",
        sequence.len(),
        settings.window.as_secs(),
        seen.join(", ")
    )
}

/// A counted technique of an identity, with the rule that last raised it and when.
#[derive(Debug, Clone)]
struct Seen {
    technique: String,
    rule: String,
    at: Instant,
}

/// Most recent requests kept per identity for de-duplication; more within `duplicate_window`
/// is a flood, which the distinct techniques already describe.
pub const RECENT: usize = 16;

/// One identity's memory: bounded by the number of counted techniques and by `RECENT`, whatever
/// the request rate.
#[derive(Debug, Default)]
struct History {
    /// Distinct techniques within the window, in first-seen order.
    seen: Vec<Seen>,
    /// Fingerprints of requests within the duplicate window.
    recent: VecDeque<(Fingerprint, Instant)>,
    last_seen: Option<Instant>,
}

/// What one request did to its identity's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Nothing to count (no counted technique), or a dry run.
    Ignored,
    /// The same request seen moments ago (kubectl's websocket-then-SPDY retry): not counted again.
    Duplicate,
    Counted,
    /// The window now holds this many distinct techniques, in first-seen order with their rules.
    Burst(Vec<(String, String)>),
}

/// Per-identity histories, least recently seen first, bounded by expiry and by `max_identities`.
#[derive(Debug)]
pub struct Correlator {
    histories: LruCache<String, History, foldhash::fast::RandomState>,
    /// Identities evicted because the cap was reached.
    pub evicted: u64,
}

impl Default for Correlator {
    fn default() -> Self {
        Correlator {
            histories: LruCache::unbounded_with_hasher(Default::default()),
            evicted: 0,
        }
    }
}

impl Correlator {
    pub fn identities(&self) -> usize {
        self.histories.len()
    }

    /// Records a request's findings `(technique, rule)` for `identity` at `now`.
    pub fn observe(
        &mut self,
        settings: &Correlation,
        identity: &str,
        fingerprint: Fingerprint,
        findings: &[(String, String)],
        now: Instant,
    ) -> Observation {
        let counted: Vec<(String, String)> = findings
            .iter()
            .filter(|(t, _)| settings.techniques.contains(t))
            .cloned()
            .collect();
        if counted.is_empty() {
            return Observation::Ignored;
        }
        // Idle identities go as soon as they expire: the oldest are at one end of the list.
        self.expire(settings, now);
        if !self.histories.contains(identity)
            && self.histories.len() >= settings.max_identities
            && self.histories.pop_lru().is_some()
        {
            self.evicted += 1;
        }
        let history = self
            .histories
            .get_or_insert_mut_ref(identity, History::default);
        history.last_seen = Some(now);
        let age = |at: Instant| now.saturating_duration_since(at);
        history.seen.retain(|s| age(s.at) <= settings.window);
        while history
            .recent
            .front()
            .is_some_and(|(_, at)| age(*at) > settings.duplicate_window)
        {
            history.recent.pop_front();
        }
        if history.recent.iter().any(|(f, _)| *f == fingerprint) {
            return Observation::Duplicate;
        }
        history.recent.push_back((fingerprint, now));
        if history.recent.len() > RECENT {
            history.recent.pop_front();
        }
        for (technique, rule) in counted {
            match history.seen.iter_mut().find(|s| s.technique == technique) {
                Some(seen) => {
                    seen.rule = rule;
                    seen.at = now;
                }
                None => history.seen.push(Seen {
                    technique,
                    rule,
                    at: now,
                }),
            }
        }
        if history.seen.len() >= settings.distinct_techniques {
            Observation::Burst(
                history
                    .seen
                    .iter()
                    .map(|s| (s.technique.clone(), s.rule.clone()))
                    .collect(),
            )
        } else {
            Observation::Counted
        }
    }

    /// Drops every expired history, oldest first: the list's order is the order of last sight.
    pub fn expire(&mut self, settings: &Correlation, now: Instant) {
        while let Some((_, history)) = self.histories.peek_lru() {
            let expired = history
                .last_seen
                .is_none_or(|t| now.saturating_duration_since(t) > settings.window);
            if !expired {
                break;
            }
            self.histories.pop_lru();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> Correlation {
        Correlation {
            rule: "a-burst-rule".into(),
            window: Duration::from_secs(60),
            duplicate_window: Duration::from_secs(5),
            distinct_techniques: 3,
            max_identities: 10,
            techniques: ["T1057", "T1049", "T1016", "T1033"]
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }

    fn fp(n: u8) -> Fingerprint {
        Fingerprint([n; 16])
    }

    fn f(technique: &str) -> Vec<(String, String)> {
        vec![(technique.to_string(), format!("rule-{technique}"))]
    }

    #[test]
    fn distinct_techniques_within_the_window_make_a_burst_which_expires() {
        let s = settings();
        let mut c = Correlator::default();
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(
            c.observe(&s, "alice", fp(1), &f("T1057"), at(0)),
            Observation::Counted
        );
        // The same technique again is not a new one.
        assert_eq!(
            c.observe(&s, "alice", fp(2), &f("T1057"), at(10)),
            Observation::Counted
        );
        assert_eq!(
            c.observe(&s, "alice", fp(3), &f("T1049"), at(20)),
            Observation::Counted
        );
        let burst = c.observe(&s, "alice", fp(4), &f("T1016"), at(30));
        let Observation::Burst(seq) = burst else {
            panic!("{burst:?}")
        };
        let techniques: Vec<&str> = seq.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(techniques, ["T1057", "T1049", "T1016"]);
        // Another identity has its own history.
        assert_eq!(
            c.observe(&s, "bob", fp(4), &f("T1016"), at(30)),
            Observation::Counted
        );
        // Past the window the first findings are forgotten: no burst.
        assert_eq!(
            c.observe(&s, "alice", fp(5), &f("T1033"), at(85)),
            Observation::Counted
        );
    }

    #[test]
    fn one_kubectl_exec_admitted_twice_counts_once() {
        let s = settings();
        let mut c = Correlator::default();
        let t0 = Instant::now();
        assert_eq!(
            c.observe(&s, "alice", fp(7), &f("T1057"), t0),
            Observation::Counted
        );
        let retry = t0 + Duration::from_millis(300);
        assert_eq!(
            c.observe(&s, "alice", fp(7), &f("T1057"), retry),
            Observation::Duplicate
        );
        // The same command later is a new request.
        let later = t0 + Duration::from_secs(6);
        assert_eq!(
            c.observe(&s, "alice", fp(7), &f("T1057"), later),
            Observation::Counted
        );
    }

    #[test]
    fn uncounted_techniques_leave_no_state() {
        let s = settings();
        let mut c = Correlator::default();
        assert_eq!(
            c.observe(&s, "alice", fp(1), &f("T1611"), Instant::now()),
            Observation::Ignored
        );
        assert_eq!(c.identities(), 0);
    }

    #[test]
    fn identities_are_capped_expired_first_then_least_recently_seen() {
        let s = settings();
        let mut c = Correlator::default();
        let t0 = Instant::now();
        for i in 0..10u64 {
            c.observe(
                &s,
                &format!("u{i}"),
                fp(i as u8),
                &f("T1057"),
                t0 + Duration::from_secs(i),
            );
        }
        assert_eq!(c.identities(), 10);
        // Seen again, u0 is no longer the least recently seen.
        c.observe(&s, "u0", fp(50), &f("T1049"), t0 + Duration::from_secs(15));
        // Full: the least recently seen (u1) makes room.
        c.observe(&s, "new", fp(99), &f("T1057"), t0 + Duration::from_secs(20));
        assert_eq!(c.identities(), 10);
        assert_eq!(c.evicted, 1);
        assert!(!c.histories.contains("u1"));
        assert!(c.histories.contains("u0"));
        // Much later every history has expired; the next newcomer clears them instead.
        c.observe(
            &s,
            "late",
            fp(100),
            &f("T1057"),
            t0 + Duration::from_secs(500),
        );
        assert_eq!(c.identities(), 1);
        assert_eq!(c.evicted, 1);
        c.expire(&s, t0 + Duration::from_secs(1000));
        assert_eq!(c.identities(), 0);
    }

    fn exec(container: &str, argv: &[&str], uid: &str) -> Subject {
        crate::engine::tests::exec_into(uid, container, argv)
    }

    #[test]
    fn fingerprints_tell_requests_apart_by_target_and_command_not_by_uid() {
        let base = Fingerprint::of(&exec("app", &["ps", "aux"], "u1"));
        // Each admission of one `kubectl exec` has its own uid.
        assert_eq!(base, Fingerprint::of(&exec("app", &["ps", "aux"], "u2")));
        for other in [
            exec("app", &["ps aux"], "u1"),
            exec("app", &["ps", "au", "x"], "u1"),
            exec("ap", &["pps", "aux"], "u1"),
            exec("sidecar", &["ps", "aux"], "u1"),
        ] {
            assert_ne!(base, Fingerprint::of(&other), "{:?}", other.body);
        }
        let hex = base.hex();
        assert!(hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
