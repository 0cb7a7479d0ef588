//! The bounds of every numeric flag, in one place: clap value parsers that reject, in one line
//! naming the flag, a value the command could not sensibly run with — zero where nothing would
//! happen, NaN, infinities, and sizes past which a run would never end or would exhaust memory.
//!
//! The limits are generous for real use and tied to what one process can do:
//! - a batch interval, window, slide, lateness or period is at most [`MAX_INTERVAL_MS`]
//!   (one day): timely's time arithmetic overflows near `u64::MAX`, and a longer batch never
//!   closes within any run;
//! - worker threads per process are at most [`MAX_WORKERS`] (256): each costs memory and
//!   channels between every pair, so 10 000 took gigabytes before doing any work;
//! - rates are at most [`MAX_RATE`] lines per second (a billion: past any one machine);
//! - durations in seconds are at most one day;
//! - line and tweet counts, vocabularies and words per line are bounded so that a typo cannot
//!   allocate the machine away.

use std::path::PathBuf;

use clap::builder::RangedU64ValueParser;
pub use sluice::engine::time::MAX_INTERVAL_MS;

/// Worker threads per process, at most.
pub const MAX_WORKERS: u64 = 256;
/// Processes in a job, at most.
pub const MAX_PROCESSES: u64 = 1024;
/// Lines per second, at most.
pub const MAX_RATE: f64 = 1e9;
/// A duration in seconds, at most: one day.
pub const MAX_SECONDS: f64 = 86_400.0;
/// Lines to generate or send, at most.
pub const MAX_LINES: u64 = 10_000_000_000;
/// Items held in memory at once (tweets, keys, events), at most.
pub const MAX_ITEMS: u64 = 100_000_000;
/// Distinct words or hashtags, at most (each is kept in memory with its weight).
pub const MAX_VOCAB: u64 = 10_000_000;
/// Words per generated line, at most.
pub const MAX_WORDS_PER_LINE: u64 = 10_000;
/// Measured runs per configuration, at most.
pub const MAX_RUNS: u64 = 1000;
/// The Zipf exponent of word popularity, at most (past it, one word is all words anyway).
pub const MAX_SKEW: f64 = 100.0;

/// An integer in `min..=max`.
pub fn int(min: u64, max: u64) -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::new().range(min..=max)
}

/// A count in `min..=max`, for `usize` fields.
pub fn count(min: u64, max: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(min..=max)
}

/// Worker threads: 1 to [`MAX_WORKERS`].
pub fn workers() -> RangedU64ValueParser<usize> {
    count(1, MAX_WORKERS)
}

/// A batch interval, window or period in ms: 1 to [`MAX_INTERVAL_MS`].
pub fn interval_ms() -> RangedU64ValueParser<u64> {
    int(1, MAX_INTERVAL_MS)
}

/// A delay or period in ms where 0 means none: 0 to [`MAX_INTERVAL_MS`].
pub fn ms_or_zero() -> RangedU64ValueParser<u64> {
    int(0, MAX_INTERVAL_MS)
}

/// A rate in lines per second: finite, above 0, at most [`MAX_RATE`].
pub fn rate(s: &str) -> Result<f64, String> {
    float(s, Above(0.0), MAX_RATE, "a rate in lines per second")
}

/// A duration in seconds: above 0, at most one day.
pub fn seconds(s: &str) -> Result<f64, String> {
    float(s, Above(0.0), MAX_SECONDS, "a duration in seconds")
}

/// A duration in seconds that may be 0: at most one day.
pub fn seconds_or_zero(s: &str) -> Result<f64, String> {
    float(s, AtLeast(0.0), MAX_SECONDS, "a duration in seconds")
}

/// A duration in ms with a fraction: above 0, at most [`MAX_INTERVAL_MS`].
pub fn positive_ms(s: &str) -> Result<f64, String> {
    float(s, Above(0.0), MAX_INTERVAL_MS as f64, "a duration in ms")
}

/// A fraction: 0 to 1.
pub fn fraction(s: &str) -> Result<f64, String> {
    float(s, AtLeast(0.0), 1.0, "a fraction")
}

/// A Zipf exponent: 0 (uniform) to [`MAX_SKEW`].
pub fn skew(s: &str) -> Result<f64, String> {
    float(s, AtLeast(0.0), MAX_SKEW, "a Zipf exponent")
}

/// A file to read: it must exist and be a regular file. A directory fails to read later with a
/// less clear message, and a device or FIFO (`/dev/zero`, a named pipe) would be read forever.
pub fn input_file(s: &str) -> Result<PathBuf, String> {
    match std::fs::metadata(s) {
        Ok(meta) if meta.is_file() => Ok(PathBuf::from(s)),
        Ok(_) => Err(format!("{s} is not a regular file")),
        Err(e) => Err(format!("cannot read {s}: {e}")),
    }
}

/// The lower end of a range of floats.
enum Low {
    Above(f64),
    AtLeast(f64),
}
use Low::{Above, AtLeast};

/// A float in the range, finite (NaN and the infinities are never in one).
fn float(s: &str, low: Low, max: f64, what: &str) -> Result<f64, String> {
    let x: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    let (fits_low, low) = match low {
        Above(min) => (x > min, format!("above {min}")),
        AtLeast(min) => (x >= min, format!("at least {min}")),
    };
    if fits_low && x <= max {
        Ok(x)
    } else {
        Err(format!("{what} must be {low} and at most {max}, not {s}"))
    }
}

/// A broker URL: `nats://HOST:PORT/STREAM[/SUBJECT]` or `redis://HOST:PORT/KEY[,KEY...]`.
pub fn broker_url(s: &str) -> Result<sluice::connectors::BrokerUrl, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_must_be_finite_and_in_range() {
        for bad in ["0", "-1", "NaN", "nan", "inf", "-inf", "1e25", "x", ""] {
            assert!(rate(bad).is_err(), "rate {bad:?}");
        }
        assert_eq!(rate("2.5"), Ok(2.5));
        assert_eq!(rate("1e9"), Ok(1e9));
        assert_eq!(seconds_or_zero("0"), Ok(0.0));
        assert!(seconds("0").is_err());
        assert!(fraction("1.01").is_err());
        assert_eq!(fraction("1"), Ok(1.0));
        assert!(skew("NaN").is_err());
        assert!(skew("-0.5").is_err());
        assert_eq!(skew("0"), Ok(0.0));
    }

    #[test]
    fn the_error_says_what_is_allowed() {
        let error = rate("inf").unwrap_err();
        assert!(
            error.contains("above 0") && error.contains("at most"),
            "{error}"
        );
    }
}
