//! Durations as reports show them: milliseconds, rounded to the microsecond.
use std::time::Instant;

pub fn elapsed_ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}
