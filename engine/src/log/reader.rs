//! Reading the log from any offset or time, also while it is being appended to.

use std::path::{Path, PathBuf};

use std::ops::Range;

use super::record::{self, Decoded, LogRecord};
use super::repair;
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
    skip_damage: bool,
    skipped: Skipped,
    /// The offsets `sluice log repair` recorded as lost, read when a gap is met.
    lost: Vec<Range<u64>>,
}

/// What a reader that [skips damage](LogReader::skip_damage) has passed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Offsets passed over (as far as the offsets of the records around the damage tell).
    pub records: u64,
    /// Damaged bytes passed over.
    pub bytes: u64,
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
            skip_damage: false,
            skipped: Skipped::default(),
            lost: Vec::new(),
        })
    }

    /// Reads past damage instead of stopping at it: on to the next intact record (found by
    /// its header and checksum), counting what was passed over in [`skipped`](Self::skipped).
    /// For salvaging what a damaged log still holds without changing it; `sluice log repair`
    /// is the lasting fix.
    pub fn skip_damage(mut self) -> Self {
        self.skip_damage = true;
        self
    }

    /// What this reader has skipped so far (always nothing unless it skips damage).
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }

    /// The offset of the next record [`read`](Self::read) returns.
    pub fn offset(&self) -> u64 {
        self.next_offset
    }

    /// The segment being read (its base offset) and the byte position in it.
    pub fn position(&self) -> Option<(u64, u64)> {
        self.at
            .as_ref()
            .map(|(base, cursor)| (*base, cursor.position()))
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves to `offset`: the next record read is the one with that offset (or, at the end of
    /// the log, the next appended; or, if a repair gave it up, the first after it). An offset that retention has removed, or that is past the
    /// end, is an error.
    pub fn seek(&mut self, offset: u64) -> Result<(), Error> {
        // An offset a repair gave up: the next record is the first after the gap.
        self.lost = repair::lost_offsets(&self.dir)?;
        let offset = self
            .lost
            .iter()
            .find(|lost| lost.contains(&offset))
            .map_or(offset, |lost| lost.end);
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
        let mut cursor = Cursor::open(&path, start.position)?;
        // The index is a cache that may itself be damaged: trust an entry only if the record
        // it points at is the one it names.
        let (cursor, first) = match cursor.peek()? {
            Decoded::Record { offset, .. } if offset == start.offset => (cursor, start.offset),
            _ => (Cursor::open(&path, 0)?, base),
        };
        self.at = Some((base, cursor));
        self.next_offset = first;
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
    ///
    /// Damage is an error naming the segment, offset and byte, unless the reader
    /// [skips damage](Self::skip_damage). A torn tail of the newest segment (a crash cut a
    /// write short; the writer cuts it off when it reopens) is the end for now; offsets that
    /// `sluice log repair` recorded as lost are passed over.
    pub fn read_with<R>(
        &mut self,
        f: impl FnOnce(u64, Time, &[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        let mut f = Some(f);
        loop {
            let Some((base, cursor)) = self.at.as_mut() else {
                return Ok(None);
            };
            let base = *base;
            let position = cursor.position();
            let expected = self.next_offset;
            let path = cursor.path().to_path_buf();
            if let Decoded::Record {
                offset,
                time,
                payload,
                len,
            } = cursor.peek()?
            {
                if offset == expected {
                    let out = (f.take().expect("called once"))(offset, time, payload);
                    cursor.consume(len);
                    self.next_offset += 1;
                    return Ok(Some(out));
                }
            }
            // Not the next record (yet): judge by everything the file holds now, listing the
            // segments first, so that what a writer finished before rolling is read whole.
            let next = segment::list(&self.dir)?.into_iter().find(|&b| b > base);
            let rest = cursor.rest()?;
            let reason = match record::decode(rest) {
                Decoded::Record { offset, .. } if offset == expected => continue,
                Decoded::Record { offset, .. } => Some(format!("holds offset {offset}")),
                Decoded::Corrupt(reason) => Some(reason),
                Decoded::Incomplete => None,
            };
            if rest.is_empty() {
                // The end of this segment: the end for now, or on to the next segment.
                let Some(next) = next else {
                    return Ok(None);
                };
                if next != expected && !self.lost_covers(expected..next) {
                    return Err(Error::Log {
                        path: self.dir.clone(),
                        reason: format!(
                            "records {expected} to {} are missing (segment {next} follows {base})",
                            next - 1
                        ),
                    });
                }
                self.open_segment(next)?;
                continue;
            }
            let judged = match next {
                // The writer has moved on: nothing of this segment is still being written.
                Some(_) => Err(segment::corrupt(
                    &path,
                    expected,
                    position,
                    reason
                        .as_deref()
                        .unwrap_or("a sealed segment ends within a record"),
                )),
                None => segment::judge_damage(&path, expected, position, rest, reason.as_deref()),
            };
            match judged {
                // Being written, or torn by a crash (the writer cuts it off when it reopens).
                Ok(()) if reason.is_none() || !self.skip_damage => return Ok(None),
                Err(error) if !self.skip_damage => return Err(error),
                _ => {}
            }
            // Skipping damage: on to the next intact record of this segment, or the next one.
            match segment::resync(rest, expected) {
                Some((at, offset)) => {
                    self.skipped.records += offset - expected;
                    self.skipped.bytes += at as u64;
                    cursor.consume(at);
                    self.next_offset = offset;
                }
                None => {
                    let len = rest.len();
                    self.skipped.bytes += len as u64;
                    cursor.consume(len);
                    let Some(next) = next else {
                        return Ok(None);
                    };
                    self.skipped.records += next.saturating_sub(expected);
                    self.open_segment(next)?;
                }
            }
        }
    }

    /// Reads on from the start of the segment `base`, whose first offset is `base`.
    fn open_segment(&mut self, base: u64) -> Result<(), Error> {
        let cursor = Cursor::open(&segment::segment_path(&self.dir, base), 0)?;
        self.at = Some((base, cursor));
        self.next_offset = base;
        Ok(())
    }

    /// Whether `sluice log repair` recorded every offset of `range` as lost.
    fn lost_covers(&mut self, range: Range<u64>) -> bool {
        if let Ok(lost) = repair::lost_offsets(&self.dir) {
            self.lost = lost;
        }
        let mut at = range.start;
        for lost in &self.lost {
            if lost.start <= at && at < lost.end {
                at = lost.end;
            }
        }
        at >= range.end
    }
}
