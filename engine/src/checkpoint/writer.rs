//! The checkpoint writer: one thread per process through which every part goes, and the commit
//! protocol it runs.
//!
//! Workers encode their parts and hand them over (see [`Coordinator`](super::Coordinator)); the
//! writer puts each on disk, counts the parts of each epoch, and once every instance of this
//! process has given one (or has finished, its last part standing in) leaves the process's
//! marker for the epoch and tells process 0. Process 0's writer commits the newest epoch every
//! process has completed, once the event-time parts of its cut are saved too (see
//! [`domain`](super::domain)), and tells the others, which promote their own parts of it (see
//! [`protocol`](super::protocol)).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::config::Checkpointing;
use super::crash::CrashHook;
use super::domain::Domain;
use super::part::{operator_of, part_name, process_marker, process_of, PartKind};
use super::protocol::{Link, Message};
use super::registry::Operators;
use super::store::{EventIndex, Saved};
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
    /// One of this process's workers has given every part (its job's dataflows have ended).
    /// When all have, another process tells process 0 so ([`Message::Done`]); process 0
    /// makes its last commit once every process has, then closes the protocol.
    WorkerDone,
    /// The job has ended, `completed` if without a failure: after a failure, nothing more is
    /// committed.
    Finished { completed: bool },
    /// A message from another process (see [`protocol`](super::protocol)).
    Peer(Message),
}

/// What process 0 knows of an epoch one process has completed.
struct Completion {
    watermark: Option<Time>,
    parts: Vec<(String, Saved)>,
    offsets: Vec<(String, u64)>,
}

/// The writer thread of a running job: where orders go, and the thread to join.
pub(super) struct WriterThread {
    pub(super) sender: SyncSender<Order>,
    pub(super) thread: JoinHandle<()>,
}

/// The writer thread's state: every part of this process goes through it, one at a time.
pub(super) struct Writer {
    /// The event-time parts this process has saved.
    events: EventIndex,
    /// The event-time parts the other processes have saved (process 0 only), as they said;
    /// their files are in this directory only if it is shared.
    remote_events: EventIndex,
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
    /// The epochs not yet committed that processes have completed (process 0 only).
    completions: BTreeMap<Time, BTreeMap<usize, Completion>>,
    /// The other processes, when there are any.
    link: Option<Link>,
    /// This process's workers that have given every part.
    workers_done: usize,
    /// The processes that have given every part (process 0 only).
    processes_done: BTreeSet<usize>,
    /// This process promoted a commit of process 0 in its own directory: it is not process
    /// 0's, so savepoints are kept here too.
    own_directory: bool,
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
            remote_events: EventIndex::of(store),
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
            completions: BTreeMap::new(),
            link: None,
            workers_done: 0,
            processes_done: BTreeSet::new(),
            own_directory: false,
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

    /// Talks to the other processes over `link`; `own_directory` if this process's checkpoint
    /// directory is not process 0's (savepoints are then kept here too).
    pub(super) fn link(mut self, link: Option<Link>, own_directory: bool) -> Writer {
        self.link = link;
        self.own_directory = own_directory;
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
            Some(epoch) => self.save_point_everywhere(epoch),
            None => {
                self.savepoints.at_next_checkpoint();
                Ok(())
            }
        }
    }

    /// Keeps the committed checkpoint of `epoch` as a savepoint here (process 0), and tells
    /// the other processes to keep their parts of it, in directories of their own.
    fn save_point_everywhere(&self, epoch: Time) -> Result<(), Error> {
        if let Some(link) = &self.link {
            for other in 1..self.processes {
                link.send(other, Message::SavePoint { epoch });
            }
        }
        self.save_point(epoch)
    }

    /// Keeps the committed checkpoint of `epoch` as a savepoint.
    fn save_point(&self, epoch: Time) -> Result<(), Error> {
        // In a directory of its own, a process has only its own parts.
        let (process, workers) = (self.process, self.workers);
        let mine = |part: &str| process_of(part, workers) == Some(process);
        let path = self
            .store
            .save_parts(epoch, &mine)
            .map_err(checkpoint_error)?;
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
        if let Some(link) = &self.link {
            let orders = sender.clone();
            link.deliver_to(move |message| {
                let _ = orders.send(Order::Peer(message));
            });
        }
        let thread = std::thread::Builder::new()
            .name("sluice-checkpoints".into())
            .spawn(move || {
                for order in receiver {
                    let done = match order {
                        Order::Part(part) => self.write(part),
                        Order::Savepoint => self.savepoint_now(),
                        Order::WorkerDone => self.worker_done(),
                        Order::Finished { completed } => self.finished(completed),
                        Order::Peer(message) => self.receive(message),
                    };
                    if let Err(e) = done {
                        self.fail(&e);
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

    /// See [`Order::WorkerDone`].
    fn worker_done(&mut self) -> Result<(), Error> {
        self.workers_done += 1;
        if self.workers_done < self.workers {
            return Ok(());
        }
        if self.process == 0 {
            self.done(0)
        } else {
            self.tell(Message::Done {
                process: self.process,
            });
            Ok(())
        }
    }

    /// Nothing more can be committed after `error`: every other process is told (once), so
    /// that the job ends everywhere, with an error, rather than wait for this process.
    fn fail(&mut self, error: &Error) {
        if let Some(link) = self.link.take() {
            for other in (0..self.processes).filter(|&p| p != self.process) {
                let (process, error) = (self.process, error.to_string());
                link.send(other, Message::Failed { process, error });
            }
            link.close();
        }
    }

    /// See [`Order::Finished`]: after a failure, the protocol ends here.
    fn finished(&mut self, completed: bool) -> Result<(), Error> {
        if !completed {
            if let Some(link) = &self.link {
                link.close();
            }
        }
        Ok(())
    }

    /// Process `process` has given every part (process 0 only): once all have, the last
    /// commit, and the protocol ends.
    fn done(&mut self, process: usize) -> Result<(), Error> {
        self.processes_done.insert(process);
        if self.processes_done.len() < self.processes {
            return Ok(());
        }
        let mut result = self.commit_ready();
        // A savepoint still wanted is of the last checkpoint: on a graceful stop, the one
        // that covers everything read (then every process keeps its own parts of it).
        if let Some(epoch) = self.committed.filter(|_| self.savepoints.take_any()) {
            result = result.and(self.save_point_everywhere(epoch));
        }
        if let Some(link) = &self.link {
            for other in 1..self.processes {
                link.send(other, Message::Close);
            }
            link.close();
        }
        result
    }

    /// Sends `message` to process 0.
    fn tell(&self, message: Message) {
        if let Some(link) = &self.link {
            link.send(0, message);
        }
    }

    /// What another process says.
    fn receive(&mut self, message: Message) -> Result<(), Error> {
        match message {
            Message::Completed {
                process,
                epoch,
                watermark,
                parts,
                offsets,
            } => {
                let completion = Completion {
                    watermark,
                    parts,
                    offsets,
                };
                self.completed(process, epoch, completion)
            }
            Message::EventSaved {
                part,
                epoch,
                last,
                saved,
            } => {
                self.remote_events.record(&part, epoch, last, saved);
                self.commit_ready()
            }
            Message::Done { process } => self.done(process),
            Message::Committed {
                metadata,
                savepoint,
            } => self.promote(&metadata, savepoint),
            Message::SavePoint { epoch } if self.own_directory => self.save_point(epoch),
            Message::SavePoint { .. } => Ok(()),
            Message::Close => {
                if let Some(link) = &self.link {
                    link.close();
                }
                Ok(())
            }
            Message::Failed { process, error } => Err(Error::Checkpoint(format!(
                "process {process} failed: {error}"
            ))),
        }
    }

    /// Process 0 committed the epoch of `metadata` (JSON): this process commits its own parts
    /// of it, in its own directory (nothing to do in a shared one).
    fn promote(&mut self, metadata: &str, savepoint: bool) -> Result<(), Error> {
        let metadata: Metadata = serde_json::from_str(metadata)
            .map_err(|e| Error::Checkpoint(format!("process 0 sent unreadable metadata: {e}")))?;
        let epoch = metadata.epoch;
        let copies: Vec<(String, PathBuf)> = match metadata.event_epoch {
            Some(cut) => self
                .own_parts(&metadata)
                .filter_map(|part| Some((part.clone(), self.events.find(part, cut)?.0)))
                .collect(),
            None => Vec::new(),
        };
        let promoted = self
            .store
            .promote(&metadata, &copies)
            .map_err(checkpoint_error)?;
        if let Some(cut) = metadata.event_epoch {
            self.store
                .prune_event_parts(Some(cut))
                .map_err(checkpoint_error)?;
            self.events.prune(cut);
        }
        self.committed = Some(epoch);
        self.own_directory |= promoted;
        if promoted && savepoint {
            self.save_point(epoch)?;
        }
        Ok(())
    }

    /// The parts of this process's event-time operators that `metadata` lists.
    fn own_parts<'m>(&self, metadata: &'m Metadata) -> impl Iterator<Item = &'m String> + 'm {
        let (process, workers) = (self.process, self.workers);
        let event: BTreeSet<String> = lock(&self.operators)
            .of(Domain::Event)
            .into_iter()
            .collect();
        metadata.parts.keys().filter(move |part| {
            process_of(part, workers) == Some(process) && event.contains(operator_of(part))
        })
    }

    fn write(&mut self, part: Part) -> Result<(), Error> {
        self.report_part(&part);
        if part.domain == Domain::Event {
            if let Some(epoch) = part.epoch {
                self.store
                    .write_event_part_frame(epoch, &part.name, &part.frame, part.last)
                    .map_err(checkpoint_error)?;
                let saved = Saved::of(&part.frame);
                self.events.record(&part.name, epoch, part.last, saved);
                if self.process != 0 {
                    self.tell(Message::EventSaved {
                        part: part.name.clone(),
                        epoch,
                        last: part.last,
                        saved,
                    });
                }
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
            let marker = process_marker(self.process);
            self.store
                .write_part(epoch, &marker, &watermark)
                .map_err(checkpoint_error)?;
            let completion = self.completion(epoch, parts, marker, watermark)?;
            if self.process == 0 {
                self.completed(0, epoch, completion)?;
            } else {
                self.report_complete(epoch);
                self.tell(Message::Completed {
                    process: self.process,
                    epoch,
                    watermark: completion.watermark,
                    parts: completion.parts,
                    offsets: completion.offsets,
                });
            }
        }
        Ok(())
    }

    /// What this process completed of `epoch`: its parts there (`written`, the finished
    /// instances' stand-ins, and `marker`) with their sizes and checksums, and its sources'
    /// offsets.
    fn completion(
        &self,
        epoch: Time,
        written: BTreeSet<String>,
        marker: String,
        watermark: Option<Time>,
    ) -> Result<Completion, Error> {
        let stand_ins = self
            .finished
            .iter()
            .filter(|(name, (from, ..))| epoch >= *from && !written.contains(*name))
            .map(|(name, _)| name.clone());
        let names: BTreeSet<String> = written.iter().cloned().chain(stand_ins).collect();
        let mut parts = Vec::with_capacity(names.len() + 1);
        for name in names.into_iter().chain([marker]) {
            let saved = self
                .store
                .pending_summary(epoch, &name)
                .map_err(checkpoint_error)?;
            parts.push((name, saved));
        }
        let sources = lock(&self.operators).of_kind(PartKind::Source);
        let local = self.process * self.workers..(self.process + 1) * self.workers;
        let mut offsets = Vec::new();
        for source in sources {
            for worker in local.clone() {
                let part = part_name(&source, worker);
                if !parts.iter().any(|(name, _)| *name == part) {
                    continue;
                }
                // Offsets that are numbers are listed; a broker reader's position per
                // partition is not one, and stays in its part only.
                let offset = self.store.read_pending_part::<Option<u64>>(epoch, &part);
                if let Ok(Some(offset)) = offset {
                    offsets.push((part, offset));
                }
            }
        }
        Ok(Completion {
            watermark,
            parts,
            offsets,
        })
    }

    /// Process `process` has completed `epoch` (process 0 only).
    fn completed(
        &mut self,
        process: usize,
        epoch: Time,
        completion: Completion,
    ) -> Result<(), Error> {
        if self.committed.is_none_or(|c| epoch > c) {
            self.completions
                .entry(epoch)
                .or_default()
                .insert(process, completion);
        }
        self.commit_ready()
    }

    /// Commits the newest epoch every process has completed (process 0 only).
    fn commit_ready(&mut self) -> Result<(), Error> {
        if self.process != 0 {
            return Ok(());
        }
        let floor = self.committed;
        self.completions.retain(|&e, _| floor.is_none_or(|f| e > f));
        let mut ready = None;
        for (&epoch, by_process) in self.completions.iter().rev() {
            if by_process.len() < self.processes {
                continue;
            }
            let cut = self.cut_of(by_process);
            if let Some(event_parts) = self.event_parts(cut) {
                ready = Some((epoch, cut, event_parts));
                break;
            }
        }
        let Some((newest, cut, event_parts)) = ready else {
            return Ok(());
        };
        let mut metadata = Metadata::new(&self.program, &self.fingerprint, newest);
        metadata.version = self.version.clone();
        metadata.event_epoch = cut;
        metadata.inputs = self.inputs.clone();
        metadata.operators = lock(&self.operators).names();
        metadata.workers = self.workers * self.processes;
        metadata.processes = self.processes;
        for completion in self.completions[&newest].values() {
            for (part, saved) in &completion.parts {
                metadata.parts.insert(part.clone(), saved.bytes);
                metadata.checksums.insert(part.clone(), saved.crc);
            }
            metadata
                .source_offsets
                .extend(completion.offsets.iter().cloned());
        }
        for (part, path, saved) in &event_parts {
            // Another process's part is here only if the directory is shared; if not, that
            // process copies it in when it promotes the epoch.
            if path.exists() {
                self.store
                    .copy_into_pending(newest, part, path)
                    .map_err(checkpoint_error)?;
            }
            metadata.parts.insert(part.clone(), saved.bytes);
            metadata.checksums.insert(part.clone(), saved.crc);
        }
        self.store
            .commit(metadata.clone())
            .map_err(checkpoint_error)?;
        if let Some(cut) = cut {
            self.store
                .prune_event_parts(Some(cut))
                .map_err(checkpoint_error)?;
            self.events.prune(cut);
            self.remote_events.prune(cut);
        }
        self.committed = Some(newest);
        self.committed_here = Some(newest);
        self.completions.retain(|&e, _| e > newest);
        self.report_complete(newest);
        let savepoint = self.savepoints.take_next();
        if let Some(link) = &self.link {
            let json = serde_json::to_string(&metadata)
                .map_err(|e| Error::Checkpoint(format!("cannot encode the metadata: {e}")))?;
            for other in 1..self.processes {
                link.send(
                    other,
                    Message::Committed {
                        metadata: json.clone(),
                        savepoint,
                    },
                );
            }
        }
        if savepoint {
            self.save_point(newest)?;
        }
        Ok(())
    }
}

/// An event-time part standing for a cut: its name, its file here, and its summary.
type EventPart = (String, PathBuf, Saved);

impl Writer {
    /// The event-time cut of an epoch every process has completed: the lowest watermark any
    /// process's `with_event_time` instances had at it, rounded down to an epoch; `None` if
    /// the program has no event time.
    fn cut_of(&self, by_process: &BTreeMap<usize, Completion>) -> Option<Time> {
        let lowest = by_process.values().filter_map(|c| c.watermark).min()?;
        Some(lowest / self.every * self.every)
    }

    /// The event-time parts that stand for `cut`, if every one has got that far (`Some` of
    /// none without a cut): this process's saves, and what the others said of theirs.
    fn event_parts(&self, cut: Option<Time>) -> Option<Vec<EventPart>> {
        let Some(cut) = cut else {
            return Some(Vec::new());
        };
        let local = self.process * self.workers..(self.process + 1) * self.workers;
        let mut parts = Vec::new();
        for operator in lock(&self.operators).of(Domain::Event) {
            for worker in 0..self.workers * self.processes {
                let part = part_name(&operator, worker);
                let index = match local.contains(&worker) {
                    true => &self.events,
                    false => &self.remote_events,
                };
                let (path, saved) = index.find(&part, cut)?;
                parts.push((part, path, saved));
            }
        }
        Some(parts)
    }
}
