//! Reading a policy: the embedded default and the admin's layers merged (`layers`), the result
//! parsed into the document's shape with exact error paths, then compiled (`compile`) into a
//! `Policy`. Problems in the merged result name the layer that set the offending value.

use crate::detect::catalogue::HashMap;
use std::collections::BTreeMap;
use std::fmt;

use super::compile::compile;
use super::exemption::Exemption;
use super::layers::{self, Layer, Merged, DEFAULT_LAYER};
use super::model::*;
use crate::detect::catalogue::Catalogue;
use crate::subject::Activity;

/// The policy embedded in the binary, printed by `reconguard policy default`.
pub const DEFAULT_POLICY_YAML: &str = include_str!("default.yaml");

pub const API_VERSION: &str = "reconguard.io/v1alpha1";
pub const KIND: &str = "Policy";

/// One problem found in a policy, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid YAML: {0}")]
    Yaml(String),
    #[error("policy {0}")]
    Shape(Problem),
    #[error("policy has {} problem(s):\n  {}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Problem>),
}

/// A policy file that could not be read or is not a valid policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    // The cause is part of the message and deliberately not a `source`: error chains printed
    // with `{:#}` would repeat it.
    #[error("reading policy {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("policy {path}: {error}")]
    Invalid { path: String, error: PolicyError },
    #[error("policy merged from {layers}: {error}")]
    Merged { layers: String, error: PolicyError },
}

/// A rule as the engine uses it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub score: u32,
    pub technique: String,
    pub message: String,
    pub enabled: bool,
    pub action: Option<ForcedAction>,
}

/// A validated, compiled policy: what the engine evaluates against. Immutable; reloads build a
/// new one.
#[derive(Debug, Clone)]
pub struct Policy {
    pub document: PolicyDocument,
    pub mode: Modes,
    pub thresholds: Thresholds,
    pub rules: HashMap<String, Rule>,
    pub combinations: Vec<CombinationSpec>,
    /// A rule's score for commands of one origin, where `origins` sets one (later entries win).
    pub origin_scores: HashMap<String, BTreeMap<CommandOrigin, u32>>,
    pub exemptions: Vec<Exemption>,
    /// What the detectors match against, compiled from the document.
    pub catalogue: Catalogue,
    /// The layers merged into this policy, bottom first.
    pub layers: Vec<String>,
    /// Valid but worth telling the admin (a layer replacing a whole list).
    pub warnings: Vec<Problem>,
    /// Memory across requests, when the policy turns it on.
    pub correlation: Option<super::Correlation>,
}

impl Policy {
    /// What `rule` scores for a command of `origin` (its own score unless `origins` says).
    pub fn score_in(&self, rule: &Rule, origin: Option<CommandOrigin>) -> u32 {
        origin
            .and_then(|o| self.origin_scores.get(&rule.id)?.get(&o))
            .copied()
            .unwrap_or(rule.score)
    }
}

/// The mode of each kind of request, from `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    pub pods: Mode,
    pub exec: Mode,
    pub debug: Mode,
    pub tunnels: Mode,
}

impl Modes {
    pub fn of(&self, activity: Activity) -> Mode {
        match activity {
            Activity::Pods => self.pods,
            Activity::Exec => self.exec,
            Activity::Debug => self.debug,
            Activity::Tunnels => self.tunnels,
        }
    }
}

impl From<&ModeSpec> for Modes {
    fn from(spec: &ModeSpec) -> Modes {
        let of = |key: ModeKey| match spec {
            ModeSpec::All(mode) => *mode,
            ModeSpec::PerKind(map) => map
                .get(&key)
                .or_else(|| map.get(&ModeKey::Default))
                .copied()
                .unwrap_or_default(),
        };
        Modes {
            pods: of(ModeKey::Pods),
            exec: of(ModeKey::Exec),
            debug: of(ModeKey::Debug),
            tunnels: of(ModeKey::Tunnels),
        }
    }
}

/// The built-in default as the bottom layer. It is part of the binary, so a parse failure is a
/// build defect (`tests`: the default loads), reported like any layer's, never an empty layer.
pub fn default_layer() -> Result<Layer, PolicyError> {
    parse_layer(DEFAULT_LAYER, DEFAULT_POLICY_YAML)
}

/// Parses one layer's text.
pub fn parse_layer(name: &str, text: &str) -> Result<Layer, PolicyError> {
    let value = serde_saphyr::from_str(text).map_err(|e| PolicyError::Yaml(e.to_string()))?;
    Ok(Layer {
        name: name.to_string(),
        value,
    })
}

impl Policy {
    /// The embedded default policy. It is validated by the test suite, so failing here is a build
    /// defect, not an input error.
    pub fn embedded_default() -> Policy {
        match merge_layers(Vec::new()).map(|m| build(&m)) {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => panic!("embedded default policy is invalid: {e}"),
            Err(e) => panic!("embedded default policy is invalid: {e}"),
        }
    }

    /// One complete policy document (nothing layered below it).
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        Self::from_value(
            serde_saphyr::from_str(text).map_err(|e| PolicyError::Yaml(e.to_string()))?,
        )
    }

    /// One complete policy document (nothing layered below it).
    pub fn from_value(mut value: serde_json::Value) -> Result<Policy, PolicyError> {
        if let Some(map) = value.as_object_mut() {
            map.insert("base".into(), "none".into());
        }
        let layer = Layer {
            name: "policy".into(),
            value,
        };
        let merged = layers::merge(default_layer, vec![layer]).map_err(|(_, e)| e)?;
        build(&merged)
    }

    /// `layers` (bottom first) merged over the built-in default, unless the first says
    /// `base: none`.
    pub fn from_layers(layers: Vec<Layer>) -> Result<Policy, PolicyFileError> {
        Policy::from_merged(&merge_layers(layers)?)
    }

    /// Layers already merged (`policy show` prints the merge and checks it with this).
    pub fn from_merged(merged: &Merged) -> Result<Policy, PolicyFileError> {
        build(merged).map_err(|error| PolicyFileError::Merged {
            layers: merged.layers.join(", "),
            error,
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }
}

/// `layers` merged over the built-in default; an error names the layer it is in.
pub fn merge_layers(layers: Vec<Layer>) -> Result<Merged, PolicyFileError> {
    layers::merge(default_layer, layers)
        .map_err(|(path, error)| PolicyFileError::Invalid { path, error })
}

/// The merged tree as a policy. Problems in it name the layer that set the value at their path
/// when there is more than one layer.
fn build(merged: &Merged) -> Result<Policy, PolicyError> {
    let attribute = |mut problem: Problem| {
        if merged.layers.len() > 1 {
            let origin = merged.tree.origin_of(&problem.path);
            problem.message = format!("{} (set by {})", problem.message, merged.layers[origin]);
        }
        problem
    };
    let document: PolicyDocument = serde_path_to_error::deserialize(merged.tree.to_value())
        .map_err(|e| {
            let path = e.path().to_string();
            PolicyError::Shape(attribute(Problem {
                path: if path == "." { String::new() } else { path },
                message: e.into_inner().to_string(),
            }))
        })?;
    let mut policy = compile(document).map_err(|e| match e {
        PolicyError::Invalid(problems) => {
            PolicyError::Invalid(problems.into_iter().map(attribute).collect())
        }
        PolicyError::Shape(p) => PolicyError::Shape(attribute(p)),
        other => other,
    })?;
    policy.layers = merged.layers.clone();
    policy.warnings = merged.warnings.clone();
    Ok(policy)
}
