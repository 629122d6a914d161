//! Panics in the server are counted on a metric and logged at a rate limit. brush-parser panics on
//! some inputs (the engine catches those and treats them as parse failures), and the default hook
//! would print a backtrace to stderr for every such request: a log flood any requester can cause.

use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use super::ratelimit::LogLimiter;

static PANICS: OnceLock<prometheus::IntCounter> = OnceLock::new();
static LOG: LogLimiter = LogLimiter::new(Duration::from_secs(10));
static INSTALL: Once = Once::new();

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

/// Installs the hook, once per process. Panics inside an evaluation (`engine::guard::run`) (where a requester's input can
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
            if !crate::engine::guard::evaluating() {
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
