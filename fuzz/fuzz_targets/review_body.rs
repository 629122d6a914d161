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

/// libfuzzer-sys aborts on every panic, even one the engine catches. reconguard catches panics
/// raised inside brush-parser (a known upstream bug) and treats them as parse failures; every
/// other panic is still a crash.
fn allow_caught_parser_panics() {
    let abort_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_parser = info
            .location()
            .is_some_and(|l| l.file().contains("brush-parser"));
        if !in_parser {
            abort_hook(info);
        }
    }));
}

fuzz_target!(init: allow_caught_parser_panics(), |data: &[u8]| {
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
