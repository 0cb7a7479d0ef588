//! The wire format of timed load: `<scheduled unix nanos> <line>`.
//!
//! An open-loop load generator decides *when* each line should be sent, before sending it; a
//! benchmark measures latency from that scheduled time, not from the moment the line actually
//! left, so a sender that falls behind cannot hide the queueing it caused (coordinated
//! omission). The scheduled time travels in front of the line. `sluice loadgen` writes this
//! format over TCP, and [`Generator::stamped`](super::Generator::stamped) produces it in process,
//! so one parser serves both.
//!
//! ```
//! use sluice_engine::sources::stamped::{parse_stamped, stamp};
//! let line = stamp(1_700_000_000_123_456_789, "a b c");
//! assert_eq!(line, "1700000000123456789 a b c");
//! assert_eq!(parse_stamped(&line), Ok((1_700_000_000_123_456_789, "a b c")));
//! assert!(parse_stamped("soon a b c").is_err());
//! ```

/// `line` with its scheduled send time (Unix nanoseconds) in front.
pub fn stamp(scheduled_nanos: u64, line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 21);
    write_stamped(scheduled_nanos, line, &mut out);
    out
}

/// Appends `line` with its scheduled send time in front to `out` (no newline).
pub fn write_stamped(scheduled_nanos: u64, line: &str, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{scheduled_nanos} {line}");
}

/// Splits a stamped line into its scheduled send time and the line; the error says what is wrong.
pub fn parse_stamped(line: &str) -> Result<(u64, &str), String> {
    let (time, rest) = line.split_once(' ').unwrap_or((line, ""));
    match time.parse::<u64>() {
        Ok(nanos) => Ok((nanos, rest)),
        Err(_) => Err(format!(
            "expected '<unix nanos> <line>', found {:?}",
            line.chars().take(40).collect::<String>()
        )),
    }
}
