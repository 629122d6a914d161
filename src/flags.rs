//! Value parsers shared by the command-line flags of several modules: a value out of range is
//! refused with the flag's name, never clamped.

use std::time::Duration;

/// Whole seconds.
pub fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("`{text}` is not a whole number of seconds"))
}

/// Whole seconds, at least one.
pub fn at_least_one_second(text: &str) -> Result<Duration, String> {
    match seconds(text)? {
        d if d.is_zero() => Err("must be at least 1 second".to_string()),
        d => Ok(d),
    }
}

/// A finite rate above zero.
pub fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}
