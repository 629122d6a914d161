//! Panics in the server are counted on a metric and logged at a rate limit. brush-parser panics on
//! some inputs (the engine catches those and treats them as parse failures), and the default hook
//! would print a backtrace to stderr for every such request: a log flood any requester can cause.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use super::ratelimit::LogLimiter;

static PANICS: OnceLock<prometheus::IntCounter> = OnceLock::new();
static LOG: LogLimiter = LogLimiter::new(Duration::from_secs(10));
static INSTALL: Once = Once::new();

thread_local! {
    /// Set while this thread runs an evaluation (see `evaluate`).
    static EVALUATING: Cell<bool> = const { Cell::new(false) };
}

/// Runs an evaluation on the current thread (a pool thread or an async worker), catching its
/// panic; the hook counts and rate-limits panics raised inside, which a requester's input can
/// cause.
pub fn evaluate<T>(job: impl FnOnce() -> T) -> std::thread::Result<T> {
    EVALUATING.with(|e| e.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(job));
    EVALUATING.with(|e| e.set(false));
    outcome
}

/// The process-wide panic counter (`reconguard_panics_total`); every registry shares it.
pub fn counter() -> prometheus::IntCounter {
    PANICS
        .get_or_init(|| {
            prometheus::IntCounter::new(
                "reconguard_panics_total",
                "Panics caught while serving (parser panics included); each affected request was denied or treated as unparsable.",
            )
            .expect("a valid metric name")
        })
        .clone()
}

/// Installs the hook, once per process. Panics inside `evaluate` (where a requester's input can
/// cause them) are counted and logged at a rate limit; panics anywhere else are counted and go to
/// the previous hook as before.
pub fn install_hook() {
    INSTALL.call_once(|| {
        let panics = counter();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            panics.inc();
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if !EVALUATING.with(Cell::get) {
                previous(info);
                return;
            }
            if let Some(suppressed) = LOG.admit(Instant::now()) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                // A panic message can quote what was being evaluated.
                let message = crate::mask::text(&message).into_owned();
                let location = info.location().map(|l| l.to_string()).unwrap_or_default();
                tracing::error!(%message, %location, thread = name, suppressed, "panic caught during an evaluation (further ones within 10 s are counted, not logged)");
            }
        }));
    });
}
