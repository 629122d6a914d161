//! The detection catalogue as an Alerting and Detection Strategy (Palantir's ADS framework): each
//! rule of the policy documents its strategy, blind spots, false positives and response, and
//! carries examples that must and must not raise it. `examples` turns an example into the
//! AdmissionReview the API server would send, `check` proves the catalogue against its own
//! examples, and `docs` writes it out. Pure: the CLI reads files and talks to webhooks.

pub mod check;
pub mod docs;
pub mod examples;
pub mod validate;
