//! The framed, checksummed encoding of every checkpoint data file.
//!
//! A frame is a fixed header — magic `SLCK`, a format version, the payload's length and its
//! CRC32 — followed by the payload: the state encoded with serde. The header is checked before
//! anything is decoded, so a truncated or corrupt file is reported (with its path and what is
//! wrong) and never handed to the decoder. Files are written atomically: to a temporary name,
//! synced, then renamed over the final name, so a crash leaves either the old file or the new
//! one, never half of one.
//!
//! **State outlives its type's version.** Format 2 encodes with MessagePack, structs as maps
//! of their field names (format 1, bincode, is still read), so a program may change the type
//! of its state as Flink's schema evolution allows: a field added with `#[serde(default)]`
//! restores as its default, a removed field is skipped. A state whose bytes are intact but do
//! not fit the program's type is refused as [`Incompatible`](CheckpointError::Incompatible),
//! naming the file — and so the operator — and the path of the field that does not fit.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sluice_engine::checkpoint::frame;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("counts-w0.state");
//!
//! #[derive(Serialize)]
//! struct Before { total: u64 }
//! frame::write(&path, &vec![("a".to_string(), Before { total: 2 })]).unwrap();
//!
//! #[derive(Deserialize, Debug, PartialEq)]
//! struct After { total: u64, #[serde(default)] seen_last: Option<u64> }
//! let back: Vec<(String, After)> = frame::read(&path).unwrap();
//! assert_eq!(back, vec![("a".to_string(), After { total: 2, seen_last: None })]);
//!
//! #[derive(Deserialize, Debug)]
//! struct Changed { total: String }
//! let refused = frame::read::<Vec<(String, Changed)>>(&path).unwrap_err().to_string();
//! assert!(refused.contains("[0][1].total"), "{refused}");
//! ```

use std::fs;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::CheckpointError;
use crate::durable::{self, DurableError};

/// The first bytes of every frame.
pub const MAGIC: [u8; 4] = *b"SLCK";
/// The format version this build writes: MessagePack with named fields.
pub const VERSION: u16 = 2;
/// The first format, bincode, still read.
const BINCODE: u16 = 1;
/// Magic, version, two reserved bytes, payload length (u64) and CRC32 (u32), little-endian.
pub const HEADER_LEN: usize = 4 + 2 + 2 + 8 + 4;

/// Encodes `value` as one frame.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CheckpointError> {
    let payload =
        rmp_serde::to_vec_named(value).map_err(|e| CheckpointError::Encode(e.to_string()))?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&VERSION.to_le_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Checks `bytes` (read from `path`) as one frame and returns its payload.
pub fn payload<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8], CheckpointError> {
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if bytes[..4] != MAGIC {
        return Err(corrupt("not a Sluice checkpoint file (bad magic)".into()));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION && version != BINCODE {
        return Err(corrupt(format!(
            "format version {version}, this build reads {BINCODE} and {VERSION}"
        )));
    }
    let length = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != length {
        return Err(corrupt(format!(
            "truncated: the header announces {length} bytes of state, the file holds {}",
            payload.len()
        )));
    }
    if crc32fast::hash(payload) != crc {
        return Err(corrupt("checksum mismatch".into()));
    }
    Ok(payload)
}

/// The CRC32 a frame's header records for its payload (`None` if shorter than a header).
pub fn checksum(bytes: &[u8]) -> Option<u32> {
    let crc = bytes.get(16..HEADER_LEN)?;
    Some(u32::from_le_bytes(crc.try_into().expect("4 bytes")))
}

/// Decodes one frame read from `path`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T, CheckpointError> {
    let payload = payload(bytes, path)?;
    let incompatible = |reason: String| CheckpointError::Incompatible {
        path: path.to_path_buf(),
        reason,
    };
    if u16::from_le_bytes([bytes[4], bytes[5]]) == BINCODE {
        return bincode::deserialize(payload).map_err(|e| incompatible(e.to_string()));
    }
    let mut decoder = rmp_serde::Deserializer::new(payload);
    serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
        let at = e.path().to_string();
        incompatible(format!("at {at}: {}", e.into_inner()))
    })
}

/// Writes `value` to `path` as one frame, atomically (temporary file, sync, rename).
pub fn write<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<u64, CheckpointError> {
    let frame = encode(value)?;
    write_atomically(path, &frame)?;
    Ok(frame.len() as u64)
}

/// Reads and decodes the frame at `path`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, CheckpointError> {
    let bytes = fs::read(path).map_err(|e| CheckpointError::io(path, e))?;
    decode(&bytes, path)
}

/// Writes `bytes` to `path` atomically and durably ([`durable::write_atomically`]), reporting a
/// failure as a checkpoint file error naming the path it happened on.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    durable::write_atomically(path, bytes).map_err(CheckpointError::from)
}

/// Syncs a directory, making renames and creations in it durable ([`durable::sync_dir`]).
pub fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    durable::sync_dir(dir).map_err(CheckpointError::from)
}

impl From<DurableError> for CheckpointError {
    fn from(error: DurableError) -> Self {
        CheckpointError::Io {
            path: error.path,
            source: error.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_damage_is_reported_with_the_path_and_never_decoded() {
        let value = vec![("key".to_string(), 7u64, vec![1u32, 2, 3])];
        let frame = encode(&value).unwrap();
        let path = Path::new("/checkpoints/epoch-100/op.state");
        let decoded: Vec<(String, u64, Vec<u32>)> = decode(&frame, path).unwrap();
        assert_eq!(decoded, value);
        let reason = |bytes: &[u8]| {
            decode::<Vec<(String, u64, Vec<u32>)>>(bytes, path)
                .unwrap_err()
                .to_string()
        };
        assert!(reason(&frame[..frame.len() - 1]).contains("truncated"));
        assert!(reason(&frame[..10]).contains("truncated"));
        let mut flipped = frame.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(reason(&flipped).contains("checksum"));
        let mut magic = frame.clone();
        magic[0] = b'X';
        assert!(reason(&magic).contains("magic"));
        let mut version = frame.clone();
        version[4] = 9;
        assert!(reason(&version).contains("version 9"));
        assert!(reason(&flipped).contains("/checkpoints/epoch-100/op.state"));
    }
}
