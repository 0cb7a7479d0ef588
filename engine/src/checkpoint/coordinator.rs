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
//!
//! **Event time.** Operators downstream of `with_event_time` save their state as of epochs of
//! event time instead (see [`domain`](super::domain)), into a pool of event-time parts. Each
//! process's marker for epoch `E` carries the lowest watermark its `with_event_time` instances
//! had at `E`; the committer takes the lowest over all processes, rounded down to an epoch, as
//! the checkpoint's event-time cut `X(E)` — every record stamped before it came from before
//! `E` — and commits `E` once every event-time part has been saved as of `X(E)`, copying those
//! parts in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::domain::{DataflowGraph, Domain};
use super::store::EventIndex;
use super::{frame, Checkpoint, CheckpointDir, CheckpointError, Input, Metadata};
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
    inputs: BTreeMap<String, Input>,
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
            inputs: BTreeMap::new(),
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

    /// Records the identity of the input `name` (see [`Input`]): a checkpoint is only restored
    /// over the same inputs, so that its offsets are offsets of what is read.
    pub fn input(mut self, name: &str, input: Input) -> Self {
        self.inputs.insert(name.to_string(), input);
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
    store: CheckpointDir,
    /// The checkpointed operators and sources, and the dataflow graph that says their domains.
    operators: Arc<Mutex<Operators>>,
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
    domain: Domain,
    /// A `with_event_time` instance's watermark as of the epoch.
    watermark: Option<Time>,
}

/// What a part is, beside its state: see [`Coordinator::write`].
#[derive(Clone, Copy, Debug)]
pub struct PartOf<'a> {
    /// The part's name (from [`Coordinator::register`]).
    pub name: &'a str,
    /// The domain of the epochs it is saved at.
    pub domain: Domain,
    /// For a `with_event_time` instance: its watermark as of the epoch.
    pub watermark: Option<Time>,
}

/// The checkpointed operators (by name, without the worker) with their addresses, and the
/// dataflow graph.
#[derive(Debug, Default)]
pub(crate) struct Operators {
    addresses: BTreeMap<String, Vec<usize>>,
    pub(crate) graph: DataflowGraph,
}

impl Operators {
    /// The operators of `domain` (an operator whose inputs mix domains is in neither).
    fn of(&self, domain: Domain) -> Vec<String> {
        self.addresses
            .iter()
            .filter(|(_, address)| self.graph.domain(address) == Ok(domain))
            .map(|(name, _)| name.clone())
            .collect()
    }
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
        if restored.is_none() && !config.discard && !warnings.is_empty() {
            // Every committed checkpoint is damaged: starting from scratch would silently
            // count everything before them again, or lose it.
            return Err(Error::Checkpoint(format!(
                "no usable checkpoint in {} ({}); --discard-checkpoint starts afresh",
                config.dir.display(),
                warnings.join("; ")
            )));
        }
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
        if process == 0 {
            // Event-time parts of an earlier run are not this run's saves.
            store.prune_event_parts(None).map_err(checkpoint_error)?;
        }
        let operators = Arc::new(Mutex::new(Operators::default()));
        let error = Arc::new(Mutex::new(None));
        let mut writer = Writer {
            events: EventIndex::of(&store),
            cuts: BTreeMap::new(),
            store: store.clone(),
            every: config.every,
            watermarks: BTreeMap::new(),
            program: config.program.clone(),
            fingerprint: config.fingerprint.clone(),
            inputs: config.inputs.clone(),
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
            store,
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

    /// The epoch this run resumed from in `domain`: the checkpoint's epoch, or its event-time
    /// cut.
    pub fn restored_epoch_in(&self, domain: Domain) -> Option<Time> {
        let metadata = &self.restored.as_ref()?.metadata;
        match domain {
            Domain::Stream => Some(metadata.epoch),
            Domain::Event => Some(metadata.event_epoch.unwrap_or(0)),
        }
    }

    /// The event-time cut of the newest committed checkpoint (0 if none): no later checkpoint
    /// cuts event time before it, so `with_event_time` may forget what it forwarded before it.
    pub fn event_floor(&self) -> Result<Time, Error> {
        let committed = self.store.latest_event_epoch().map_err(checkpoint_error)?;
        let restored = self.restored_epoch_in(Domain::Event);
        Ok(committed.or(restored).unwrap_or(0))
    }

    /// The dataflow graph, filled in as the job's dataflows are built.
    pub(crate) fn operators(&self) -> std::sync::MutexGuard<'_, Operators> {
        lock(&self.operators)
    }

    /// The domain of the checkpointed operator `operator`'s inputs; an error naming it if they
    /// mix event time and the sources' time (which no cut can make consistent).
    pub fn domain_of(&self, operator: &str) -> Result<Domain, Error> {
        let operators = lock(&self.operators);
        let address = operators
            .addresses
            .get(operator)
            .cloned()
            .unwrap_or_default();
        operators
            .graph
            .domain(&address)
            .map_err(|e| Error::Config(format!("{operator} cannot be checkpointed: {e}")))
    }

    /// The first epoch after `time` that a checkpoint is taken at.
    pub fn epoch_after(&self, time: Time) -> Time {
        (time / self.config.every + 1) * self.config.every
    }

    /// Worker threads per process.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Declares a checkpointed operator (or source) named `operator` at `address`; returns its
    /// part name on `worker`.
    pub fn register(&self, operator: &str, address: &[usize], worker: usize) -> String {
        lock(&self.operators)
            .addresses
            .insert(operator.to_string(), address.to_vec());
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

    /// Gives `part`'s state as of `epoch` (of its domain) to the writer.
    pub fn write<S: Serialize + ?Sized>(
        &self,
        epoch: Time,
        part: PartOf<'_>,
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
        part: PartOf<'_>,
        state: &S,
    ) -> Result<(), Error> {
        self.send(epoch, part, state, Some(valid_from))
    }

    fn send<S: Serialize + ?Sized>(
        &self,
        epoch: Option<Time>,
        of: PartOf<'_>,
        state: &S,
        last: Option<Time>,
    ) -> Result<(), Error> {
        if let Some(error) = lock(&self.error).take() {
            return Err(error);
        }
        let frame = frame::encode(state).map_err(checkpoint_error)?;
        let part = Part {
            epoch,
            name: of.name.to_string(),
            frame,
            last,
            domain: of.domain,
            watermark: of.watermark,
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
             use another directory, or --discard-checkpoint to start afresh",
            config.dir.display(),
            m.program,
            m.fingerprint,
            config.program,
            config.fingerprint
        )));
    }
    for (name, input) in &config.inputs {
        let verdict = match m.inputs.get(name) {
            Some(saved) => input.check(saved),
            None => Err(format!(
                "the checkpoint records no input {name} (it was taken by an older version)"
            )),
        };
        match verdict {
            Ok(None) => {}
            Ok(Some(note)) => eprintln!("sluice: {note}"),
            Err(change) => {
                return Err(Error::Config(format!(
                    "the checkpoint in {} was taken of another input: {change}; \
                     use another directory, or --discard-checkpoint to start afresh",
                    config.dir.display()
                )))
            }
        }
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
    /// The event-time parts this process has saved.
    events: EventIndex,
    /// The event-time cut of each epoch every process has completed.
    cuts: BTreeMap<Time, Option<Time>>,
    store: CheckpointDir,
    every: Time,
    /// The lowest `with_event_time` watermark of each epoch not yet complete in this process.
    watermarks: BTreeMap<Time, Time>,
    program: String,
    fingerprint: String,
    inputs: BTreeMap<String, Input>,
    workers: usize,
    processes: usize,
    process: usize,
    operators: Arc<Mutex<Operators>>,
    /// Parts written, per epoch not yet complete in this process.
    written: BTreeMap<Time, BTreeSet<String>>,
    /// The last state of instances that have finished, as frames, the first epoch each
    /// stands for, and its watermark.
    finished: BTreeMap<String, (Time, Vec<u8>, Option<Time>)>,
    /// Epochs this process has completed that process 0 has not committed (process 0 only).
    awaiting: BTreeSet<Time>,
    /// The newest epoch committed (or restored): older ones are never committed.
    committed: Option<Time>,
    crash_after_parts: Option<usize>,
    parts_written: usize,
}

impl Writer {
    fn write(&mut self, part: Part) -> Result<(), Error> {
        if part.domain == Domain::Event {
            if let Some(epoch) = part.epoch {
                self.store
                    .write_event_part_frame(epoch, &part.name, &part.frame, part.last)
                    .map_err(checkpoint_error)?;
                self.events.record(&part.name, epoch, part.last);
            }
            if self.process == 0 {
                self.commit_ready()?;
            }
            return Ok(());
        }
        if let (Some(epoch), Some(watermark)) = (part.epoch, part.watermark) {
            let lowest = self.watermarks.entry(epoch).or_insert(watermark);
            *lowest = (*lowest).min(watermark);
        }
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
            self.finished
                .insert(part.name, (valid_from, part.frame, part.watermark));
        }
        // Complete epochs: every instance has written a part, or has finished.
        let expected = lock(&self.operators).of(Domain::Stream).len() * self.workers;
        let complete: Vec<Time> = self
            .written
            .iter()
            .filter(|(&epoch, parts)| {
                let stand_ins = self
                    .finished
                    .iter()
                    .filter(|(n, (from, ..))| epoch >= *from && !parts.contains(*n))
                    .count();
                parts.len() + stand_ins == expected
            })
            .map(|(epoch, _)| *epoch)
            .collect();
        for epoch in complete {
            let parts = self.written.remove(&epoch).unwrap_or_default();
            let mut watermark = self.watermarks.remove(&epoch);
            for (name, (from, frame, finished_at)) in &self.finished {
                if epoch >= *from && !parts.contains(name) {
                    self.store
                        .write_part_frame(epoch, name, frame)
                        .map_err(checkpoint_error)?;
                    if let Some(w) = finished_at {
                        watermark = Some(watermark.map_or(*w, |m| m.min(*w)));
                    }
                }
            }
            self.store
                .write_part(epoch, &format!("process-{}", self.process), &watermark)
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
        let mut ready = None;
        let awaiting: Vec<Time> = self.awaiting.iter().rev().copied().collect();
        for epoch in awaiting {
            if !self.cuts.contains_key(&epoch) {
                let parts = self.store.pending_parts(epoch);
                if !(0..self.processes).all(|p| parts.contains(&format!("process-{p}"))) {
                    continue;
                }
                let cut = self.cut_of(epoch)?;
                self.cuts.insert(epoch, cut);
            }
            if let Some(event_parts) = self.event_parts(self.cuts[&epoch]) {
                ready = Some((epoch, event_parts));
                break;
            }
        }
        let Some((newest, (cut, event_parts))) = ready else {
            return Ok(());
        };
        for (part, path) in &event_parts {
            self.store
                .copy_into_pending(newest, part, path)
                .map_err(checkpoint_error)?;
        }
        let mut metadata = Metadata::new(&self.program, &self.fingerprint, newest);
        metadata.event_epoch = cut;
        metadata.inputs = self.inputs.clone();
        metadata.operators = lock(&self.operators).addresses.keys().cloned().collect();
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
        if let Some(cut) = cut {
            self.store
                .prune_event_parts(Some(cut))
                .map_err(checkpoint_error)?;
            self.events.prune(cut);
        }
        self.cuts.retain(|&e, _| e > newest);
        self.committed = Some(newest);
        self.awaiting.retain(|&e| e > newest);
        Ok(())
    }
}

/// An epoch's event-time side: its cut (if the program has event time), and the files of the
/// event-time parts saved as of it.
type EventCut = (Option<Time>, Vec<(String, PathBuf)>);

impl Writer {
    /// The event-time cut of `epoch`, whose process markers are all there: the lowest
    /// watermark any process's `with_event_time` instances had at it, rounded down to an
    /// epoch; `None` if the program has no event time.
    fn cut_of(&self, epoch: Time) -> Result<Option<Time>, Error> {
        let mut lowest: Option<Time> = None;
        for p in 0..self.processes {
            let marker: Option<Time> = self
                .store
                .read_pending_part(epoch, &format!("process-{p}"))
                .map_err(checkpoint_error)?;
            if let Some(w) = marker {
                lowest = Some(lowest.map_or(w, |l| l.min(w)));
            }
        }
        Ok(lowest.map(|w| w / self.every * self.every))
    }

    /// The event-time parts that stand for `cut`, if every one has got that far. This
    /// process's saves are known; other processes' are looked up in the directory.
    fn event_parts(&self, cut: Option<Time>) -> Option<EventCut> {
        let Some(cut) = cut else {
            return Some((None, Vec::new()));
        };
        let local = self.process * self.workers..(self.process + 1) * self.workers;
        let mut remote: Option<EventIndex> = None;
        let mut parts = Vec::new();
        for operator in lock(&self.operators).of(Domain::Event) {
            for worker in 0..self.workers * self.processes {
                let part = format!("{operator}-w{worker}");
                let found = if local.contains(&worker) {
                    self.events.find(&part, cut)
                } else {
                    remote
                        .get_or_insert_with(|| self.store.event_index())
                        .find(&part, cut)
                };
                parts.push((part, found?));
            }
        }
        Some((Some(cut), parts))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn checkpoint_error(e: CheckpointError) -> Error {
    Error::Checkpoint(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// source 1 → with_event_time 2 → window 3, on 2 workers.
    fn coordinator(dir: &std::path::Path) -> Coordinator {
        let coordinator = Coordinator::open(Checkpointing::new(dir, 100), 2, 1, 0).unwrap();
        {
            let mut operators = coordinator.operators();
            operators.graph.add_channel(&[0], 1, 2);
            operators.graph.add_channel(&[0], 2, 3);
            operators.graph.add_event_time(&[0, 2]);
        }
        for (name, node) in [("source", 1), ("wet", 2), ("window", 3)] {
            for worker in 0..2 {
                coordinator.register(name, &[0, node], worker);
            }
        }
        coordinator
    }

    fn part(name: &str, domain: Domain, watermark: Option<Time>) -> PartOf<'_> {
        PartOf {
            name,
            domain,
            watermark,
        }
    }

    #[test]
    fn an_epoch_is_paired_with_the_lowest_watermark_and_the_saves_that_stand_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = coordinator(dir.path());
        assert_eq!(c.domain_of("window").unwrap(), Domain::Event);
        assert_eq!(c.domain_of("wet").unwrap(), Domain::Stream);
        // Event-time saves: worker 0 at 100 and 200, worker 1 jumped from nothing to 300.
        c.write(100, part("window-w0", Domain::Event, None), &"w0@100")
            .unwrap();
        c.write(200, part("window-w0", Domain::Event, None), &"w0@200")
            .unwrap();
        c.write(300, part("window-w1", Domain::Event, None), &"w1@300")
            .unwrap();
        // Epoch 1000 of the sources' time; the watermarks were 1234 and 250.
        for w in 0..2 {
            c.write(
                1000,
                part(&format!("source-w{w}"), Domain::Stream, None),
                &Some(7u64),
            )
            .unwrap();
        }
        c.write(1000, part("wet-w0", Domain::Stream, Some(1234)), &())
            .unwrap();
        c.write(1000, part("wet-w1", Domain::Stream, Some(250)), &())
            .unwrap();
        c.flush().unwrap();
        let (latest, _) = CheckpointDir::open(dir.path())
            .unwrap()
            .latest_valid()
            .unwrap();
        let latest = latest.expect("epoch 1000 committed");
        assert_eq!(latest.metadata.epoch, 1000);
        assert_eq!(latest.metadata.event_epoch, Some(200), "⌊min(1234, 250)⌋");
        assert_eq!(latest.read_part::<String>("window-w0").unwrap(), "w0@200");
        // Worker 1 saved nothing between 200 and 300: its state at 300 is its state at 200.
        assert_eq!(latest.read_part::<String>("window-w1").unwrap(), "w1@300");
    }

    #[test]
    fn an_epoch_waits_for_every_event_time_part_to_reach_its_cut() {
        let dir = tempfile::tempdir().unwrap();
        let c = coordinator(dir.path());
        c.write(400, part("window-w0", Domain::Event, None), &"w0@400")
            .unwrap();
        c.write(100, part("window-w1", Domain::Event, None), &"w1@100")
            .unwrap();
        for w in 0..2 {
            c.write(
                1000,
                part(&format!("source-w{w}"), Domain::Stream, None),
                &Some(7u64),
            )
            .unwrap();
            let wet = format!("wet-w{w}");
            c.write(1000, part(&wet, Domain::Stream, Some(300)), &())
                .unwrap();
        }
        c.flush().unwrap();
        let store = CheckpointDir::open(dir.path()).unwrap();
        assert_eq!(
            store.latest().unwrap(),
            None,
            "window-w1 has not reached 300"
        );
    }
}
