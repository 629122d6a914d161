//! reconguard: a Kubernetes validating admission webhook that detects containers used to
//! reconnoitre the host and the cluster.
//!
//! The data's way through: bytes -> [`admission::read_review`] -> [`subject::Subject`] -> [`detect`] ->
//! signals -> [`decision::decide`] -> [`decision::Decision`]. Everything up to the decision is
//! pure and shared by `serve` and `evaluate`.

pub mod admission;
pub mod ads;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod context;
pub mod correlate;
pub mod decision;
pub mod detect;
pub mod mask;
pub mod norm;
pub mod policy;
pub mod review;
pub mod server;
pub mod subject;

use decision::Decision;
use policy::Policy;
use subject::Subject;

/// The engine: judges one subject under one policy.
pub fn evaluate(policy: &Policy, subject: &Subject) -> Decision {
    let signals = detect::detect(&policy.catalogue, subject);
    decision::decide(policy, subject, signals)
}

/// The engine, keeping the detectors' signals: context only the server knows (a burst of
/// discovery across requests) can be added to them and decided again without detecting again.
pub fn judge(policy: &Policy, subject: &Subject) -> (Vec<detect::Signal>, Decision) {
    let signals = detect::detect(&policy.catalogue, subject);
    let decision = decision::decide(policy, subject, signals.clone());
    (signals, decision)
}
