//! The policy: what reconguard knows (rules, catalogues) and how it decides (thresholds, mode,
//! exemptions). `model` is the document's shape, `load` validates and compiles it.

pub mod load;
pub mod model;

pub use load::{
    Exemption, ExemptionInput, Pattern, Policy, PolicyError, PolicyFileError, Problem, Rule,
    DEFAULT_POLICY_YAML,
};
pub use model::{ForcedAction, Mode, PolicyDocument};
