//! The two processing modes a benchmark compares, with the batch interval as the control
//! variable: native is "no interval", micro-batch is one interval per epoch.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sluice_engine::time::MAX_INTERVAL_MS;

/// How a job processes its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Mode {
    /// Record at a time (Flink-like).
    Native,
    /// D-Streams: each `interval_ms` of arrivals is one batch (Spark Streaming-like).
    MicroBatch {
        /// The batch interval in ms.
        interval_ms: u64,
    },
}

impl Mode {
    /// The batch interval, if any.
    pub fn interval_ms(self) -> Option<u64> {
        match self {
            Mode::Native => None,
            Mode::MicroBatch { interval_ms } => Some(interval_ms),
        }
    }
    /// "native" or "micro-batch".
    pub fn name(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::MicroBatch { .. } => "micro-batch",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Native => write!(f, "native"),
            Mode::MicroBatch { interval_ms } => write!(f, "micro-batch {interval_ms}ms"),
        }
    }
}

/// Parses `native` or a batch interval in ms (`100`, `100ms`).
///
/// ```
/// use sluice_jobs::mode::Mode;
/// assert_eq!("native".parse::<Mode>(), Ok(Mode::Native));
/// assert_eq!("100ms".parse::<Mode>(), Ok(Mode::MicroBatch { interval_ms: 100 }));
/// assert!("0".parse::<Mode>().is_err());
/// assert!("86400001".parse::<Mode>().is_err()); // longer than a day
/// ```
impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        if s == "native" {
            return Ok(Mode::Native);
        }
        match s.trim_end_matches("ms").parse::<u64>() {
            Ok(interval_ms) if interval_ms > 0 && interval_ms <= MAX_INTERVAL_MS => {
                Ok(Mode::MicroBatch { interval_ms })
            }
            _ => Err(format!(
                "mode '{s}' is neither 'native' nor a batch interval in ms from 1 to {MAX_INTERVAL_MS} (one day)"
            )),
        }
    }
}
