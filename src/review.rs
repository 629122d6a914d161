//! Decision -> AdmissionResponse: what the API server and the requesting user see. Pure.

use kube::core::admission::{AdmissionRequest, AdmissionResponse};

use crate::admission::RawObject;
use crate::decision::{Action, Decision};

/// Most warnings a response carries; kubectl prints each on its own line.
pub const MAX_WARNINGS: usize = 5;
/// The API server truncates longer warnings; keep them readable.
const MAX_WARNING_CHARS: usize = 240;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// Builds the response for a judged request.
pub fn response(req: &AdmissionRequest<RawObject>, decision: &Decision) -> AdmissionResponse {
    let mut resp = AdmissionResponse::from(req);
    if let Some(reason) = &decision.skipped {
        resp.result.message = format!("reconguard: {reason}");
        return resp;
    }
    let exemptions = decision.effective_exemptions();
    if decision.action == Action::Allow && exemptions.is_empty() {
        return resp;
    }
    let annotations = &mut resp.audit_annotations;
    // The audit log says which exemption let a request through, and what it set aside.
    if !exemptions.is_empty() {
        annotations.insert("exemptions".into(), exemptions.join(","));
    }
    if !decision.exempted_rules.is_empty() {
        annotations.insert("exempted-rules".into(), decision.exempted_rules.join(","));
    }
    annotations.insert("score".into(), decision.score.to_string());
    annotations.insert("decision".into(), decision.action.as_str().into());
    annotations.insert("rules".into(), decision.rules().join(","));
    annotations.insert("techniques".into(), decision.techniques().join(","));
    if decision.would_deny {
        annotations.insert("would-deny".into(), "true".into());
    }
    if decision.action == Action::Allow {
        return resp;
    }
    let mut warnings: Vec<String> = decision
        .findings
        .iter()
        .take(MAX_WARNINGS)
        .map(|f| {
            clip(
                &format!("reconguard [{} {}]: {}", f.technique, f.rule, f.message),
                MAX_WARNING_CHARS,
            )
        })
        .collect();
    if decision.findings.len() > MAX_WARNINGS {
        warnings.push(format!(
            "reconguard: {} more finding(s) in the audit log",
            decision.findings.len() - MAX_WARNINGS
        ));
    }
    if decision.would_deny {
        warnings.push(format!(
            "reconguard: audit mode: this request would be denied (score {})",
            decision.score
        ));
    }
    resp.warnings = Some(warnings);
    if decision.action == Action::Deny {
        let top: Vec<String> = decision
            .findings
            .iter()
            .take(3)
            .map(|f| format!("{} ({}, {})", f.message, f.rule, f.technique))
            .collect();
        resp = resp.deny(format!(
            "reconguard denied this request (score {}): {}",
            decision.score,
            top.join("; ")
        ));
        // kube-core leaves code 0, which the API server reports as 400.
        resp.result.code = 403;
        resp.result.reason = "Forbidden".into();
    }
    resp
}

/// A review that was well-formed but whose object could not be judged: refused with 400.
pub fn invalid_object(req: &AdmissionRequest<RawObject>, why: &str) -> AdmissionResponse {
    let why = crate::mask::text(why);
    let mut resp =
        AdmissionResponse::from(req).deny(format!("reconguard cannot judge this request: {why}"));
    resp.result.code = 400;
    resp.result.reason = "BadRequest".into();
    resp
}
