//! The checkpoint writer: one thread per process through which every part goes, and the commit
//! protocol it runs.
//!
//! Workers encode their parts and hand them over (see [`Coordinator`](super::Coordinator)); the
//! writer puts each on disk, counts the parts of each epoch, and once every instance of this
//! process has given one (or has finished, its last part standing in) leaves the process's
//! marker for the epoch. Process 0's writer commits the newest epoch every process has marked,
//! once the event-time parts of its cut are there too (see [`domain`](super::domain)).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::Checkpointing;
use super::crash::CrashHook;
use super::domain::Domain;
use super::part::{operator_of, part_name, process_marker, PartKind};
use super::registry::Operators;
use super::store::EventIndex;
use super::{checkpoint_error, lock, CheckpointDir, Input, Metadata, SavepointTrigger};
use crate::clock::Clock;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::time::Time;

/// Encoded parts the writer may hold before workers wait for it.
const QUEUED_PARTS: usize = 64;

/// One part on its way to the disk.
pub(super) struct Part {
    pub(super) epoch: Option<Time>,
    pub(super) name: String,
    pub(super) frame: Vec<u8>,
    /// The instance has finished: this part stands for it in every epoch from this one on.
    pub(super) last: Option<Time>,
    pub(super) domain: Domain,
    /// A `with_event_time` instance's watermark as of the epoch.
    pub(super) watermark: Option<Time>,
}

/// What the writer is given to do, in order.
pub(super) enum Order {
    /// Write a part.
    Part(Part),
    /// Keep the newest checkpoint this run committed as a savepoint, or, if it has committed
    /// none yet, the next it commits.
    Savepoint,
    /// Every part has been given: the job has ended, `completed` if without a failure. Then
    /// another process says so with its done marker, once its own markers are all written;
    /// and process 0 waits for every other's before its last commit — the last marker may
    /// come from another process after this one's last part.
    Finished { completed: bool },
}

/// How long process 0 waits, after its job completed, for the others' done markers.
const PEERS_DONE_WITHIN: Duration = Duration::from_secs(60);

/// The writer thread of a running job: where orders go, and the thread to join.
pub(super) struct WriterThread {
    pub(super) sender: SyncSender<Order>,
    pub(super) thread: JoinHandle<()>,
}

/// The writer thread's state: every part of this process goes through it, one at a time.
pub(super) struct Writer {
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
    version: String,
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
    /// The newest epoch this run committed.
    committed_here: Option<Time>,
    crash: CrashHook,
    /// Savepoints asked for (taken by process 0, which commits).
    savepoints: SavepointTrigger,
    metrics: Metrics,
    clock: Clock,
}

impl Writer {
    /// The writer of process `process` of a job of `workers` per process × `processes`, whose
    /// newest committed (or restored) epoch is `committed`.
    pub(super) fn new(
        config: &Checkpointing,
        store: &CheckpointDir,
        workers: usize,
        processes: usize,
        process: usize,
        operators: Arc<Mutex<Operators>>,
        committed: Option<Time>,
    ) -> Writer {
        Writer {
            events: EventIndex::of(store),
            cuts: BTreeMap::new(),
            store: store.clone(),
            every: config.every,
            watermarks: BTreeMap::new(),
            program: config.program.clone(),
            fingerprint: config.fingerprint.clone(),
            version: config.version.clone(),
            inputs: config.inputs.clone(),
            workers,
            processes,
            process,
            operators,
            written: BTreeMap::new(),
            finished: BTreeMap::new(),
            awaiting: BTreeSet::new(),
            committed,
            committed_here: None,
            crash: CrashHook::from_env(),
            savepoints: SavepointTrigger::default(),
            metrics: Metrics::default(),
            clock: Clock::default(),
        }
    }

    /// Reports parts and completed checkpoints into `metrics`, at times of `clock`.
    pub(super) fn reporting(mut self, metrics: Metrics, clock: Clock) -> Writer {
        self.metrics = metrics;
        self.clock = clock;
        self
    }

    /// Takes the savepoints `trigger` asks for.
    pub(super) fn savepoints(mut self, trigger: SavepointTrigger) -> Writer {
        self.savepoints = trigger;
        self
    }

    /// A savepoint asked for now: of the newest checkpoint this run committed — its state
    /// is the job's as of that epoch, as consistent as a new one, and an idle job may commit
    /// no other for long — or, before the first, of the next.
    fn savepoint_now(&mut self) -> Result<(), Error> {
        let latest = self.store.latest().map_err(checkpoint_error)?;
        match self.committed_here.filter(|&epoch| latest == Some(epoch)) {
            Some(epoch) => self.save_point(epoch),
            None => {
                self.savepoints.at_next_checkpoint();
                Ok(())
            }
        }
    }

    /// Keeps the committed checkpoint of `epoch` as a savepoint.
    fn save_point(&self, epoch: Time) -> Result<(), Error> {
        let path = self.store.save_point(epoch).map_err(checkpoint_error)?;
        eprintln!("sluice: savepoint of epoch {epoch}: {}", path.display());
        Ok(())
    }

    /// Records the size of `part`, for the checkpoint and for its operator's state.
    fn report_part(&self, part: &Part) {
        let bytes = part.frame.len() as u64;
        let mut checkpoints = self.metrics.checkpoints();
        checkpoints.part_written(part.epoch, bytes);
        if let Some(address) = lock(&self.operators).address(operator_of(&part.name)) {
            checkpoints.state_written(address, &part.name, bytes);
        }
    }

    /// Records that the checkpoint of `epoch` is complete here (committed, on process 0).
    fn report_complete(&self, epoch: Time) {
        let now = self.clock.now_ms();
        self.metrics.checkpoints().completed(epoch, now);
    }

    /// Starts the writer's thread; the first error it meets is put in `error`.
    pub(super) fn spawn(mut self, error: Arc<Mutex<Option<Error>>>) -> Result<WriterThread, Error> {
        let (sender, receiver) = sync_channel::<Order>(QUEUED_PARTS);
        let thread = std::thread::Builder::new()
            .name("sluice-checkpoints".into())
            .spawn(move || {
                for order in receiver {
                    let done = match order {
                        Order::Part(part) => self.write(part),
                        Order::Savepoint => self.savepoint_now(),
                        Order::Finished { completed } => self.finished(completed),
                    };
                    if let Err(e) = done {
                        lock(&error).get_or_insert(e);
                    }
                }
                // A savepoint still wanted is of the last checkpoint: on a graceful stop,
                // the one that covers everything read.
                if self.process == 0 && self.savepoints.take_any() {
                    match self.committed {
                        Some(epoch) => {
                            if let Err(e) = self.save_point(epoch) {
                                lock(&error).get_or_insert(e);
                            }
                        }
                        None => eprintln!(
                            "sluice: no checkpoint was committed, so there is no savepoint"
                        ),
                    }
                }
            })
            .map_err(|e| Error::Startup(format!("cannot start the checkpoint writer: {e}")))?;
        Ok(WriterThread { sender, thread })
    }

    /// See [`Order::Finished`].
    fn finished(&mut self, completed: bool) -> Result<(), Error> {
        if self.process != 0 {
            return self.store.mark_done(self.process).map_err(checkpoint_error);
        }
        if !completed || self.processes == 1 {
            return Ok(());
        }
        let deadline = Instant::now() + PEERS_DONE_WITHIN;
        while !(1..self.processes).all(|p| self.store.is_done(p)) {
            if Instant::now() > deadline {
                eprintln!(
                    "sluice: the other processes did not finish their checkpoints within {} s; \
                     the last one committed stands",
                    PEERS_DONE_WITHIN.as_secs()
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.commit_ready()
    }

    fn write(&mut self, part: Part) -> Result<(), Error> {
        self.report_part(&part);
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
            self.crash.part_written(self.committed.is_some());
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
                .write_part(epoch, &process_marker(self.process), &watermark)
                .map_err(checkpoint_error)?;
            self.awaiting.insert(epoch);
            if self.process != 0 {
                self.report_complete(epoch);
            }
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
                if !(0..self.processes).all(|p| parts.contains(&process_marker(p))) {
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
        metadata.version = self.version.clone();
        metadata.event_epoch = cut;
        metadata.inputs = self.inputs.clone();
        metadata.operators = lock(&self.operators).names();
        metadata.workers = self.workers * self.processes;
        metadata.processes = self.processes;
        let pending: BTreeSet<String> = self.store.pending_parts(newest).into_iter().collect();
        let sources = lock(&self.operators).of_kind(PartKind::Source);
        for source in sources {
            for worker in 0..self.workers * self.processes {
                let part = part_name(&source, worker);
                if !pending.contains(&part) {
                    continue;
                }
                // Offsets that are numbers are listed; a broker reader's position per
                // partition is not one, and stays in its part only.
                let offset = self.store.read_pending_part::<Option<u64>>(newest, &part);
                if let Ok(Some(offset)) = offset {
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
        self.committed_here = Some(newest);
        self.awaiting.retain(|&e| e > newest);
        self.report_complete(newest);
        if self.savepoints.take_next() {
            self.save_point(newest)?;
        }
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
                .read_pending_part(epoch, &process_marker(p))
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
                let part = part_name(&operator, worker);
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
