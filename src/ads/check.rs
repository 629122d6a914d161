//! The catalogue proves itself: every example of every rule is judged as the review the API
//! server would send, a positive example must raise its rule and a near miss must not, and each
//! false positive's tuning must load as a layer over the policy. Exemptions and the mode are set
//! aside while examples are judged: they decide who may do what, and the check is about what the
//! detectors see. Problems carry the path of the example or the tuning in the merged policy.

use serde_json::Value;

use super::examples::{context, describe, review};
use crate::context::Context;
use crate::decision::Decision;
use crate::policy::load::{parse_layer, API_VERSION, KIND};
use crate::policy::model::{Example, ModeSpec, RuleSpec};
use crate::policy::{Layer, Mode, Modes, Policy, Problem};

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Rules in the policy, and how many of them are enabled.
    pub rules: usize,
    pub enabled: usize,
    /// Examples judged.
    pub examples: usize,
    /// Tunings loaded.
    pub tunings: usize,
    /// Examples that do not do what they say, and tunings that do not load: the policy is broken.
    pub failures: Vec<Problem>,
    /// Documentation missing from a rule: worth fixing, not an error for an admin's own rules.
    pub gaps: Vec<Problem>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The policy's rules, in id order.
fn rules(policy: &Policy) -> impl Iterator<Item = (&String, &RuleSpec)> {
    policy.document.rules.iter()
}

/// An example's review judged under `policy`, read as the server reads it.
/// `context` is what the server's pod cache would add (nothing, for most examples).
pub fn judge_review(
    policy: &Policy,
    review: &Value,
    context: &Context,
) -> Result<Decision, String> {
    let bytes = serde_json::to_vec(review).map_err(|e| e.to_string())?;
    let request = crate::admission::read_review(&bytes).map_err(|e| e.to_string())?;
    let mut subject = crate::subject::from_request(&request).map_err(|e| e.to_string())?;
    if !context.is_empty() {
        subject.context = context.clone();
    }
    Ok(crate::evaluate(policy, &subject))
}

/// The rules an example raises under `policy`, or why it could not be judged.
pub fn rules_raised(
    policy: &Policy,
    review: &Value,
    context: &Context,
) -> Result<Vec<String>, String> {
    let decision = judge_review(policy, review, context)?;
    if let Some(why) = decision.skipped {
        return Err(format!("not judged: {why}"));
    }
    Ok(decision.rules().into_iter().map(str::to_string).collect())
}

/// Checks the policy merged from `layers` (bottom first, over the built-in default).
pub fn check(layers: &[Layer], policy: &Policy) -> Report {
    check_with(layers, policy, true)
}

/// [`check`], optionally without loading the tunings (a full policy load each).
pub fn check_with(layers: &[Layer], policy: &Policy, tunings: bool) -> Report {
    let mut report = Report::default();
    // Exemptions and the mode decide what happens to findings (`mode: off` has none at all);
    // the check is about the findings.
    let mut detectors = policy.clone();
    detectors.exemptions.clear();
    detectors.mode = Modes::from(&ModeSpec::All(Mode::Enforce));
    for (i, scenario) in policy.document.scenarios.iter().enumerate() {
        for (j, rule) in scenario.rules.iter().enumerate() {
            if policy.rule(rule).is_none() {
                report.failures.push(Problem {
                    path: format!("scenarios[{i}].rules[{j}]"),
                    message: format!("no rule {rule:?}"),
                });
            }
        }
    }
    for (id, spec) in rules(policy) {
        report.rules += 1;
        let base = format!("rules.{id}");
        gaps(&base, spec, policy, &mut report.gaps);
        let enabled = policy.rule(id).is_some_and(|r| r.enabled);
        if !enabled {
            continue;
        }
        report.enabled += 1;
        let sets = [
            ("fires", &spec.examples.fires, true),
            ("quiet", &spec.examples.quiet, false),
        ];
        for (set, examples, must_raise) in sets {
            for (i, example) in examples.iter().enumerate() {
                report.examples += 1;
                let path = format!("{base}.examples.{set}[{i}]");
                if let Some(message) = judge(&detectors, id, example, must_raise) {
                    report.failures.push(Problem { path, message });
                }
            }
        }
        for (i, fp) in spec.false_positives.iter().enumerate().filter(|_| tunings) {
            report.tunings += 1;
            let path = format!("{base}.falsePositives[{i}].tuning");
            let loaded = parse_layer("the tuning", &fp.tuning)
                .map_err(|e| e.to_string())
                .and_then(|tuning| {
                    let mut tuned = layers.to_vec();
                    tuned.push(with_header(tuning));
                    Policy::from_layers(tuned).map_err(|e| e.to_string())
                });
            if let Err(message) = loaded {
                report.failures.push(Problem { path, message });
            }
        }
    }
    report
}

/// A tuning is written as the body of a layer; the header every layer carries is implied.
fn with_header(mut layer: Layer) -> Layer {
    if let Some(map) = layer.value.as_object_mut() {
        for (key, value) in [("apiVersion", API_VERSION), ("kind", KIND)] {
            map.entry(key)
                .or_insert_with(|| Value::String(value.to_string()));
        }
    }
    layer
}

/// Why an example does not do what it says, if it does not.
fn judge(policy: &Policy, rule: &str, example: &Example, must_raise: bool) -> Option<String> {
    let review = match review(example, "reconguard-example") {
        Ok(r) => r,
        Err(e) => return Some(format!("invalid example: {e}")),
    };
    let context = match context(example) {
        Ok(c) => c,
        Err(e) => return Some(format!("invalid example: {e}")),
    };
    let raised = match rules_raised(policy, &review, &context) {
        Ok(r) => r,
        Err(e) => return Some(format!("{}: {e}", describe(example))),
    };
    let raises = raised.iter().any(|r| r == rule);
    match (must_raise, raises) {
        (true, false) => Some(format!(
            "does not raise {rule}: {} (raises: {})",
            describe(example),
            list(&raised)
        )),
        (false, true) => Some(format!(
            "a near miss raises {rule}: {} (raises: {})",
            describe(example),
            list(&raised)
        )),
        _ => None,
    }
}

fn list(rules: &[String]) -> String {
    if rules.is_empty() {
        "nothing".to_string()
    } else {
        rules.join(", ")
    }
}

/// The documentation a rule lacks.
fn gaps(base: &str, spec: &RuleSpec, policy: &Policy, out: &mut Vec<Problem>) {
    // The correlation rule is raised by a sequence of requests, never by one example.
    let sequence_only = policy
        .document
        .correlation
        .as_ref()
        .is_some_and(|c| format!("rules.{}", c.rule) == base);
    let mut missing = |field: &str, what: &str| {
        out.push(Problem {
            path: format!("{base}.{field}"),
            message: format!("missing: {what}"),
        })
    };
    if spec.priority.is_none() {
        missing("priority", "low, medium, high or critical");
    }
    if spec.strategy.trim().is_empty() {
        missing("strategy", "what the rule detects and how");
    }
    if spec.blind_spots.is_empty() {
        missing("blindSpots", "what the rule misses or assumes");
    }
    if spec.false_positives.is_empty() {
        missing("falsePositives", "benign cases and their tuning");
    }
    if spec.response.is_empty() {
        missing("response", "what to do when it fires");
    }
    if spec.examples.fires.is_empty() && !sequence_only {
        missing("examples.fires", "an input that raises the rule");
    }
    if spec.examples.quiet.is_empty() && !sequence_only {
        missing("examples.quiet", "a near miss that does not");
    }
    if !policy.document.techniques.contains_key(&spec.technique) {
        out.push(Problem {
            path: format!("{base}.technique"),
            message: format!("{} is not in `techniques`", spec.technique),
        });
    }
}
