//! Where the pipeline's time comes from. Correlation windows are the only thing that reads it;
//! tests move a clock forward instead of sleeping through a window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The system's monotonic clock, or one a test can move forward.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<ManualClock>>);

/// The system clock plus a skip that only grows.
#[derive(Debug, Default)]
pub struct ManualClock {
    skipped_nanos: AtomicU64,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.skipped_nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that runs with the system's and jumps when its handle says.
    pub fn manual() -> (Clock, Arc<ManualClock>) {
        let handle = Arc::new(ManualClock::default());
        (Clock(Some(handle.clone())), handle)
    }

    pub fn now(&self) -> Instant {
        let now = Instant::now();
        match &self.0 {
            None => now,
            Some(m) => now + Duration::from_nanos(m.skipped_nanos.load(Ordering::SeqCst)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_jumps_when_told() {
        let (clock, handle) = Clock::manual();
        let before = clock.now();
        handle.advance(Duration::from_secs(3600));
        assert!(clock.now().duration_since(before) >= Duration::from_secs(3600));
        assert!(Clock::system().now().duration_since(before) < Duration::from_secs(3600));
    }
}
