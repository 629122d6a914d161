//! Arbitrary argv through the whole engine: never a panic, never unbounded work.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reconguard::policy::Policy;
use reconguard::subject::{ExecCommand, Subject, SubjectBody};

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
    let _ = reconguard::evaluate(policy(), &subject);
});
