//! What both fuzz targets share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

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

/// An eighth of the server's evaluation stack (8 MiB): an input that recurses too deeply
/// overflows here long before it could in production, and libFuzzer reports the crash.
const STACK_BYTES: usize = 1024 * 1024;

static SLOWEST_MICROS: AtomicU64 = AtomicU64::new(0);

/// Runs `judge` on a thread with a small stack and reports each new slowest input on stderr
/// (`slowest input so far: N us`), which is how the README's figures are read.
pub fn judged<F: FnOnce() + Send>(judge: F) {
    let started = Instant::now();
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, judge)
            .expect("spawning the evaluation thread");
        if handle.join().is_err() {
            // The panic hook has already aborted on anything outside the parser.
            std::process::abort();
        }
    });
    let micros = started.elapsed().as_micros() as u64;
    if micros > SLOWEST_MICROS.fetch_max(micros, Ordering::Relaxed) {
        eprintln!("slowest input so far: {micros} us");
    }
}
