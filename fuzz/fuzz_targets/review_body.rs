//! Arbitrary request bodies as the server parses them: parse, classify, judge, respond.
#![no_main]

#[path = "common.rs"]
mod common;

use common::{allow_caught_parser_panics, judged, policy};

use kube::core::admission::AdmissionReview;
use kube::core::DynamicObject;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: allow_caught_parser_panics(), |data: &[u8]| {
    let Ok(review) = serde_json::from_slice::<AdmissionReview<DynamicObject>>(data) else {
        return;
    };
    let Some(request) = review.request else {
        return;
    };
    judged(|| {
        if let Ok(subject) = reconguard::subject::from_request(&request) {
            let decision = reconguard::evaluate(policy(), &subject);
            let _ = reconguard::review::response(&request, &decision);
        }
    });
});
