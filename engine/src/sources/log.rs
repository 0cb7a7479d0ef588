//! The event log as a source: replayable, so its offsets are its checkpoint state.
//!
//! Every worker reads the log and keeps the records whose offset is its own (`offset mod
//! workers`), so each record is emitted once and the split does not depend on timing. Records
//! are stamped either with their **log time** (the time stored with each record — its event
//! time, or when it was appended: a replay then sees the same times as the first run) or with
//! their **arrival** time (when this job read them, as Spark's Kafka stream makes batches of
//! what arrived in each interval). Reading ends at the end of the log, at an `until` offset, or,
//! when following, only when the job stops. A follower at the end of the log sleeps until the
//! log's directory reports a change ([`crate::log::watch`]), so an idle log costs nothing.
//!
//! ```
//! use sluice_engine::log::EventLog;
//! use sluice_engine::prelude::*;
//! use sluice_engine::sources::LogSource;
//! let dir = tempfile::tempdir().unwrap();
//! let mut log = EventLog::open(dir.path()).unwrap();
//! log.append_all([(10, "a b"), (20, "b"), (30, "c")]).unwrap();
//! let source = LogSource::open(dir.path()).unwrap().until(2);
//! let out = Collector::new();
//! let sink = out.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     worker.dataflow(|scope| {
//!         scope.event_log(&source).collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let mut lines = out.take();
//! lines.sort();
//! assert_eq!(lines, vec!["a b", "b"]);
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use timely::scheduling::SyncActivator;

use super::driver::{drive, Poll, Read};
use super::source::{Source, Spread};
use super::timed::{drive_timed, Next, TimedRead};
use crate::checkpoint::rescale::{same_position, Share};
use crate::error::{Error, Result};
use crate::job::JobContext;
use crate::log::watch::{wake_on_append, WakeOnAppend, FALLBACK_POLL};
use crate::log::LogReader;
use crate::stream::{Scope, Stream};
use crate::time::Time;

/// Records read per activation in arrival mode.
const BATCH: usize = 8192;

/// A follower that has read a record in the last `LIVE` looks again every [`LIVE_POLL`]: the
/// log is live, and the job busy anyway. Once it has been idle that long, it watches the log
/// ([`crate::log::watch`]) and sleeps until a change (or [`FALLBACK_POLL`]), so an idle log
/// costs nothing. (Waking on changes alone from the start made event-time jobs with
/// checkpoints behave differently while the log is live — `event_time_recovery.rs` then
/// sometimes aborted before its first checkpoint — so the live cadence is kept as it was.)
const LIVE: Duration = Duration::from_millis(100);
const LIVE_POLL: Duration = Duration::from_millis(1);

/// Where a log source starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Oldest,
    Offset(u64),
    Time(Time),
}

/// An event log to read, checked to be one when described.
#[derive(Clone, Debug)]
pub struct LogSource {
    dir: PathBuf,
    start: Start,
    until: Option<u64>,
    follow: bool,
    arrival_time: bool,
}

impl LogSource {
    /// The log in `dir`, from its oldest record to its current end, at log time; fails, naming
    /// the directory, if it is not a log.
    pub fn open(dir: impl AsRef<Path>) -> Result<LogSource> {
        LogReader::open(dir.as_ref())?;
        Ok(LogSource {
            dir: dir.as_ref().to_path_buf(),
            start: Start::Oldest,
            until: None,
            follow: false,
            arrival_time: false,
        })
    }

    /// Starts at `offset`.
    pub fn from_offset(mut self, offset: u64) -> Self {
        self.start = Start::Offset(offset);
        self
    }

    /// Starts at the first record whose time is at least `time`.
    pub fn from_time(mut self, time: Time) -> Self {
        self.start = Start::Time(time);
        self
    }

    /// Ends before `offset` (the batch layer's "everything up to X").
    pub fn until(mut self, offset: u64) -> Self {
        self.until = Some(offset);
        self
    }

    /// Keeps reading what is appended until the job stops, instead of ending at the end.
    /// At log time, the stream's time then rests at the last record's while the log is idle.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Stamps records with the time this job read them instead of their log time.
    pub fn arrival_time(mut self) -> Self {
        self.arrival_time = true;
        self
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A reader for one worker, at the restored offset or the configured start; an idle
    /// follower's source is woken through `waker` when the log changes.
    fn reader(
        &self,
        (index, peers, job): Part,
        restored: Option<u64>,
        waker: SyncActivator,
    ) -> Result<LogLines> {
        let mut reader = LogReader::open(&self.dir)?;
        match (restored, self.start) {
            (Some(offset), _) | (None, Start::Offset(offset)) => reader.seek(offset)?,
            (None, Start::Time(time)) => reader.seek_time(time)?,
            (None, Start::Oldest) => {}
        }
        Ok(LogLines {
            reader,
            until: self.until.unwrap_or(u64::MAX),
            follow: self.follow,
            index,
            peers,
            job,
            waker: self.follow.then_some(waker),
            watch: None,
            last_read: Instant::now(),
            read_since_end: false,
        })
    }
}

/// Every worker keeps the records whose offset is its own.
impl Source for LogSource {
    type Item = String;

    fn spread(&self) -> Spread {
        Spread::AllWorkers
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        build(scope, self)
    }

    fn by_arrival(&self) -> Self {
        self.clone().arrival_time()
    }
}

fn build<'scope>(scope: Scope<'scope>, log: &LogSource) -> Stream<'scope, String> {
    let log = log.clone();
    let job = JobContext::of(scope);
    let part: Part = (scope.index() as u64, scope.peers() as u64, job.clone());
    if log.arrival_time {
        drive(scope, "EventLog", move |waker| {
            match log.reader(part, None, waker) {
                Ok(reader) => Some(reader),
                Err(error) => {
                    job.fail(error);
                    None
                }
            }
        })
    } else {
        drive_timed(scope, "EventLog", move |restored, waker| {
            log.reader(part, restored, waker)
        })
    }
}

/// A worker's place among the readers: its index, their number, and the job.
type Part = (u64, u64, JobContext);

/// One worker's records of the log, as text lines.
struct LogLines {
    reader: LogReader,
    until: u64,
    follow: bool,
    index: u64,
    peers: u64,
    job: JobContext,
    /// While following, until the log is first idle: what the watch will wake.
    waker: Option<SyncActivator>,
    /// Once the log has been idle: wakes the source when the log changes (stops when dropped).
    watch: Option<WakeOnAppend>,
    /// When the reader last reached the end after reading records (the clock is read once per
    /// catch-up, not per record).
    last_read: Instant,
    read_since_end: bool,
}

impl LogLines {
    /// How long a follower at the end of the log waits at most before looking again: briefly
    /// while the log is live; once idle, until woken by a change (or a slow fallback poll).
    fn retry_after(&mut self) -> Duration {
        if self.last_read.elapsed() < LIVE {
            return LIVE_POLL;
        }
        if let Some(waker) = self.waker.take() {
            let dir = self.reader.dir().to_path_buf();
            self.watch = wake_on_append(&dir, move || waker.activate().is_ok());
            // An append since the last look was before the watch began: look once more.
            return LIVE_POLL;
        }
        FALLBACK_POLL
    }
}

impl TimedRead<String> for LogLines {
    fn next(&mut self) -> Result<Next<String>> {
        if self.reader.offset() >= self.until {
            return Ok(Next::Done);
        }
        let (index, peers, job) = (self.index, self.peers, &self.job);
        let dir = self.reader.dir().to_path_buf();
        let next = self.reader.read_with(|offset, time, payload| {
            let item = (offset % peers == index)
                .then(|| match std::str::from_utf8(payload) {
                    Ok(text) => Some(text.to_string()),
                    Err(_) => {
                        job.malformed(|| {
                            format!("{}: record {offset} is not UTF-8", dir.display())
                        });
                        None
                    }
                })
                .flatten();
            Next::Record { time, offset, item }
        })?;
        Ok(match next {
            Some(record) => {
                self.read_since_end = true;
                record
            }
            None if self.follow => {
                if std::mem::take(&mut self.read_since_end) {
                    self.last_read = Instant::now();
                }
                Next::Pending(self.retry_after())
            }
            None => Next::Done,
        })
    }

    fn offset(&self) -> u64 {
        self.reader.offset()
    }

    /// Every reader scans the whole log and keeps its share.
    fn rescale(offsets: Vec<Option<u64>>, share: Share) -> Result<Option<u64>, String> {
        same_position(offsets, share)
    }
}

impl Read<String> for LogLines {
    type Offset = u64;

    fn rescale(offsets: Vec<Option<u64>>, share: Share) -> Result<Option<u64>, String> {
        same_position(offsets, share)
    }

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll> {
        for _ in 0..BATCH {
            match TimedRead::next(self)? {
                Next::Record { item, .. } => out.extend(item),
                Next::Pending(after) => return Ok(Poll::Wait(after)),
                Next::Done => return Ok(Poll::Done),
            }
        }
        Ok(Poll::Ready)
    }

    fn offset(&self) -> Option<u64> {
        Some(self.reader.offset())
    }

    fn seek(&mut self, offset: u64) -> Result<(), Error> {
        self.reader.seek(offset)
    }
}
