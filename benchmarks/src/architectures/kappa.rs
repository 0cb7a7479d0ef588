//! The kappa architecture (Kreps, 2014): the log is the source of truth; a view is whatever
//! one streaming job over it has computed so far.
//!
//! A version of the job runs in two phases on one checkpoint directory of its own:
//! 1. **catch up**: replay the log from offset 0 to the end it had when the version started
//!    (`LogSource::until`), into version `v` of the view, unpublished — queries keep reading
//!    the previous version. When the replay ends, its final checkpoint holds the state and the
//!    offsets reached, and the view's version `v` is published: readers switch to it at once,
//!    whole (no gap, no mix of versions).
//! 2. **follow**: the same program resumes from that checkpoint and follows the log, keeping
//!    version `v` up to date until it is stopped.
//!
//! Reprocessing after a code change is starting version `v + 1` beside `v`, then stopping `v`
//! once `v + 1` is published.
//!
//! A version's checkpoints are only valid for the log they were taken of: resuming another
//! log's (a directory shared by two logs, one copied over) would skip records or wait forever
//! for offsets the log never reaches. So the checkpoints name the log (its canonical path, in
//! their fingerprint), and [`Kappa::start`] refuses, before starting anything, a checkpoint
//! of another log or one whose offsets are past the log's end; [`Kappa::start_afresh`]
//! discards it instead. A checkpoint is also only as good as the view it fed: if the store no
//! longer serves that version (an embedded store is gone with its process), the version
//! replays the log from its start.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_engine::checkpoint::{CheckpointDir, Checkpointing};
use sluice_engine::log::LogReader;
use sluice_engine::prelude::*;
use sluice_engine::sources::LogSource;
use sluice_serving::{ServeView, ServingStore};

/// A view's program: the log's lines in, the view's `(key, value)` updates out.
pub type ViewProgram =
    Arc<dyn for<'s> Fn(Stream<'s, String>) -> Stream<'s, (String, u64)> + Send + Sync>;

/// Where a kappa job reads, writes and checkpoints.
#[derive(Clone)]
pub struct Kappa {
    /// The event log directory it reads.
    pub log: PathBuf,
    /// The serving store it writes the view to.
    pub store: Arc<dyn ServingStore>,
    /// The view's name in the store: each version is written under it, and the version
    /// served is published under it.
    pub view: String,
    /// The offset to replay from: 0 for kappa (the speed layer of lambda starts where its
    /// batch view ends).
    pub from: u64,
    /// Timely workers the job runs with.
    pub workers: usize,
    /// Each version checkpoints in `checkpoints/v<version>`.
    pub checkpoints: PathBuf,
    /// Checkpoint interval, ms of log time.
    pub every: Time,
}

/// A running version of a kappa job.
pub struct KappaRun {
    published: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    job: Arc<Mutex<Option<JobContext>>>,
    thread: Option<JoinHandle<Result<Duration>>>,
}

impl Kappa {
    /// Starts version `version` of `program` (see the module docs), resuming its checkpoint if
    /// it has one; refuses, naming both, a checkpoint taken of another log or past this one's end.
    pub fn start(&self, version: u32, program: ViewProgram) -> Result<KappaRun> {
        self.launch(version, program, false)
    }

    /// Starts version `version` of `program` from the start of the log, discarding whatever
    /// checkpoint it had.
    pub fn start_afresh(&self, version: u32, program: ViewProgram) -> Result<KappaRun> {
        self.launch(version, program, true)
    }

    /// Where version `version` checkpoints.
    pub fn checkpoint_dir(&self, version: u32) -> PathBuf {
        self.checkpoints.join(format!("v{version}"))
    }

    fn launch(&self, version: u32, program: ViewProgram, discard: bool) -> Result<KappaRun> {
        let end = {
            let mut reader = LogReader::open(&self.log)?;
            reader.seek_end()?;
            reader.offset()
        };
        let checkpoints = self.checkpoint_dir(version);
        let name = format!("kappa-{}", self.view);
        let fingerprint = format!("v{version} log={}", log_identity(&self.log)?);
        let found =
            !discard && check_checkpoint(&checkpoints, (&name, &fingerprint), &self.log, end)?;
        // The checkpoint's state has gone into the view: it resumes only while the store still
        // serves that version (an embedded store ends with its process).
        let kept = self.store.published(&self.view)? == Some(version);
        if found && !kept {
            eprintln!(
                "sluice: version {version} of view {} is not in the store (an embedded store \
                 is not kept across runs): replaying the log from its start",
                self.view
            );
        }
        let discard = discard || !kept;
        let published = Arc::new(AtomicBool::new(false));
        let stopped = Arc::new(AtomicBool::new(false));
        let job: Arc<Mutex<Option<JobContext>>> = Arc::default();
        let (me, flag, stop, current) = (
            self.clone(),
            published.clone(),
            stopped.clone(),
            job.clone(),
        );
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut discard = discard;
            let mut phase = |source: LogSource| -> Result<()> {
                let execution = Execution::default().workers(me.workers).checkpointing(
                    Checkpointing::new(&checkpoints, me.every)
                        .program(&name, &fingerprint)
                        .discard_existing(std::mem::take(&mut discard)),
                );
                *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(execution.job().clone());
                if stop.load(Ordering::SeqCst) {
                    execution.job().stop();
                }
                let (store, view, program) = (me.store.clone(), me.view.clone(), program.clone());
                execute(execution, move |worker| {
                    worker.dataflow(|scope| {
                        program(scope.event_log(&source)).serve_view(&store, &view, version);
                    });
                })
                .map(|_| ())
            };
            phase(LogSource::open(&me.log)?.from_offset(me.from).until(end))?;
            if stop.load(Ordering::SeqCst) {
                // Stopped before it caught up: never published.
                return Ok(started.elapsed());
            }
            me.store.publish(&me.view, version)?;
            let caught_up = started.elapsed();
            flag.store(true, Ordering::SeqCst);
            phase(LogSource::open(&me.log)?.follow())?;
            Ok(caught_up)
        });
        Ok(KappaRun {
            published,
            stopped,
            job,
            thread: Some(thread),
        })
    }
}

/// What identifies a log to its checkpoints: its canonical path.
fn log_identity(log: &Path) -> Result<String> {
    let path = std::fs::canonicalize(log).map_err(|source| Error::Read {
        path: log.to_path_buf(),
        source,
    })?;
    Ok(path.display().to_string())
}

/// Refuses the newest checkpoint in `dir` if it is not of `program` (name and fingerprint, which
/// names the log) or has read past `end`, the offset after the last record of `log`; returns
/// whether there is one.
fn check_checkpoint(dir: &Path, program: (&str, &str), log: &Path, end: u64) -> Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let unreadable =
        |e: sluice_engine::checkpoint::CheckpointError| Error::Checkpoint(e.to_string());
    let (newest, _) = CheckpointDir::open(dir)
        .and_then(|store| store.latest_valid())
        .map_err(unreadable)?;
    let Some(checkpoint) = newest else {
        return Ok(false);
    };
    let m = &checkpoint.metadata;
    let problem = if (m.program.as_str(), m.fingerprint.as_str()) != program {
        format!(
            "was taken of another log or program ({} [{}])",
            m.program, m.fingerprint
        )
    } else {
        match m.source_offsets.values().max() {
            Some(&offset) if offset > end => {
                format!("has read to offset {offset}, past the log's end (offset {end})")
            }
            _ => return Ok(true),
        }
    };
    Err(Error::Config(format!(
        "the checkpoint in {} {problem}, so it cannot resume over the log {}; \
         start afresh with --discard-checkpoint (or choose another checkpoint directory)",
        dir.display(),
        log.display()
    )))
}

impl KappaRun {
    /// Whether this version has caught up and is the published one.
    pub fn is_published(&self) -> bool {
        self.published.load(Ordering::SeqCst)
    }

    /// Waits until this version is published (or `timeout` passes); returns whether it was.
    pub fn wait_published(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_published() && Instant::now() < deadline {
            if self.thread.as_ref().is_some_and(|t| t.is_finished()) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.is_published()
    }

    /// Stops the job and returns how long it took to catch up (its reprocessing time).
    pub fn stop(mut self) -> Result<Duration> {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(job) = self.job.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            job.stop();
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            _ => Err(Error::Worker("the kappa job panicked".into())),
        }
    }
}
