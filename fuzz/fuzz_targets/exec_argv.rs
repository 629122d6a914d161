//! Arbitrary argv through the whole engine: never a panic, never unbounded work.
#![no_main]

#[path = "common.rs"]
mod common;

use common::{allow_caught_parser_panics, judged, policy};

use libfuzzer_sys::fuzz_target;
use reconguard::subject::{ExecCommand, Subject, SubjectBody};

fuzz_target!(init: allow_caught_parser_panics(), |data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let command: Vec<String> = text.split('\0').map(str::to_string).collect();
    let subject = Subject {
        kind: "PodExecOptions".into(),
        namespace: None,
        name: None,
        operation: None,
        subresource: None,
        uid: None,
        requester: None,
        dry_run: false,
        body: SubjectBody::Exec(ExecCommand { command, stdin: data.first() == Some(&b'i'), ..Default::default() }),
    };
    judged(|| {
        let _ = reconguard::evaluate(policy(), &subject);
    });
});
