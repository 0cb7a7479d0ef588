//! Appending to the log: one writer at a time, torn tails repaired on open.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::record;
use super::segment::{self, IndexEntry};
use super::{Fsync, LogConfig};
use crate::error::Error;
use crate::time::Time;

/// Bytes buffered before they are written to the segment.
const WRITE_BUFFER: usize = 1 << 20;

/// The appending end of an event log; see the [module docs](super).
///
/// ```
/// use sluice_engine::log::{EventLog, LogReader};
/// let dir = tempfile::tempdir().unwrap();
/// let mut log = EventLog::open(dir.path()).unwrap();
/// assert_eq!(log.append(1_000, b"first").unwrap(), 0);
/// assert_eq!(log.append_all([(1_005, "second"), (1_010, "third")]).unwrap(), 1..3);
/// let mut reader = LogReader::open(dir.path()).unwrap();
/// reader.seek(1).unwrap();
/// assert_eq!(reader.read().unwrap().unwrap().payload, b"second");
/// ```
pub struct EventLog {
    dir: PathBuf,
    config: LogConfig,
    /// The sealed segments' bases, oldest first.
    sealed: Vec<u64>,
    active: Active,
    buf: Vec<u8>,
    last_sync: Instant,
    repaired: Option<String>,
    /// Held for the writer's lifetime: one writer per log.
    _lock: File,
}

/// The segment being appended to.
struct Active {
    base: u64,
    path: PathBuf,
    file: File,
    /// Bytes written to the file, plus those buffered.
    len: u64,
    next_offset: u64,
    max_time: Option<Time>,
    indexed_at: Option<u64>,
    index: Vec<IndexEntry>,
}

impl EventLog {
    /// Opens (or creates) the log in `dir` with the default [`LogConfig`].
    pub fn open(dir: impl AsRef<Path>) -> Result<EventLog, Error> {
        Self::open_with(dir, LogConfig::default())
    }

    /// Opens (or creates) the log in `dir`. A record torn by a crash at the end of the newest
    /// segment is cut off (see [`repaired`](Self::repaired)); any other damage is an error
    /// naming the segment, offset and byte, and nothing is changed (see [`super::repair`]).
    pub fn open_with(dir: impl AsRef<Path>, config: LogConfig) -> Result<EventLog, Error> {
        let dir = dir.as_ref().to_path_buf();
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Write { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(write_error(&dir))?;
        let lock = lock(&dir)?;
        super::ensure_identity(&dir)?;
        let mut bases = segment::list(&dir)?;
        let base = bases.pop().unwrap_or(0);
        for &sealed in &bases {
            check_sealed(&dir, sealed, config.index_interval)?;
        }
        let path = segment::segment_path(&dir, base);
        let scan = if path.exists() {
            segment::scan(&path, base, config.index_interval)?
        } else {
            segment::Scan {
                end: 0,
                next_offset: base,
                max_time: None,
                index: Vec::new(),
                torn: false,
            }
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(write_error(&path))?;
        let mut repaired = None;
        if scan.torn {
            let size = file.metadata().map_err(write_error(&path))?.len();
            file.set_len(scan.end).map_err(write_error(&path))?;
            file.sync_all().map_err(write_error(&path))?;
            repaired = Some(format!(
                "{}: cut off a torn record at byte {} ({} bytes; offset {} is the next to append)",
                path.display(),
                scan.end,
                size - scan.end,
                scan.next_offset
            ));
        }
        segment::write_index(&segment::index_path(&dir, base), &scan.index)?;
        let active = Active {
            base,
            path,
            file,
            len: scan.end,
            next_offset: scan.next_offset,
            max_time: scan.max_time,
            indexed_at: scan.index.last().map(|e| e.position),
            index: Vec::new(),
        };
        Ok(EventLog {
            dir,
            config,
            sealed: bases,
            active,
            buf: Vec::new(),
            last_sync: Instant::now(),
            repaired,
            _lock: lock,
        })
    }

    /// What opening repaired: the torn record cut off the end, if there was one.
    pub fn repaired(&self) -> Option<&str> {
        self.repaired.as_deref()
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The offset the next record will get.
    pub fn next_offset(&self) -> u64 {
        self.active.next_offset
    }

    /// The offset of the oldest record retention has kept.
    pub fn start_offset(&self) -> u64 {
        self.sealed.first().copied().unwrap_or(self.active.base)
    }

    /// Appends one record with its time (ms); returns its offset. Durable when this returns
    /// under [`Fsync::Always`].
    pub fn append(&mut self, time: Time, payload: &[u8]) -> Result<u64, Error> {
        self.append_all([(time, payload)]).map(|range| range.start)
    }

    /// Appends records with their times in one write (and one sync, under [`Fsync::Always`]);
    /// returns their offsets.
    pub fn append_all<P: AsRef<[u8]>>(
        &mut self,
        records: impl IntoIterator<Item = (Time, P)>,
    ) -> Result<Range<u64>, Error> {
        let first = self.active.next_offset;
        for (time, payload) in records {
            if self.active.len >= self.config.segment_bytes {
                self.roll()?;
            }
            let active = &mut self.active;
            let position = active.len;
            let max_time = active.max_time.map_or(time, |m| m.max(time));
            if active
                .indexed_at
                .is_none_or(|at| position - at >= self.config.index_interval)
            {
                active.index.push(IndexEntry {
                    offset: active.next_offset,
                    position,
                    max_time,
                });
                active.indexed_at = Some(position);
            }
            let before = self.buf.len();
            record::encode(active.next_offset, time, payload.as_ref(), &mut self.buf);
            active.len += (self.buf.len() - before) as u64;
            active.max_time = Some(max_time);
            active.next_offset += 1;
            if self.buf.len() >= WRITE_BUFFER {
                self.write_buffer()?;
            }
        }
        self.write_buffer()?;
        match self.config.fsync {
            Fsync::Always => self.sync()?,
            Fsync::Every(every) if self.last_sync.elapsed() >= every => self.sync()?,
            _ => {}
        }
        Ok(first..self.active.next_offset)
    }

    /// Forces everything appended so far to disk.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.write_buffer()?;
        self.active
            .file
            .sync_data()
            .map_err(|source| Error::Write {
                path: self.active.path.clone(),
                source,
            })?;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Writes the buffered records and their index entries.
    fn write_buffer(&mut self) -> Result<(), Error> {
        if !self.buf.is_empty() {
            let path = &self.active.path;
            self.active
                .file
                .write_all(&self.buf)
                .map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })?;
            self.buf.clear();
        }
        if !self.active.index.is_empty() {
            let index = segment::index_path(&self.dir, self.active.base);
            segment::append_index(&index, &self.active.index)?;
            self.active.index.clear();
        }
        Ok(())
    }

    /// Seals the active segment and starts the next; then applies retention.
    fn roll(&mut self) -> Result<(), Error> {
        if self.config.fsync != Fsync::Never {
            self.sync()?;
        }
        self.active.index.push(IndexEntry {
            offset: self.active.next_offset,
            position: self.active.len,
            max_time: self.active.max_time.unwrap_or(0),
        });
        self.write_buffer()?;
        let base = self.active.next_offset;
        let path = segment::segment_path(&self.dir, base);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        if self.config.fsync != Fsync::Never {
            // The new segment's name must be durable before records in it are acknowledged.
            File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|source| Error::Write {
                    path: self.dir.clone(),
                    source,
                })?;
        }
        self.sealed.push(self.active.base);
        self.active = Active {
            base,
            path,
            file,
            len: 0,
            next_offset: base,
            max_time: None,
            indexed_at: None,
            index: Vec::new(),
        };
        self.apply_retention()
    }

    /// Deletes the oldest sealed segments beyond the retention size or age.
    fn apply_retention(&mut self) -> Result<(), Error> {
        let size = |base: u64| {
            std::fs::metadata(segment::segment_path(&self.dir, base)).map_or(0, |m| m.len())
        };
        let mut total: u64 = self.sealed.iter().map(|&b| size(b)).sum::<u64>() + self.active.len;
        while let Some(&oldest) = self.sealed.first() {
            let too_big = self.config.retention_bytes.is_some_and(|max| total > max);
            let too_old = self.config.retention_age.is_some_and(|age| {
                std::fs::metadata(segment::segment_path(&self.dir, oldest))
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| {
                        SystemTime::now()
                            .duration_since(modified)
                            .is_ok_and(|elapsed| elapsed > age)
                    })
            });
            if !too_big && !too_old {
                break;
            }
            total -= size(oldest);
            let path = segment::segment_path(&self.dir, oldest);
            std::fs::remove_file(&path).map_err(|source| Error::Write { path, source })?;
            let _ = std::fs::remove_file(segment::index_path(&self.dir, oldest));
            self.sealed.remove(0);
        }
        Ok(())
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.write_buffer();
        if self.config.fsync != Fsync::Never {
            let _ = self.active.file.sync_data();
        }
    }
}

/// Takes the log's writer lock (held while the file lives): one writer, or one repair, at a time.
pub(super) fn lock(dir: &Path) -> Result<File, Error> {
    let path = dir.join(".lock");
    let lock = File::create(&path).map_err(|source| Error::Write { path, source })?;
    if lock.try_lock().is_err() {
        return Err(Error::Log {
            path: dir.to_path_buf(),
            reason: "another process is appending to it (one writer at a time)".into(),
        });
    }
    Ok(lock)
}

/// Makes sure a sealed segment has a whole index (rebuilding it by a scan if not).
fn check_sealed(dir: &Path, base: u64, interval: u64) -> Result<(), Error> {
    let path = segment::segment_path(dir, base);
    let len = std::fs::metadata(&path)
        .map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?
        .len();
    let index = segment::index_path(dir, base);
    if segment::read_index(&index, len)
        .is_some_and(|entries| entries.last().is_some_and(|e| e.position == len))
    {
        return Ok(());
    }
    let scan = segment::scan(&path, base, interval)?;
    if scan.torn {
        return Err(segment::corrupt(
            &path,
            scan.next_offset,
            scan.end,
            "a sealed segment ends within a record",
        ));
    }
    let mut entries = scan.index;
    entries.push(IndexEntry {
        offset: scan.next_offset,
        position: len,
        max_time: scan.max_time.unwrap_or(0),
    });
    segment::write_index(&index, &entries)
}
