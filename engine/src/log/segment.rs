//! Segment files, their sparse indexes, and reading records from them.
//!
//! A log is a directory of segments named by the offset of their first record
//! (`00000000000000000000.log`, then e.g. `00000000000000052113.log`): only the newest is
//! appended to; the others are sealed. Beside each segment, `<base>.index` holds an entry every
//! few KiB — `(offset, byte position, max time so far in the segment)` — so a reader can start
//! near any offset or time without reading the segment from its start. An index is a cache: a
//! missing or damaged one is rebuilt from its segment.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::record::{self, Decoded, HEADER, MAX_PAYLOAD};
use crate::error::Error;
use crate::time::Time;

/// Bytes read from a segment at a time.
const CHUNK: usize = 1 << 18;

/// Bytes of one index entry on disk.
const ENTRY: usize = 24;

/// One sparse index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// A record's offset.
    pub offset: u64,
    /// Where it starts in its segment.
    pub position: u64,
    /// The largest time of the segment's records up to and including it.
    pub max_time: Time,
}

/// The segment file whose first record has offset `base`.
pub fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

/// The index file of the segment `base`.
pub fn index_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.index"))
}

/// The bases of the segments in `dir`, in order.
pub fn list(dir: &Path) -> Result<Vec<u64>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut bases: Vec<u64> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

/// The error for damage at `position` of the segment at `path`, saying how to recover.
pub fn corrupt(path: &Path, offset: u64, position: u64, reason: &str) -> Error {
    let dir = path.parent().unwrap_or(Path::new("."));
    Error::Log {
        path: path.to_path_buf(),
        reason: format!(
            "record at offset {offset} (byte {position}) is corrupt: {reason} \
             (`sluice log repair {}` keeps every intact record and moves the damaged bytes to a quarantine file)",
            dir.display()
        ),
    }
}

/// Where intact records start again in `bytes` after damage at `bytes[0]`: the first position
/// after it holding a whole record whose checksum holds and whose offset could follow
/// `expected` (at least `expected`, and no further on than one record per header's worth of
/// bytes). Returns that position and the record's offset.
///
/// A checksum over the offset, time and payload makes a false match at a random position
/// vanishingly unlikely; the offset window rules out records copied from elsewhere.
pub fn resync(bytes: &[u8], expected: u64) -> Option<(usize, u64)> {
    let highest = expected + (bytes.len() / HEADER) as u64;
    (1..bytes.len().saturating_sub(HEADER - 1)).find_map(|at| {
        let header = &bytes[at..at + HEADER];
        let offset = u64::from_le_bytes(header[8..16].try_into().unwrap());
        if !(expected..=highest).contains(&offset) {
            return None;
        }
        match record::decode(&bytes[at..]) {
            Decoded::Record { offset, .. } => Some((at, offset)),
            _ => None,
        }
    })
}

/// Judges damage found at byte `position` of the segment at `path`, where the record with
/// offset `expected` should start: `rest` holds the bytes from there to the end of the file,
/// and `reason` says why they are not a record (`None`: it runs past the end of the file).
///
/// Only a *torn tail* is `Ok`: nothing intact follows, and the bytes are what a write cut
/// short by a crash leaves — a record that runs past the end of the file, or a tail the file
/// system extended and never filled (ending in zeros). Anything else is corruption, an error
/// naming the segment, offset and byte, where intact records resume, and how to repair.
pub fn judge_damage(
    path: &Path,
    expected: u64,
    position: u64,
    rest: &[u8],
    reason: Option<&str>,
) -> Result<(), Error> {
    let declared = rest
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
    let past_end = rest.len() < HEADER || HEADER + declared.min(MAX_PAYLOAD + 1) > rest.len();
    let reason = reason.map_or_else(
        || format!("its length ({declared} bytes) runs past the end of the segment"),
        str::to_string,
    );
    match resync(rest, expected) {
        Some((at, offset)) => Err(corrupt(
            path,
            expected,
            position,
            &format!(
                "{reason}; intact records resume at byte {} (offset {offset})",
                position + at as u64,
            ),
        )),
        None if past_end || rest.last() == Some(&0) => Ok(()),
        None => Err(corrupt(
            path,
            expected,
            position,
            &format!("{reason} (the segment's last record)"),
        )),
    }
}

/// Reads records one after another from a segment, also while it grows.
pub struct Cursor {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    /// The file position of `buf[0]`.
    start: u64,
    /// The next record's index in `buf`.
    at: usize,
}

impl Cursor {
    /// A cursor at byte `position` of the segment at `path`.
    pub fn open(path: &Path, position: u64) -> Result<Cursor, Error> {
        let read_error = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(read_error)?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(position)).map_err(read_error)?;
        Ok(Cursor {
            file,
            path: path.to_path_buf(),
            buf: Vec::new(),
            start: position,
            at: 0,
        })
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte position of the next record.
    pub fn position(&self) -> u64 {
        self.start + self.at as u64
    }

    /// The record at the cursor, reading more of the file if it is not all in memory yet.
    /// [`Decoded::Incomplete`] means the file ends within it (for now).
    pub fn peek(&mut self) -> Result<Decoded<'_>, Error> {
        loop {
            let rest = &self.buf[self.at..];
            let wanted = if rest.len() < HEADER {
                HEADER
            } else {
                let length = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
                HEADER + length.min(MAX_PAYLOAD + 1)
            };
            if rest.len() >= wanted || self.fill(wanted - rest.len())? == 0 {
                break;
            }
        }
        Ok(record::decode(&self.buf[self.at..]))
    }

    /// The payload length the record at the cursor claims (after a [`peek`](Self::peek)).
    pub fn declared_length(&self) -> u64 {
        let rest = &self.buf[self.at..];
        rest.get(..4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()) as u64)
    }

    /// Moves past the record of `len` bytes just peeked.
    pub fn consume(&mut self, len: usize) {
        self.at += len;
    }

    /// Reads at least `more` bytes if the file has them; returns how many were read.
    fn fill(&mut self, more: usize) -> Result<usize, Error> {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.start += self.at as u64;
            self.at = 0;
        }
        let have = self.buf.len();
        self.buf.resize(have + more.max(CHUNK), 0);
        let mut read = 0;
        while read < more {
            match self.file.read(&mut self.buf[have + read..]) {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    self.buf.truncate(have + read);
                    return Err(Error::Read {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        self.buf.truncate(have + read);
        Ok(read)
    }

    /// Every byte from the cursor to the end of the file, read into memory.
    pub fn rest(&mut self) -> Result<&[u8], Error> {
        while self.fill(CHUNK)? > 0 {}
        Ok(&self.buf[self.at..])
    }
}

/// A segment read from end to end.
#[derive(Debug)]
pub struct Scan {
    /// The bytes holding whole, intact records.
    pub end: u64,
    /// The offset after its last record.
    pub next_offset: u64,
    /// The largest time in it.
    pub max_time: Option<Time>,
    /// Its sparse index.
    pub index: Vec<IndexEntry>,
    /// Whether it ends in a torn tail (see [`judge_damage`]) after `end`.
    pub torn: bool,
}

/// Reads the segment `base` at `path` whole, indexing a record every `interval` bytes. A torn
/// tail is reported in [`Scan::torn`]; any other damage is an error naming the offset (see
/// [`judge_damage`]).
pub fn scan(path: &Path, base: u64, interval: u64) -> Result<Scan, Error> {
    let mut cursor = Cursor::open(path, 0)?;
    let mut scan = Scan {
        end: 0,
        next_offset: base,
        max_time: None,
        index: Vec::new(),
        torn: false,
    };
    let mut indexed_at: Option<u64> = None;
    loop {
        let position = cursor.position();
        let expected = scan.next_offset;
        let len = match cursor.peek()? {
            Decoded::Record {
                offset, time, len, ..
            } => {
                if offset != expected {
                    let reason = format!("holds offset {offset}");
                    return Err(corrupt(path, expected, position, &reason));
                }
                let max_time = scan.max_time.map_or(time, |m| m.max(time));
                scan.max_time = Some(max_time);
                if indexed_at.is_none_or(|at| position - at >= interval) {
                    scan.index.push(IndexEntry {
                        offset,
                        position,
                        max_time,
                    });
                    indexed_at = Some(position);
                }
                Ok(len)
            }
            Decoded::Incomplete => Err(None),
            Decoded::Corrupt(reason) => Err(Some(reason)),
        };
        let len = match len {
            Ok(len) => len,
            Err(reason) => {
                let rest = cursor.rest()?;
                if !rest.is_empty() {
                    judge_damage(path, expected, position, rest, reason.as_deref())?;
                    scan.torn = true;
                }
                break;
            }
        };
        cursor.consume(len);
        scan.end = cursor.position();
        scan.next_offset += 1;
    }
    Ok(scan)
}

/// The index of a segment `len` bytes long, if its file is there and fits the segment. A sealed
/// segment's index ends with its *seal*: an entry at position `len` with the offset after the
/// segment and the segment's largest time.
pub fn read_index(path: &Path, len: u64) -> Option<Vec<IndexEntry>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() % ENTRY != 0 {
        return None;
    }
    let long = |chunk: &[u8], at: usize| u64::from_le_bytes(chunk[at..at + 8].try_into().unwrap());
    let entries: Vec<IndexEntry> = bytes
        .chunks_exact(ENTRY)
        .map(|chunk| IndexEntry {
            offset: long(chunk, 0),
            position: long(chunk, 8),
            max_time: long(chunk, 16),
        })
        .take_while(|entry| entry.position <= len)
        .collect();
    let ordered = entries
        .windows(2)
        .all(|w| w[0].offset < w[1].offset && w[0].position < w[1].position);
    (ordered && entries.first().is_none_or(|e| e.position == 0)).then_some(entries)
}

/// Appends `entries` to the index file at `path` (creating it).
pub fn append_index(path: &Path, entries: &[IndexEntry]) -> Result<(), Error> {
    let mut bytes = Vec::with_capacity(entries.len() * ENTRY);
    for entry in entries {
        bytes.extend_from_slice(&entry.offset.to_le_bytes());
        bytes.extend_from_slice(&entry.position.to_le_bytes());
        bytes.extend_from_slice(&entry.max_time.to_le_bytes());
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(&bytes))
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Replaces the index file at `path` with `entries`.
pub fn write_index(path: &Path, entries: &[IndexEntry]) -> Result<(), Error> {
    let _ = std::fs::remove_file(path);
    append_index(path, entries)
}
