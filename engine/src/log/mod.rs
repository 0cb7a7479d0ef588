//! The durable event log: an append-only, segmented, checksummed sequence of records.
//!
//! It is a single-machine analogue of one Kafka topic partition, and it is what makes input
//! replayable: the replayable source of both modes, the write-ahead log of socket input, the
//! master dataset of the lambda architecture and the replay source of the kappa architecture.
//!
//! - Every record has an **offset** (0, 1, 2, … for as long as the log exists) and a **time**
//!   in ms (its event time if the appender knows it, else the append time), and is framed with
//!   its length and a CRC32 ([`record`]).
//! - Records go to **segments** of a configured size; only the newest is appended to. Each has
//!   a sparse **index** by offset and by time, so a reader can start at either without reading
//!   from the beginning ([`segment`]).
//! - One [`EventLog`] appends at a time (a lock file enforces it); any number of
//!   [`LogReader`]s, in any process, read — also while it grows (tail-follow), sleeping until
//!   the [`LogWatcher`] reports a change rather than polling ([`watch`]).
//! - **Durability** follows the [`Fsync`] policy: under [`Fsync::Always`] an append has reached
//!   the disk when it returns. A crash mid-append leaves a torn record at the end; opening the
//!   log cuts it off. Damage anywhere else is reported with the segment, offset and byte, and
//!   nothing is changed until an explicit [`repair`] salvages every intact record around it.
//! - **Retention** deletes whole old segments beyond a total size or an age.
//!
//! ```
//! use sluice_engine::log::{EventLog, Fsync, LogConfig, LogReader};
//! let dir = tempfile::tempdir().unwrap();
//! let config = LogConfig::default().fsync(Fsync::Never).segment_bytes(64);
//! let mut log = EventLog::open_with(dir.path(), config).unwrap();
//! for t in 0..10 {
//!     log.append(t * 100, format!("event {t}").as_bytes()).unwrap();
//! }
//! let mut reader = LogReader::open(dir.path()).unwrap();
//! reader.seek_time(450).unwrap(); // the first record at or after 450 ms
//! let record = reader.read().unwrap().unwrap();
//! assert_eq!((record.offset, record.text()), (5, Some("event 5")));
//! ```

pub mod info;
pub mod reader;
pub mod record;
pub mod repair;
pub mod segment;
pub mod watch;
pub mod writer;

pub use info::{info, LogInfo};
pub use reader::{LogReader, Skipped};
pub use record::LogRecord;
pub use watch::LogWatcher;
pub use writer::EventLog;

use std::path::Path;
use std::time::Duration;

use crate::checkpoint::Input;
use crate::error::Error;

/// The file holding a log's identity.
const IDENTITY: &str = "log-id";

/// The identity its first writer gave the log in `dir` (`None` for a log older than
/// identities): what tells two logs apart wherever they lie, e.g. to refuse a checkpoint taken
/// of another log.
pub fn identity(dir: &Path) -> Result<Option<String>, Error> {
    let path = dir.join(IDENTITY);
    match std::fs::read_to_string(&path) {
        Ok(id) => Ok(Some(id.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// The log as a checkpoint's input. Defined here rather than with the other inputs because only
/// the log knows its identity, and the checkpoint layer below the log does not read logs.
impl Input {
    /// The identity of the event log in `dir`.
    pub fn log(dir: impl AsRef<Path>) -> Result<Input, Error> {
        let dir = dir.as_ref();
        let path = dir.canonicalize().map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Input::Log {
            path,
            id: identity(dir)?,
        })
    }
}

/// Gives the log in `dir` an identity if it has none: the time, the process and the path, hashed.
fn ensure_identity(dir: &Path) -> Result<(), Error> {
    if identity(dir)?.is_some() {
        return Ok(());
    }
    let mut hasher = crc32fast::Hasher::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.update(&nanos.to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    hasher.update(dir.as_os_str().as_encoded_bytes());
    let id = format!("{:08x}-{:016x}", hasher.finalize(), nanos as u64);
    let path = dir.join(IDENTITY);
    crate::durable::write_atomically(&path, format!("{id}\n").as_bytes()).map_err(|e| Error::Log {
        path,
        reason: e.to_string(),
    })
}

/// When appended records are forced to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// After every append call: what an append acknowledges survives a crash of the machine.
    Always,
    /// At the first append after this long since the last sync: up to that much may be lost
    /// if the machine (not just the process) fails.
    Every(Duration),
    /// Never explicitly: the operating system writes back when it likes (Kafka's default).
    Never,
}

/// How a log is written: segment size, durability, index density and retention.
#[derive(Clone, Debug)]
pub struct LogConfig {
    segment_bytes: u64,
    fsync: Fsync,
    index_interval: u64,
    retention_bytes: Option<u64>,
    retention_age: Option<Duration>,
}

impl Default for LogConfig {
    /// 64 MiB segments, [`Fsync::Always`], an index entry every 4 KiB, no retention limit.
    fn default() -> Self {
        LogConfig {
            segment_bytes: 64 << 20,
            fsync: Fsync::Always,
            index_interval: 4096,
            retention_bytes: None,
            retention_age: None,
        }
    }
}

impl LogConfig {
    /// Starts a new segment once the current one holds this many bytes.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(1);
        self
    }

    /// When appends are forced to disk.
    pub fn fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Bytes between index entries (smaller: faster seeks, bigger indexes).
    pub fn index_interval(mut self, bytes: u64) -> Self {
        self.index_interval = bytes.max(1);
        self
    }

    /// Deletes the oldest segments while the log is larger than this (the newest is kept).
    pub fn retention_bytes(mut self, bytes: u64) -> Self {
        self.retention_bytes = Some(bytes);
        self
    }

    /// Deletes segments last written longer ago than this (the newest is kept).
    pub fn retention_age(mut self, age: Duration) -> Self {
        self.retention_age = Some(age);
        self
    }
}
