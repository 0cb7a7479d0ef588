//! One record on disk: a fixed header, then the payload.
//!
//! ```text
//! u32 payload length | u32 CRC32 of (offset, time, payload) | u64 offset | u64 time | payload
//! ```
//!
//! All little-endian. The offset is in the record itself, so a reader checks that records follow
//! each other without gaps; the checksum covers everything but the length, and a length that
//! runs past the end of the file is an incomplete record (a write in progress, or torn by a
//! crash), never decoded.

use crate::time::Time;

/// Bytes before the payload.
pub const HEADER: usize = 24;

/// The largest payload a record may hold (a guard against a corrupt length).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// A record read from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Its position in the log: 0 for the first record ever appended, then one more each.
    pub offset: u64,
    /// Its time in ms (event time if the appender gave one, else the append time).
    pub time: Time,
    /// Its bytes.
    pub payload: Vec<u8>,
}

impl LogRecord {
    /// The payload as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }
}

/// Appends the encoding of a record to `out`.
pub fn encode(offset: u64, time: Time, payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(offset, time, payload).to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&time.to_le_bytes());
    out.extend_from_slice(payload);
}

fn checksum(offset: u64, time: Time, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&offset.to_le_bytes());
    hasher.update(&time.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// What the bytes at a record's start hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole, intact record of `len` bytes on disk.
    Record {
        /// The record's offset in the log, as its header states it.
        offset: u64,
        /// The record's time.
        time: Time,
        /// The record's bytes, borrowed from the input.
        payload: &'a [u8],
        /// Bytes it takes on disk, header included: where the next record starts.
        len: usize,
    },
    /// The bytes end before the record does.
    Incomplete,
    /// The record is whole but wrong; the reason says how.
    Corrupt(String),
}

/// Decodes the record at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    if bytes.len() < HEADER {
        return Decoded::Incomplete;
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let long = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let length = word(0) as usize;
    if length > MAX_PAYLOAD {
        return Decoded::Corrupt(format!("impossible length {length}"));
    }
    if bytes.len() < HEADER + length {
        return Decoded::Incomplete;
    }
    let (offset, time) = (long(8), long(16));
    let payload = &bytes[HEADER..HEADER + length];
    if checksum(offset, time, payload) != word(4) {
        return Decoded::Corrupt("checksum mismatch".into());
    }
    Decoded::Record {
        offset,
        time,
        payload,
        len: HEADER + length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_every_damage_is_caught() {
        let mut bytes = Vec::new();
        encode(7, 1234, b"hello", &mut bytes);
        assert_eq!(
            decode(&bytes),
            Decoded::Record {
                offset: 7,
                time: 1234,
                payload: b"hello",
                len: HEADER + 5
            }
        );
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Decoded::Incomplete, "cut at {cut}");
        }
        for at in 4..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(
                matches!(decode(&damaged), Decoded::Corrupt(_)),
                "flip at {at}"
            );
        }
    }
}
