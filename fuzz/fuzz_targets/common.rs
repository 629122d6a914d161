//! What both fuzz targets share.

use std::sync::OnceLock;

use reconguard::policy::Policy;

pub fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::embedded_default)
}

/// libfuzzer-sys aborts on every panic, even one the engine catches. reconguard catches panics
/// raised inside brush-parser (a known upstream bug) and treats them as parse failures; every
/// other panic is still a crash.
pub fn allow_caught_parser_panics() {
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
