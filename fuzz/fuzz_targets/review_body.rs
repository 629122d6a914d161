//! Arbitrary request bodies as the server parses them: parse, classify, judge, respond.
#![no_main]

use std::sync::OnceLock;

use kube::core::admission::AdmissionReview;
use kube::core::DynamicObject;
use libfuzzer_sys::fuzz_target;
use reconguard::policy::Policy;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::embedded_default)
}

fuzz_target!(|data: &[u8]| {
    let Ok(review) = serde_json::from_slice::<AdmissionReview<DynamicObject>>(data) else {
        return;
    };
    let Some(request) = review.request else {
        return;
    };
    if let Ok(subject) = reconguard::subject::from_request(&request) {
        let decision = reconguard::evaluate(policy(), &subject);
        let _ = reconguard::review::response(&request, &decision);
    }
});
