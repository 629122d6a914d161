//! The admission pipeline, from a subject to the final decision: detection and the policy's
//! decision, the fail-closed rule for an analysis that panicked or overran, and correlation across
//! the requests one front end sees. `serve`, `evaluate`, `scan`, `policy diff`, `policy check` and
//! `validate`'s predictions all call it, so what they report is what the webhook decides.
//!
//! Everything here is pure but the memory of recent requests, which lives in the caller's `Engine`
//! (the replica's own, or a store the replicas share); time is an argument. Scheduling (the
//! evaluation pool, deadlines) is the caller's: a deadline that passes comes back in as
//! `Unjudged::TimedOut`.

pub mod clock;
pub mod correlate;
pub mod guard;
pub mod pool;

use std::time::{Duration, Instant};

use crate::decision::{self, Decision};
use crate::detect::{self, Signal};
use crate::policy::{Correlation, Policy};
use crate::subject::Subject;
use correlate::{Fingerprint, LocalMemory, Memory, Observation, Recalled, Remember};

/// The rule that judges a request whose analysis did not complete (the detectors' own limits raise
/// it too).
pub use crate::detect::ANALYSIS_LIMIT_RULE;

/// Detection's outcome before correlation: the decision, and the signals when a burst finding
/// may yet be added to them (so the request is decided again without detecting again).
#[derive(Debug)]
pub struct Detected {
    signals: Option<Vec<Signal>>,
    decision: Decision,
}

/// Why an evaluation gave no decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unjudged {
    Panicked,
    TimedOut(Duration),
}

impl Unjudged {
    /// The `reconguard_errors_total` reason.
    pub fn reason(self) -> &'static str {
        match self {
            Unjudged::Panicked => "evaluation_panic",
            Unjudged::TimedOut(_) => "evaluation_timeout",
        }
    }

    /// The analysis-limit finding's detail.
    pub fn detail(self) -> String {
        match self {
            Unjudged::Panicked => {
                "the analysis failed on this input (a panic, counted in reconguard_panics_total)"
                    .to_string()
            }
            Unjudged::TimedOut(limit) => format!(
                "the analysis did not finish within {} ms",
                limit.as_millis()
            ),
        }
    }
}

/// What correlation did with a request, for the caller's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Correlated {
    /// The request raised the burst rule.
    pub burst: bool,
    /// The same request was seen moments ago and not counted again.
    pub duplicate: bool,
    /// Identities remembered after this request.
    pub identities: usize,
    /// Identities forgotten early to make room for this one.
    pub evicted: u64,
}

/// The final judgement of one request.
#[derive(Debug)]
pub struct Verdict {
    pub decision: Decision,
    /// Set when the analysis did not complete and the analysis-limit rule decided.
    pub unjudged: Option<Unjudged>,
    /// Set when the request's findings reached the correlator.
    pub correlated: Option<Correlated>,
}

impl Verdict {
    /// A decision the analysis completed and correlation left alone.
    fn of(decision: Decision) -> Verdict {
        Verdict {
            decision,
            unjudged: None,
            correlated: None,
        }
    }
}

/// Detection and decision for one request on its own: no memory of other requests (a dry run's
/// view). A panic in the analysis is judged as an analysis limit, as `serve` judges it.
pub fn evaluate(policy: &Policy, subject: &Subject) -> Decision {
    match guard::run(|| {
        decision::decide(policy, subject, detect::detect(&policy.catalogue, subject))
    }) {
        Ok(decision) => decision,
        Err(_) => fail_closed(policy, subject, Unjudged::Panicked),
    }
}

/// Detection and the policy's decision, keeping the signals when correlation may use them. Runs
/// on any thread; the caller catches its panic (`guard::run`) or lets `detect_guarded` do it.
pub fn detect(policy: &Policy, subject: &Subject) -> Detected {
    let signals = detect::detect(&policy.catalogue, subject);
    if policy.correlation.is_some() && correlate::counts(subject) {
        let decision = decision::decide(policy, subject, signals.clone());
        Detected {
            signals: Some(signals),
            decision,
        }
    } else {
        Detected {
            signals: None,
            decision: decision::decide(policy, subject, signals),
        }
    }
}

/// `detect` with its panic caught.
pub fn detect_guarded(policy: &Policy, subject: &Subject) -> Result<Detected, Unjudged> {
    guard::run(|| detect(policy, subject)).map_err(|_| Unjudged::Panicked)
}

/// An evaluation that panicked or overran its deadline is judged as an analysis limit: the
/// policy's `exec-analysis-limit` rule decides (deny by default; audit mode, exemptions and the
/// rule's own settings still apply). Never an error the API server would turn into failurePolicy.
pub fn fail_closed(policy: &Policy, subject: &Subject, why: Unjudged) -> Decision {
    let signal = Signal::of_request(ANALYSIS_LIMIT_RULE, why.detail());
    decision::decide(policy, subject, vec![signal])
}

/// The pipeline's state: the memory of recent requests, the replica's own (`LocalMemory`) or one
/// every replica shares. One per front end that sees a sequence of requests (a server replica,
/// one `evaluate` run).
#[derive(Debug, Default)]
pub struct Engine<M = LocalMemory> {
    memory: M,
}

/// Where the pipeline stands once detection's outcome is judged: final, or waiting for the memory's
/// answer about the request.
enum Settled<'p> {
    Final(Verdict),
    Remember(Pending<'p>),
}

/// A request with a counted finding: what it adds to its identity's history, and what is needed
/// to decide it again if the memory answers with a burst.
struct Pending<'p> {
    settings: &'p Correlation,
    request: Remember,
    signals: Vec<Signal>,
    decision: Decision,
}

impl Engine<LocalMemory> {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// The whole pipeline on the current thread, at time `now`, with the replica's own memory.
    pub fn judge(&self, policy: &Policy, subject: &Subject, now: Instant) -> Verdict {
        match settle(policy, subject, detect_guarded(policy, subject)) {
            Settled::Final(verdict) => verdict,
            Settled::Remember(p) => {
                let recalled = self.memory.observe_now(p.settings, &p.request, now);
                p.escalate(policy, subject, recalled)
            }
        }
    }
}

impl<M: Memory> Engine<M> {
    pub fn with_memory(memory: M) -> Engine<M> {
        Engine { memory }
    }

    /// The pipeline's last steps, after detection ran wherever the caller scheduled it:
    /// fail-closed for an analysis that did not complete, then correlation, which waits for the
    /// memory (a shared store answers within its own timeout or not at all).
    pub async fn conclude(
        &self,
        policy: &Policy,
        subject: &Subject,
        detected: Result<Detected, Unjudged>,
        now: Instant,
    ) -> Verdict {
        match settle(policy, subject, detected) {
            Settled::Final(verdict) => verdict,
            Settled::Remember(p) => {
                let recalled = self.memory.observe(p.settings, &p.request, now).await;
                p.escalate(policy, subject, recalled)
            }
        }
    }
}

/// Fail-closed for an analysis that did not complete; otherwise the decision, and what the request
/// adds to its identity's history when it has a counted finding.
fn settle<'p>(
    policy: &'p Policy,
    subject: &Subject,
    detected: Result<Detected, Unjudged>,
) -> Settled<'p> {
    let (signals, decision) = match detected {
        Err(why) => {
            return Settled::Final(Verdict {
                decision: fail_closed(policy, subject, why),
                unjudged: Some(why),
                correlated: None,
            })
        }
        Ok(Detected {
            signals: Some(signals),
            decision,
        }) => (signals, decision),
        Ok(Detected {
            signals: None,
            decision,
        }) => return Settled::Final(Verdict::of(decision)),
    };
    let Some(settings) = &policy.correlation else {
        return Settled::Final(Verdict::of(decision));
    };
    // Most requests have no counted finding: nothing to remember, no allocation.
    let counted = |f: &decision::Finding| settings.techniques.contains(&f.technique);
    if decision.skipped.is_some() || !decision.findings.iter().any(counted) {
        return Settled::Final(Verdict::of(decision));
    }
    let Some(identity) = correlate::identity(subject) else {
        return Settled::Final(Verdict::of(decision));
    };
    let request = Remember {
        identity,
        fingerprint: Fingerprint::of(subject),
        findings: decision
            .findings
            .iter()
            .filter(|f| counted(f))
            .map(|f| (f.technique.clone(), f.rule.clone()))
            .collect(),
    };
    Settled::Remember(Pending {
        settings,
        request,
        signals,
        decision,
    })
}

impl Pending<'_> {
    /// A burst of distinct discovery techniques adds its own finding and the request is decided
    /// again; otherwise the decision stands.
    fn escalate(self, policy: &Policy, subject: &Subject, recalled: Recalled) -> Verdict {
        let Pending {
            settings,
            request,
            mut signals,
            decision,
        } = self;
        let mut correlated = Correlated {
            burst: false,
            duplicate: recalled.observation == Observation::Duplicate,
            identities: recalled.identities,
            evicted: recalled.evicted,
        };
        let decision = match recalled.observation {
            Observation::Burst(sequence) => {
                correlated.burst = true;
                signals.push(Signal::of_request(
                    &settings.rule,
                    correlate::describe(settings, &request.identity, &sequence),
                ));
                match guard::run(|| decision::decide(policy, subject, signals)) {
                    Ok(decision) => decision,
                    Err(_) => {
                        return Verdict {
                            decision: fail_closed(policy, subject, Unjudged::Panicked),
                            unjudged: Some(Unjudged::Panicked),
                            correlated: Some(correlated),
                        }
                    }
                }
            }
            _ => decision,
        };
        Verdict {
            correlated: Some(correlated),
            ..Verdict::of(decision)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Action;

    fn exec(uid: &str, argv: &[&str]) -> Subject {
        exec_into(uid, "app", argv)
    }

    /// alice's `pods/exec` review of shop/web-0, into `container`.
    pub(super) fn exec_into(uid: &str, container: &str, argv: &[&str]) -> Subject {
        let review = serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {"group": "", "version": "v1", "kind": "PodExecOptions"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "subResource": "exec", "name": "web-0", "namespace": "shop",
                "operation": "CONNECT", "userInfo": {"username": "alice"},
                "object": {"kind": "PodExecOptions", "apiVersion": "v1",
                           "container": container, "command": argv},
            }
        });
        let mut subjects = crate::subject::from_manifest(&review).expect("a review");
        subjects.remove(0)
    }

    const SEQUENCE: [&[&str]; 4] = [
        &["ps", "aux"],
        &["netstat", "-tuln"],
        &["ip", "addr"],
        &["id"],
    ];

    #[test]
    fn a_sequence_of_discovery_escalates_on_the_callers_clock() {
        let policy = Policy::embedded_default();
        let engine = Engine::new();
        let t0 = Instant::now();
        let verdicts: Vec<Verdict> = SEQUENCE
            .iter()
            .enumerate()
            .map(|(i, argv)| engine.judge(&policy, &exec(&i.to_string(), argv), t0))
            .collect();
        assert!(verdicts[..3]
            .iter()
            .all(|v| v.decision.action == Action::Annotate));
        let last = &verdicts[3];
        assert_eq!(last.decision.action, Action::Deny);
        assert!(last
            .correlated
            .is_some_and(|c| c.burst && c.identities == 1));
        // An hour later the window has passed: the same command is one annotation again.
        let later = engine.judge(
            &policy,
            &exec("x", SEQUENCE[0]),
            t0 + Duration::from_secs(3600),
        );
        assert_eq!(later.decision.action, Action::Annotate);
        assert!(later.correlated.is_some_and(|c| !c.burst));
    }

    /// A thread that panicked while holding the correlator leaves it working: the lock does not
    /// poison (parking_lot), so correlation is never switched off by one bad request.
    #[test]
    fn a_panic_while_correlating_does_not_switch_correlation_off() {
        let policy = Policy::embedded_default();
        let engine = std::sync::Arc::new(Engine::new());
        let holder = engine.clone();
        let panicked = std::thread::spawn(move || {
            let _held = holder.memory.lock();
            panic!("a panic while the correlator is held");
        })
        .join();
        assert!(panicked.is_err());
        let t0 = Instant::now();
        let mut verdicts: Vec<Verdict> = SEQUENCE
            .iter()
            .map(|argv| engine.judge(&policy, &exec("u", argv), t0))
            .collect();
        let last = verdicts.pop().expect("four verdicts");
        assert!(last.correlated.is_some_and(|c| c.burst), "{last:?}");
    }

    #[tokio::test]
    async fn an_analysis_that_did_not_complete_is_judged_by_the_limit_rule() {
        let policy = Policy::embedded_default();
        let subject = exec("t", &["ls"]);
        for why in [
            Unjudged::Panicked,
            Unjudged::TimedOut(Duration::from_secs(4)),
        ] {
            let verdict = Engine::new()
                .conclude(&policy, &subject, Err(why), Instant::now())
                .await;
            assert_eq!(verdict.decision.action, Action::Deny, "{why:?}");
            assert_eq!(verdict.decision.rules(), [ANALYSIS_LIMIT_RULE]);
            assert_eq!(verdict.unjudged, Some(why));
        }
    }
}
