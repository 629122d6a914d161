//! The policy: what reconguard knows (rules, catalogues) and how it decides (thresholds, mode,
//! exemptions). `model` is the document's shape, `layers` merges the admin's layers over the
//! built-in default, `files` reads them, `load` turns the result into a `Policy`, `compile`
//! validates it and builds the detectors' catalogue (`crate::detect::catalogue`), `exemption`
//! matches exemptions and `show` prints the merged policy with each value's layer.

pub mod compile;
pub mod correlation;
pub mod exemption;
pub mod files;
pub mod layers;
pub mod load;
pub mod model;
pub mod show;

pub use crate::norm::pattern::Pattern;
pub use correlation::Correlation;
pub use exemption::{Exemption, ExemptionInput};
pub use layers::{Layer, Merged};
pub use load::{Modes, Policy, PolicyError, PolicyFileError, Problem, Rule, DEFAULT_POLICY_YAML};
pub use model::{CommandOrigin, ForcedAction, Mode, ModeKey, PolicyDocument};
