//! Reading a policy document: the embedded default or a file, YAML parsed into the document's
//! shape with exact error paths, then compiled (`compile`) into a `Policy`.

use std::collections::HashMap;
use std::fmt;

use super::compile::compile;
use super::exemption::Exemption;
use super::model::*;
use crate::detect::catalogue::Catalogue;

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
    pub mode: Mode,
    pub thresholds: Thresholds,
    pub rules: HashMap<String, Rule>,
    pub combinations: Vec<CombinationSpec>,
    pub exemptions: Vec<Exemption>,
    /// What the detectors match against, compiled from the document.
    pub catalogue: Catalogue,
}

impl Policy {
    /// The embedded default policy. It is validated by the test suite, so failing here is a build
    /// defect, not an input error.
    pub fn embedded_default() -> Policy {
        match Policy::from_yaml(DEFAULT_POLICY_YAML) {
            Ok(p) => p,
            Err(e) => panic!("embedded default policy is invalid: {e}"),
        }
    }

    /// The policy in `path`, or the embedded default when there is none.
    pub fn from_file(path: Option<&std::path::Path>) -> Result<Policy, PolicyFileError> {
        let Some(path) = path else {
            return Ok(Policy::embedded_default());
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| PolicyFileError::Read {
            path: shown.clone(),
            error,
        })?;
        Policy::from_yaml(&text).map_err(|error| PolicyFileError::Invalid { path: shown, error })
    }

    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        let value: serde_json::Value =
            serde_saphyr::from_str(text).map_err(|e| PolicyError::Yaml(e.to_string()))?;
        Self::from_value(value)
    }

    pub fn from_value(value: serde_json::Value) -> Result<Policy, PolicyError> {
        let document: PolicyDocument = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            PolicyError::Shape(Problem {
                path: if path == "." { String::new() } else { path },
                message: e.into_inner().to_string(),
            })
        })?;
        compile(document)
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }
}
