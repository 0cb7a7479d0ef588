//! Time in Sluice is `u64` milliseconds.
//!
//! In native mode a record's timely timestamp is its processing (or event) time in ms; in
//! micro-batch mode it is that time rounded up to the batch interval. One unit for both keeps
//! the two modes comparable on the same operators.

use std::time::{SystemTime, UNIX_EPOCH};

/// A timestamp: milliseconds (since the Unix epoch for processing time).
pub type Time = u64;

/// The longest batch interval, window or period the command line accepts, in ms: one day.
/// Timestamps are rounded up to intervals, so an interval near `u64::MAX` overflows timely's
/// time arithmetic; and a batch longer than a day never closes within any run worth having.
pub const MAX_INTERVAL_MS: Time = 24 * 60 * 60 * 1000;

/// The current processing time: milliseconds since the Unix epoch.
///
/// Wall-clock, not monotonic, so that processes of one job agree on it (to NTP precision).
pub fn now_ms() -> Time {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Time)
        .unwrap_or(0)
}

/// The current time in nanoseconds since the Unix epoch, for latency measurement.
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
