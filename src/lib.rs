//! reconguard: a Kubernetes validating admission webhook that detects containers used to
//! reconnoitre the host and the cluster.
//!
//! The data's way through: bytes -> [`admission::read_review`] -> [`subject::Subject`] ->
//! [`engine`] (the [`detect`]ors' signals -> [`decision::decide`], fail-closed, correlation) ->
//! [`decision::Decision`] -> [`review::response`]. The engine is pure but for the correlator's
//! memory and is shared by every front end: `serve` ([`server`]), and `evaluate`, `scan`,
//! `policy diff`, `policy check` and `validate` ([`cli`], [`cluster`], [`ads`]).

pub mod admission;
pub mod ads;
#[cfg(test)]
mod architecture;
pub mod audit;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod context;
pub mod decision;
pub mod detect;
pub mod engine;
pub mod flags;
pub mod mask;
pub mod norm;
pub mod policy;
pub mod review;
pub mod server;
pub mod subject;

/// Detection and decision for one request on its own (see [`engine::evaluate`]).
pub use engine::evaluate;
