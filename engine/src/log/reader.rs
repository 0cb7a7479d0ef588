//! Reading the log from any offset or time, also while it is being appended to.

use std::path::{Path, PathBuf};

use super::record::{Decoded, LogRecord, HEADER, MAX_PAYLOAD};
use super::segment::{self, Cursor, IndexEntry};
use crate::error::Error;
use crate::time::Time;

/// A reader of an event log: records in offset order from a chosen start. At the current end,
/// [`read`](Self::read) returns `None`; called again later it returns what has been appended
/// since (tail-follow), moving on to new segments as the writer rolls them.
pub struct LogReader {
    dir: PathBuf,
    /// The segment being read and the cursor in it.
    at: Option<(u64, Cursor)>,
    next_offset: u64,
}

impl LogReader {
    /// A reader at the oldest record of the log in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<LogReader, Error> {
        let dir = dir.as_ref().to_path_buf();
        let bases = segment::list(&dir)?;
        let Some(&first) = bases.first() else {
            return Err(Error::Log {
                path: dir,
                reason: "not an event log (no segment files; `sluice log append` creates one)"
                    .into(),
            });
        };
        let cursor = Cursor::open(&segment::segment_path(&dir, first), 0)?;
        Ok(LogReader {
            dir,
            at: Some((first, cursor)),
            next_offset: first,
        })
    }

    /// The offset of the next record [`read`](Self::read) returns.
    pub fn offset(&self) -> u64 {
        self.next_offset
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves to `offset`: the next record read is the one with that offset (or, at the end of
    /// the log, the next appended). An offset that retention has removed, or that is past the
    /// end, is an error.
    pub fn seek(&mut self, offset: u64) -> Result<(), Error> {
        let bases = segment::list(&self.dir)?;
        let Some(base) = bases.iter().rev().copied().find(|&b| b <= offset) else {
            return Err(Error::Log {
                path: self.dir.clone(),
                reason: format!(
                    "offset {offset} is before the oldest record kept ({}; older segments were removed by retention)",
                    bases.first().copied().unwrap_or(0)
                ),
            });
        };
        let path = segment::segment_path(&self.dir, base);
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        let start = segment::read_index(&segment::index_path(&self.dir, base), len)
            .unwrap_or_default()
            .into_iter()
            .rfind(|e| e.offset <= offset && e.position < len)
            .unwrap_or(IndexEntry {
                offset: base,
                position: 0,
                max_time: 0,
            });
        self.at = Some((base, Cursor::open(&path, start.position)?));
        self.next_offset = start.offset;
        while self.next_offset < offset {
            if self.read_with(|_, _, _| ())?.is_none() {
                return Err(Error::Log {
                    path: self.dir.clone(),
                    reason: format!(
                        "offset {offset} is past the end of the log (next offset {})",
                        self.next_offset
                    ),
                });
            }
        }
        Ok(())
    }

    /// Moves to the first record whose time is at least `time` (or to the end of the log).
    pub fn seek_time(&mut self, time: Time) -> Result<(), Error> {
        // Skip whole sealed segments whose largest time (their seal) is before `time`; in the
        // first other one, start at the last index entry before `time` and read on.
        let mut start = None;
        for base in segment::list(&self.dir)? {
            let path = segment::segment_path(&self.dir, base);
            let len = std::fs::metadata(&path).map_or(0, |m| m.len());
            let index =
                segment::read_index(&segment::index_path(&self.dir, base), len).unwrap_or_default();
            let seal = index.last().filter(|e| e.position == len && len > 0);
            if seal.is_some_and(|seal| seal.max_time < time) {
                continue;
            }
            let entry = index
                .iter()
                .take_while(|e| e.max_time < time && e.position < len)
                .last()
                .map_or(base, |e| e.offset);
            start = Some(entry);
            break;
        }
        let Some(start) = start else {
            return self.seek_end(); // every record is earlier
        };
        self.seek(start)?;
        let mut found = None;
        while let Some((offset, t)) = self.read_with(|offset, t, _| (offset, t))? {
            if t >= time {
                found = Some(offset);
                break;
            }
        }
        if let Some(offset) = found {
            self.seek(offset)?;
        }
        Ok(())
    }

    /// Moves past the last record now in the log.
    pub fn seek_end(&mut self) -> Result<(), Error> {
        self.seek(segment::list(&self.dir)?.last().copied().unwrap_or(0))?;
        while self.read_with(|_, _, _| ())?.is_some() {}
        Ok(())
    }

    /// The next record, or `None` at the current end of the log.
    pub fn read(&mut self) -> Result<Option<LogRecord>, Error> {
        self.read_with(|offset, time, payload| LogRecord {
            offset,
            time,
            payload: payload.to_vec(),
        })
    }

    /// The next record, handed to `f` as `(offset, time, payload)` without a copy; `None` at
    /// the current end of the log.
    pub fn read_with<R>(
        &mut self,
        f: impl FnOnce(u64, Time, &[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        let mut f = Some(f);
        loop {
            let Some((base, cursor)) = self.at.as_mut() else {
                return Ok(None);
            };
            let position = cursor.position();
            let expected = self.next_offset;
            let path = cursor.path().to_path_buf();
            match cursor.peek()? {
                Decoded::Record {
                    offset,
                    time,
                    payload,
                    len,
                } => {
                    if offset != expected {
                        let reason = format!("holds offset {offset}");
                        return Err(segment::corrupt(&path, expected, position, &reason));
                    }
                    let out = (f.take().expect("called once"))(offset, time, payload);
                    cursor.consume(len);
                    self.next_offset += 1;
                    return Ok(Some(out));
                }
                Decoded::Incomplete => {
                    // The end for now, unless the writer has sealed this segment and moved on.
                    let base = *base;
                    let Some(next) = segment::list(&self.dir)?.into_iter().find(|&b| b > base)
                    else {
                        return Ok(None);
                    };
                    // The writer finished this segment before creating the next: read its rest.
                    let complete = match cursor.peek()? {
                        Decoded::Record { .. } => continue,
                        Decoded::Incomplete => true,
                        Decoded::Corrupt(_) => false,
                    };
                    if !complete || !cursor_at_end(cursor) {
                        let reason = "a sealed segment ends within a record";
                        return Err(segment::corrupt(&path, expected, position, reason));
                    }
                    if next != expected {
                        return Err(Error::Log {
                            path: self.dir.clone(),
                            reason: format!(
                                "records {expected} to {} are missing (segment {next} follows {base})",
                                next.saturating_sub(1)
                            ),
                        });
                    }
                    let cursor = Cursor::open(&segment::segment_path(&self.dir, next), 0)?;
                    self.at = Some((next, cursor));
                }
                Decoded::Corrupt(reason) => {
                    // Damage reaching the end of the file may be a write in progress (or torn by
                    // a crash; the writer cuts it off when it reopens): the end for now.
                    let len = std::fs::metadata(&path).map_or(0, |m| m.len());
                    let declared = cursor.declared_length().min(MAX_PAYLOAD as u64);
                    if position + HEADER as u64 + declared >= len {
                        return Ok(None);
                    }
                    return Err(segment::corrupt(&path, expected, position, &reason));
                }
            }
        }
    }
}

/// Whether nothing follows the cursor in its file.
fn cursor_at_end(cursor: &Cursor) -> bool {
    let len = std::fs::metadata(cursor.path()).map_or(0, |m| m.len());
    cursor.position() >= len
}
