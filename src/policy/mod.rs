//! The policy: what reconguard knows (rules, catalogues) and how it decides (thresholds, mode,
//! exemptions). `model` is the document's shape, `load` reads it, `compile` validates it and
//! builds the detectors' catalogue (`crate::detect::catalogue`), `exemption` matches exemptions.

pub mod compile;
pub mod exemption;
pub mod load;
pub mod model;

pub use crate::norm::pattern::Pattern;
pub use exemption::{Exemption, ExemptionInput};
pub use load::{Policy, PolicyError, PolicyFileError, Problem, Rule, DEFAULT_POLICY_YAML};
pub use model::{ForcedAction, Mode, PolicyDocument};
