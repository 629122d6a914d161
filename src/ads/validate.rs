//! The ADS validation step against a running webhook: what the webhook's answer to an example's
//! review says about the example's rule. The answer names the rules it found only when it warns or
//! denies (the `rules` audit annotation); an allowed request carries no findings, so a rule that
//! scores below the annotate threshold on its own is not visible from outside.

use serde::Serialize;
use serde_json::Value;

/// What one example did at the webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "detail")]
pub enum Verdict {
    /// A positive example was reported with its rule, or a near miss was not.
    AsDocumented,
    /// Allowed without findings, as the local policy predicts for this example (below the
    /// annotate threshold, or exempted at the endpoint): the webhook cannot show the rule.
    NotVisible(String),
    /// A positive example whose rule the webhook did not report although it warned or denied,
    /// or that the local policy says should warn or deny.
    Silent(String),
    /// A near miss the webhook reported with the rule.
    Raised(String),
    /// The example is judged with the pod cache's view of its target pod or namespace, which
    /// a review cannot carry: not sent.
    NeedsContext,
    /// The webhook's answer was not a review response.
    Error(String),
}

impl Verdict {
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Verdict::Silent(_) | Verdict::Raised(_) | Verdict::Error(_)
        )
    }
}

/// The rules an AdmissionReview answer reports, and whether it was allowed.
pub fn reported(answer: &Value) -> Result<(bool, Vec<String>), String> {
    let response = answer
        .get("response")
        .ok_or_else(|| format!("not an AdmissionReview response: {answer}"))?;
    let allowed = response
        .get("allowed")
        .and_then(Value::as_bool)
        .ok_or("the response has no `allowed`")?;
    let rules = response
        .pointer("/auditAnnotations/rules")
        .and_then(Value::as_str)
        .map(|r| {
            r.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok((allowed, rules))
}

/// The verdict on one example. `visible_locally`: the local policy warns or denies this example,
/// so a webhook running the same policy reports its rules.
pub fn verdict(rule: &str, must_raise: bool, answer: &Value, visible_locally: bool) -> Verdict {
    let (allowed, rules) = match reported(answer) {
        Ok(r) => r,
        Err(e) => return Verdict::Error(e),
    };
    let raised = rules.iter().any(|r| r == rule);
    match (must_raise, raised) {
        (true, true) | (false, false) => Verdict::AsDocumented,
        (false, true) => Verdict::Raised(format!("reported: {}", rules.join(","))),
        (true, false) if allowed && rules.is_empty() && !visible_locally => Verdict::NotVisible(
            "allowed without findings; the local policy allows it too (below the annotate threshold)"
                .into(),
        ),
        (true, false) if allowed && rules.is_empty() => Verdict::Silent(
            "allowed without findings, where the local policy warns or denies: the endpoint's \
             policy differs (an exemption, a lower score, a removed entry)"
                .into(),
        ),
        (true, false) => Verdict::Silent(format!("reported only: {}", rules.join(","))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(allowed: bool, rules: Option<&str>) -> Value {
        let mut response = json!({"uid": "u", "allowed": allowed});
        if let Some(rules) = rules {
            response["auditAnnotations"] = json!({"rules": rules});
        }
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
    }

    #[test]
    fn verdicts() {
        let hit = answer(false, Some("host-pid,privileged"));
        let clean = answer(true, None);
        assert_eq!(verdict("host-pid", true, &hit, true), Verdict::AsDocumented);
        assert_eq!(
            verdict("host-pid", false, &clean, false),
            Verdict::AsDocumented
        );
        assert!(matches!(
            verdict("host-pid", false, &hit, true),
            Verdict::Raised(_)
        ));
        assert!(matches!(
            verdict("host-pid", true, &clean, false),
            Verdict::NotVisible(_)
        ));
        assert!(matches!(
            verdict("host-pid", true, &clean, true),
            Verdict::Silent(_)
        ));
        assert!(matches!(
            verdict("host-ipc", true, &hit, true),
            Verdict::Silent(d) if d.contains("host-pid,privileged")
        ));
        assert!(matches!(
            verdict("x", true, &json!({}), true),
            Verdict::Error(_)
        ));
        assert!(Verdict::Silent(String::new()).failed());
        assert!(!Verdict::NotVisible(String::new()).failed());
    }
}
