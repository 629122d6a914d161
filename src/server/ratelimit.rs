//! Logs that a requester can trigger at will (a parser panic, a malformed review) are written at
//! most once per interval; what was held back is counted and said with the next line. governor
//! (or tracing's own rate limiting) would hold lines back but not say how many: the count is the
//! point, and it is a few lines.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimiter {
    pub const fn new(interval: Duration) -> LogLimiter {
        LogLimiter {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(suppressed)` when a line may be written now (with how many were held back since the
    /// last one), `None` when this one is held back.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock();
        let (last, suppressed) = &mut *state;
        match last {
            Some(t) if now.duration_since(*t) < self.interval => {
                *suppressed += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_the_rest_counted() {
        let limiter = LogLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limiter.admit(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(limiter.admit(t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(limiter.admit(t0 + Duration::from_secs(10)), Some(5));
        assert_eq!(limiter.admit(t0 + Duration::from_secs(11)), None);
    }
}
