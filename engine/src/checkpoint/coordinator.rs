//! The job's side of checkpointing: which epochs to take, what to restore, and when an epoch
//! is complete enough to commit.
//!
//! Epochs are the multiples of the checkpoint interval in the stream's own time (the records'
//! timestamps). Every stateful operator instance and every source instance gives one *part* per
//! epoch it takes ([`EpochGate`](super::EpochGate) does this for operators): its state, encoded
//! at once on the worker, written by this process's checkpoint writer thread, so that workers
//! never wait for the disk (as Flink's asynchronous snapshots). The writer counts the parts of
//! each epoch; when all of this process's parts are durable it leaves a marker, and process 0
//! commits the epoch once every process has left one. An epoch some instance skipped (its
//! frontier jumped over several epochs at once, with nothing in between) never completes and is
//! simply not committed; a later one is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{frame, Checkpoint, CheckpointDir, CheckpointError, Metadata};
use crate::error::Error;
use crate::time::Time;

/// Where and how often a job checkpoints, and which program the checkpoints belong to.
///
/// ```
/// use sluice_engine::checkpoint::Checkpointing;
/// let checkpoints = Checkpointing::new("/tmp/wordcount-checkpoints", 1000)
///     .program("wordcount", "input=corpus.txt")
///     .retain(5);
/// ```
#[derive(Clone, Debug)]
pub struct Checkpointing {
    dir: PathBuf,
    every: Time,
    program: String,
    fingerprint: String,
    retain: usize,
    discard: bool,
}

impl Checkpointing {
    /// Checkpoints into `dir` every `every_ms` of stream time.
    pub fn new(dir: impl Into<PathBuf>, every_ms: Time) -> Self {
        Checkpointing {
            dir: dir.into(),
            every: every_ms.max(1),
            program: "program".into(),
            fingerprint: String::new(),
            retain: 3,
            discard: false,
        }
    }

    /// Names the program and fingerprints its shape and options: a checkpoint is only restored
    /// into a program with the same name and fingerprint.
    pub fn program(mut self, name: &str, fingerprint: &str) -> Self {
        self.program = name.to_string();
        self.fingerprint = fingerprint.to_string();
        self
    }

    /// Keeps the last `epochs` committed checkpoints.
    pub fn retain(mut self, epochs: usize) -> Self {
        self.retain = epochs.max(1);
        self
    }

    /// Starts afresh even if the directory holds another program's checkpoints (which are
    /// then replaced as new ones are committed).
    pub fn discard_existing(mut self, discard: bool) -> Self {
        self.discard = discard;
        self
    }

    /// The interval in ms of stream time.
    pub fn every(&self) -> Time {
        self.every
    }
}

/// How this process takes part in checkpoints.
pub struct Coordinator {
    config: Checkpointing,
    restored: Option<Checkpoint>,
    workers: usize,
    /// The checkpointed operators and sources, by part name without the worker.
    operators: Arc<Mutex<BTreeSet<String>>>,
    /// Parts on their way to the writer thread; `None` once flushed.
    sender: Mutex<Option<SyncSender<Part>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The first error the writer met, reported to the job by the next part given.
    error: Arc<Mutex<Option<Error>>>,
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coordinator")
            .field("dir", &self.config.dir)
            .field("every", &self.config.every)
            .field("restored", &self.restored_epoch())
            .finish()
    }
}

/// The environment variable that makes a process abort after writing that many checkpoint
/// parts once a checkpoint exists (committed by this run, or restored), so that tests can
/// kill a job in the middle of a checkpoint and know there is one to resume from.
pub const CRASH_AFTER_PARTS: &str = "SLUICE_TEST_CRASH_AFTER_PARTS";

/// Encoded parts the writer may hold before workers wait for it.
const QUEUED_PARTS: usize = 64;

/// One part on its way to the disk.
struct Part {
    epoch: Option<Time>,
    name: String,
    frame: Vec<u8>,
    /// The instance has finished: this part stands for it in every epoch from this one on.
    last: Option<Time>,
}

impl Coordinator {
    /// Opens the checkpoint directory for a job of `workers` per process × `processes`, loads
    /// the newest valid checkpoint (refusing one of another program), and starts the writer.
    pub fn open(
        config: Checkpointing,
        workers: usize,
        processes: usize,
        process: usize,
    ) -> Result<Coordinator, Error> {
        let store = CheckpointDir::open(&config.dir)
            .map_err(checkpoint_error)?
            .retain(config.retain);
        let (restored, warnings) = store.latest_valid().map_err(checkpoint_error)?;
        for warning in warnings {
            eprintln!("sluice: {warning}");
        }
        let restored = match restored {
            Some(c) if config.discard => {
                eprintln!(
                    "sluice: discarding the checkpoint of epoch {} in {}",
                    c.metadata.epoch,
                    config.dir.display()
                );
                None
            }
            Some(c) => {
                check_compatible(&c, &config, workers, processes)?;
                Some(c)
            }
            None => None,
        };
        let operators = Arc::new(Mutex::new(BTreeSet::new()));
        let error = Arc::new(Mutex::new(None));
        let mut writer = Writer {
            store,
            program: config.program.clone(),
            fingerprint: config.fingerprint.clone(),
            workers,
            processes,
            process,
            operators: operators.clone(),
            written: BTreeMap::new(),
            finished: BTreeMap::new(),
            awaiting: BTreeSet::new(),
            committed: restored.as_ref().map(|c| c.metadata.epoch),
            crash_after_parts: std::env::var(CRASH_AFTER_PARTS)
                .ok()
                .and_then(|v| v.parse().ok()),
            parts_written: 0,
        };
        let (sender, receiver) = sync_channel::<Part>(QUEUED_PARTS);
        let failed = error.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-checkpoints".into())
            .spawn(move || {
                for part in receiver {
                    if let Err(e) = writer.write(part) {
                        lock(&failed).get_or_insert(e);
                    }
                }
            })
            .map_err(|e| Error::Startup(format!("cannot start the checkpoint writer: {e}")))?;
        Ok(Coordinator {
            config,
            restored,
            workers,
            operators,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(thread)),
            error,
        })
    }

    /// The checkpoint interval, ms of stream time.
    pub fn every(&self) -> Time {
        self.config.every
    }

    /// The epoch this run resumed from, if any.
    pub fn restored_epoch(&self) -> Option<Time> {
        self.restored.as_ref().map(|c| c.metadata.epoch)
    }

    /// The first epoch after `time` that a checkpoint is taken at.
    pub fn epoch_after(&self, time: Time) -> Time {
        (time / self.config.every + 1) * self.config.every
    }

    /// Worker threads per process.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Declares a checkpointed operator (or source) named `operator`; returns its part name on
    /// `worker`.
    pub fn register(&self, operator: &str, worker: usize) -> String {
        lock(&self.operators).insert(operator.to_string());
        format!("{operator}-w{worker}")
    }

    /// The restored state of `part`, if this run resumed from a checkpoint that has it.
    pub fn restore<S: DeserializeOwned>(&self, part: &str) -> Result<Option<S>, Error> {
        let Some(checkpoint) = &self.restored else {
            return Ok(None);
        };
        if !checkpoint.metadata.parts.contains_key(part) {
            return Err(Error::Config(format!(
                "the checkpoint in {} has no state for {part}: the program changed",
                checkpoint.dir.display()
            )));
        }
        checkpoint
            .read_part(part)
            .map(Some)
            .map_err(checkpoint_error)
    }

    /// The state `part` had when the job first started in this directory, for a sink whose
    /// external system runs ahead of the checkpoints: after a crash before the first
    /// checkpoint, the restarted job must still know where the first attempt began. `now` is
    /// recorded the first time (and whenever the old checkpoints are discarded) and returned
    /// on every later start without a checkpoint.
    pub fn initial<S: Serialize + DeserializeOwned>(&self, part: &str, now: S) -> Result<S, Error> {
        let dir = self.config.dir.join("initial");
        let path = dir.join(format!("{part}.state"));
        if path.exists() && !self.config.discard {
            return frame::read(&path).map_err(checkpoint_error);
        }
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        frame::write(&path, &now).map_err(checkpoint_error)?;
        Ok(now)
    }

    /// Gives `part`'s state as of `epoch` to the writer.
    pub fn write<S: Serialize + ?Sized>(
        &self,
        epoch: Time,
        part: &str,
        state: &S,
    ) -> Result<(), Error> {
        self.send(Some(epoch), part, state, None)
    }

    /// Gives `part`'s last state (written as of `epoch`, if given): the instance has finished,
    /// and this state stands for it in every epoch from `valid_from` on.
    pub fn finish<S: Serialize + ?Sized>(
        &self,
        epoch: Option<Time>,
        valid_from: Time,
        part: &str,
        state: &S,
    ) -> Result<(), Error> {
        self.send(epoch, part, state, Some(valid_from))
    }

    fn send<S: Serialize + ?Sized>(
        &self,
        epoch: Option<Time>,
        name: &str,
        state: &S,
        last: Option<Time>,
    ) -> Result<(), Error> {
        if let Some(error) = lock(&self.error).take() {
            return Err(error);
        }
        let frame = frame::encode(state).map_err(checkpoint_error)?;
        let part = Part {
            epoch,
            name: name.to_string(),
            frame,
            last,
        };
        match lock(&self.sender).as_ref() {
            Some(sender) => sender
                .send(part)
                .map_err(|_| Error::Checkpoint("the checkpoint writer has stopped".into())),
            None => Ok(()),
        }
    }

    /// Waits until every part given so far is written (and committed, if complete); reports
    /// the writer's first error. Called when the job ends.
    pub fn flush(&self) -> Result<(), Error> {
        drop(lock(&self.sender).take());
        if let Some(thread) = lock(&self.writer).take() {
            thread
                .join()
                .map_err(|_| Error::Checkpoint("the checkpoint writer panicked".into()))?;
        }
        match lock(&self.error).take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Refuses to restore a checkpoint of another program or another shape of job.
fn check_compatible(
    checkpoint: &Checkpoint,
    config: &Checkpointing,
    workers: usize,
    processes: usize,
) -> Result<(), Error> {
    let m = &checkpoint.metadata;
    if m.program != config.program || m.fingerprint != config.fingerprint {
        return Err(Error::Config(format!(
            "the checkpoint in {} is of another program ({} [{}]), not {} [{}]; \
             use another directory, or discard it explicitly",
            config.dir.display(),
            m.program,
            m.fingerprint,
            config.program,
            config.fingerprint
        )));
    }
    if m.workers != workers * processes || m.processes != processes {
        return Err(Error::Config(format!(
            "the checkpoint in {} was taken with {} workers in {} processes; this run has {} in {}",
            config.dir.display(),
            m.workers,
            m.processes,
            workers * processes,
            processes
        )));
    }
    Ok(())
}

/// The writer thread's state: every part of this process goes through it, one at a time.
struct Writer {
    store: CheckpointDir,
    program: String,
    fingerprint: String,
    workers: usize,
    processes: usize,
    process: usize,
    operators: Arc<Mutex<BTreeSet<String>>>,
    /// Parts written, per epoch not yet complete in this process.
    written: BTreeMap<Time, BTreeSet<String>>,
    /// The last state of instances that have finished, as frames, and the first epoch each
    /// stands for.
    finished: BTreeMap<String, (Time, Vec<u8>)>,
    /// Epochs this process has completed that process 0 has not committed (process 0 only).
    awaiting: BTreeSet<Time>,
    /// The newest epoch committed (or restored): older ones are never committed.
    committed: Option<Time>,
    crash_after_parts: Option<usize>,
    parts_written: usize,
}

impl Writer {
    fn write(&mut self, part: Part) -> Result<(), Error> {
        if let Some(epoch) = part.epoch {
            self.store
                .write_part_frame(epoch, &part.name, &part.frame)
                .map_err(checkpoint_error)?;
            if self.committed.is_some() {
                self.parts_written += 1;
            }
            if self.crash_after_parts == Some(self.parts_written) {
                eprintln!(
                    "sluice: aborting after {} checkpoint parts ({CRASH_AFTER_PARTS})",
                    self.parts_written
                );
                std::process::abort();
            }
            self.written
                .entry(epoch)
                .or_default()
                .insert(part.name.clone());
        }
        if let Some(valid_from) = part.last {
            self.finished.insert(part.name, (valid_from, part.frame));
        }
        // Complete epochs: every instance has written a part, or has finished.
        let expected = lock(&self.operators).len() * self.workers;
        let complete: Vec<Time> = self
            .written
            .iter()
            .filter(|(&epoch, parts)| {
                let stand_ins = self
                    .finished
                    .iter()
                    .filter(|(n, (from, _))| epoch >= *from && !parts.contains(*n))
                    .count();
                parts.len() + stand_ins == expected
            })
            .map(|(epoch, _)| *epoch)
            .collect();
        for epoch in complete {
            let parts = self.written.remove(&epoch).unwrap_or_default();
            for (name, (from, frame)) in &self.finished {
                if epoch >= *from && !parts.contains(name) {
                    self.store
                        .write_part_frame(epoch, name, frame)
                        .map_err(checkpoint_error)?;
                }
            }
            self.store
                .write_part(epoch, &format!("process-{}", self.process), &())
                .map_err(checkpoint_error)?;
            self.awaiting.insert(epoch);
        }
        if self.process == 0 {
            self.commit_ready()?;
        }
        Ok(())
    }

    /// Commits the newest epoch every process has completed (process 0 only).
    fn commit_ready(&mut self) -> Result<(), Error> {
        let floor = self.committed;
        self.awaiting.retain(|&e| floor.is_none_or(|f| e > f));
        let ready = self.awaiting.iter().rev().copied().find(|&epoch| {
            let parts = self.store.pending_parts(epoch);
            (0..self.processes).all(|p| parts.contains(&format!("process-{p}")))
        });
        let Some(newest) = ready else {
            return Ok(());
        };
        let mut metadata = Metadata::new(&self.program, &self.fingerprint, newest);
        metadata.operators = lock(&self.operators).iter().cloned().collect();
        metadata.workers = self.workers * self.processes;
        metadata.processes = self.processes;
        for part in self.store.pending_parts(newest) {
            if part.starts_with("source") {
                let offset: Option<u64> = self
                    .store
                    .read_pending_part(newest, &part)
                    .map_err(checkpoint_error)?;
                if let Some(offset) = offset {
                    metadata.source_offsets.insert(part, offset);
                }
            }
        }
        self.store.commit(metadata).map_err(checkpoint_error)?;
        self.committed = Some(newest);
        self.awaiting.retain(|&e| e > newest);
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn checkpoint_error(e: CheckpointError) -> Error {
    Error::Checkpoint(e.to_string())
}
