//! A panic inside the analysis ends that request's judgement, not the thread or the process.
//! brush-parser panics on some inputs; any requester can send them. The flag lets the server's
//! panic hook tell these panics (counted, logged at a rate limit) from its own.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static EVALUATING: Cell<bool> = const { Cell::new(false) };
}

/// Runs one evaluation on the current thread, catching its panic.
pub fn run<T>(job: impl FnOnce() -> T) -> std::thread::Result<T> {
    // Restored, not cleared: `run` may be nested (a pool job that judges).
    let was = EVALUATING.with(|e| e.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(job));
    EVALUATING.with(|e| e.set(was));
    outcome
}

/// Whether this thread is inside `run` (for a panic hook).
pub fn evaluating() -> bool {
    EVALUATING.with(Cell::get)
}
