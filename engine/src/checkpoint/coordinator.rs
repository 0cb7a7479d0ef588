//! The job's side of checkpointing: the API its sources and operators call — which epochs to
//! take, what to restore, where to give their parts — and how an epoch is committed (the
//! protocol itself runs on the [`writer`](super::writer) thread).
//!
//! Epochs are the multiples of the checkpoint interval in the stream's own time (the records'
//! timestamps). Every stateful operator instance and every source instance gives one *part* per
//! epoch it takes ([`EpochGate`](crate::checkpointed::EpochGate) does this for operators): its state, encoded
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

use std::fmt;
use std::hash::Hash;
use std::ops::Range;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::Checkpointing;
use super::domain::Domain;
use super::part::{operator_of, part_name, process_marker, process_of};
use super::protocol::{self, Link};
use super::registry::{graph_recorder, Operators};
use super::store::read_metadata;
use super::writer::{Order, Part, Writer, WriterThread};
use super::{
    checkpoint_error, frame, lock, Checkpoint, CheckpointDir, Metadata, SavepointTrigger, Share,
};
use crate::clock::Clock;
use crate::error::Error;
use crate::hash::{groups_of, key_group};
use crate::metrics::Metrics;
use crate::time::Time;

/// The types of [`Coordinator::register`]'s and [`Coordinator::write`]'s arguments.
pub use super::part::{PartKind, PartOf};

/// How this process takes part in checkpoints.
pub struct Coordinator {
    config: Checkpointing,
    /// The checkpoint this run resumed from, once the processes agreed on it.
    restored: OnceLock<Option<Checkpoint>>,
    workers: usize,
    processes: usize,
    process: usize,
    /// The other processes, when there are any (see [`protocol`](super::protocol)).
    link: Option<Link>,
    /// The index of this process's first worker.
    first_worker: usize,
    store: CheckpointDir,
    /// The checkpointed operators and sources, and the dataflow graph that says their domains.
    operators: Arc<Mutex<Operators>>,
    /// Savepoints asked of the writer.
    savepoints: SavepointTrigger,
    /// Parts on their way to the writer thread; `None` once flushed.
    sender: Mutex<Option<SyncSender<Order>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The first error the writer met, reported to the job by the next part given.
    error: Arc<Mutex<Option<Error>>>,
    metrics: Metrics,
    clock: Clock,
}

/// What one process can resume from, as it tells process 0 (see [`Coordinator::join`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct View {
    process: usize,
    /// The epochs whose parts of this process check out, newest first.
    epochs: Vec<Time>,
    /// What it cannot resume from, and why: the epoch, if one, and the problem.
    problems: Vec<(Option<Time>, String)>,
    /// Why it cannot take part at all.
    error: Option<String>,
}

/// What process 0 decides every process resumes from.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Decision {
    /// The metadata (JSON) of the checkpoint to resume from; none to start afresh.
    metadata: Option<String>,
    warnings: Vec<String>,
    error: Option<String>,
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

/// What a restore of a part finds.
enum Found<'a> {
    /// No checkpoint, or one that does not know the part's operator (added since).
    Nothing,
    /// A checkpoint taken with as many workers as now: the part is this worker's own.
    Own(&'a Checkpoint),
    /// A checkpoint taken with another number of workers (`then`).
    Rescaled(&'a Checkpoint, usize),
}

impl Coordinator {
    /// Opens the checkpoint directory for a job of `workers` per process × `processes`, loads
    /// the newest valid checkpoint (refusing one of another program), and starts the writer,
    /// which reports into `metrics` with times of `clock`.
    pub fn open(
        config: Checkpointing,
        (workers, processes, process): (usize, usize, usize),
        metrics: Metrics,
        clock: Clock,
    ) -> Result<Coordinator, Error> {
        let store = CheckpointDir::open(&config.dir)
            .map_err(checkpoint_error)?
            .retain(config.retain);
        let coordinator = Coordinator {
            config,
            restored: OnceLock::new(),
            workers,
            processes,
            process,
            link: (processes > 1).then(Link::new),
            first_worker: process * workers,
            store,
            operators: Arc::new(Mutex::new(Operators::default())),
            savepoints: SavepointTrigger::default(),
            sender: Mutex::new(None),
            writer: Mutex::new(None),
            error: Arc::new(Mutex::new(None)),
            metrics,
            clock,
        };
        if processes == 1 {
            let decision = coordinator.decide(vec![coordinator.view()]);
            coordinator.resume(decision)?;
        }
        Ok(coordinator)
    }

    /// Joins the other processes, on each of this process's workers before it builds the
    /// job's dataflows: the processes agree on the checkpoint to resume from (each resumes
    /// it from its own directory; see [`protocol`](super::protocol)), then build the
    /// protocol's dataflow. Returns that dataflow's index; `None` with one process, which
    /// resumed when opened. An error if this process cannot resume (on its first worker; the
    /// others are told).
    pub fn join(
        self: &Arc<Self>,
        worker: &mut timely::worker::Worker,
    ) -> Result<Option<usize>, Error> {
        let Some(link) = self.link.as_ref() else {
            return Ok(None);
        };
        let first = worker.index() == self.first_worker;
        let (decider, resumer) = (self.clone(), self.clone());
        protocol::agree(
            worker,
            self.workers,
            first.then(|| self.view()),
            move |views| {
                let decision = decider.decide(views);
                (0..decider.processes)
                    .map(|p| (p, decision.clone()))
                    .collect()
            },
            move |decision| {
                if let Err(error) = resumer.resume(decision) {
                    lock(&resumer.error).get_or_insert(error);
                }
            },
        );
        let failed = first.then(|| lock(&self.error).take()).flatten();
        if let Some(error) = &failed {
            // The others resumed, and wait for this process's parts: tell them.
            for other in (0..self.processes).filter(|&p| p != self.process) {
                let (process, error) = (self.process, error.to_string());
                link.send(other, protocol::Message::Failed { process, error });
            }
            link.close();
        }
        let protocol = protocol::connect(worker, link, self.workers);
        match failed {
            Some(error) => Err(error),
            None => Ok(Some(protocol)),
        }
    }

    /// This worker has given every part: its job's dataflows have ended.
    pub fn worker_done(&self) {
        let _ = self.order(Order::WorkerDone);
    }

    /// The parts of `metadata`'s checkpoint this process checks and reads: its own, if the
    /// job has as many processes and workers as the checkpoint; every part for a rescale,
    /// which reads them all.
    fn own(&self, metadata: &Metadata) -> impl Fn(&str) -> bool {
        let same = metadata.processes == self.processes && metadata.workers == self.total_workers();
        let (process, per_process) = (self.process, self.workers);
        move |part: &str| !same || process_of(part, per_process) == Some(process)
    }

    /// What this process can resume from.
    fn view(&self) -> View {
        let mut view = View {
            process: self.process,
            epochs: Vec::new(),
            problems: Vec::new(),
            error: None,
        };
        if let Some(path) = &self.config.savepoint {
            let loaded = read_metadata(path)
                .and_then(|m| Checkpoint::load_parts(path.as_path(), &self.own(&m)));
            match loaded {
                Ok(savepoint) => view.epochs.push(savepoint.metadata.epoch),
                Err(e) => view.error = Some(e.to_string()),
            }
            return view;
        }
        let own =
            |metadata: &Metadata| -> Box<dyn Fn(&str) -> bool> { Box::new(self.own(metadata)) };
        let marker = (self.process != 0).then(|| process_marker(self.process));
        // A single process resumes from its newest; process 0 of several needs every epoch it
        // can, to find one that all have.
        let all = self.processes > 1;
        match self.store.restorable(&own, marker.as_deref(), all) {
            Ok((epochs, problems)) => {
                view.epochs = epochs;
                view.problems = problems;
            }
            Err(e) => view.error = Some(e.to_string()),
        }
        view
    }

    /// Process 0's decision, from every process's view: the newest epoch it committed that
    /// every process can resume from.
    fn decide(&self, mut views: Vec<View>) -> Decision {
        views.sort_by_key(|v| v.process);
        let fail = |error: String| Decision {
            metadata: None,
            warnings: Vec::new(),
            error: Some(error),
        };
        if let Some((process, error)) = views
            .iter()
            .find_map(|v| Some((v.process, v.error.clone()?)))
        {
            return fail(match self.processes {
                1 => error,
                _ => format!("process {process}: {error}"),
            });
        }
        let committed = views[0].epochs.clone();
        let chosen = committed
            .iter()
            .copied()
            .find(|e| views.iter().all(|v| v.epochs.contains(e)));
        let mut warnings = Vec::new();
        for view in &views {
            for (epoch, problem) in &view.problems {
                let who = match self.processes {
                    1 => String::new(),
                    _ => format!("process {}: ", view.process),
                };
                let falls_back = epoch.is_some_and(|e| chosen.is_some_and(|c| c < e));
                let then = if falls_back {
                    "; falling back to an older one"
                } else {
                    ""
                };
                warnings.push(format!("{who}{problem}{then}"));
            }
        }
        for &epoch in committed.iter().filter(|&&e| chosen.is_none_or(|c| e > c)) {
            for view in views.iter().filter(|v| !v.epochs.contains(&epoch)) {
                if view.problems.iter().all(|(e, _)| *e != Some(epoch)) {
                    warnings.push(format!(
                        "process {} has no usable part of the checkpoint of epoch {epoch}",
                        view.process
                    ));
                }
            }
        }
        if committed.is_empty() {
            for view in views.iter().filter(|v| !v.epochs.is_empty()) {
                warnings.push(format!(
                    "process 0 has no checkpoint, but process {} has (of epochs {:?}): is \
                     process 0's directory the one it wrote?",
                    view.process, view.epochs
                ));
            }
        }
        let Some(epoch) = chosen else {
            if !self.config.discard && !warnings.is_empty() {
                // Every committed checkpoint is damaged: starting from scratch would silently
                // count everything before them again, or lose it.
                return fail(format!(
                    "no usable checkpoint in {} ({}); --discard-checkpoint starts afresh",
                    self.config.dir.display(),
                    warnings.join("; ")
                ));
            }
            return Decision {
                metadata: None,
                warnings,
                error: None,
            };
        };
        let metadata = match &self.config.savepoint {
            Some(path) => read_metadata(path),
            None => self.store.metadata(epoch),
        };
        match metadata.map(|m| serde_json::to_string(&m)) {
            Ok(Ok(json)) => Decision {
                metadata: Some(json),
                warnings,
                error: None,
            },
            Ok(Err(e)) => fail(format!("cannot encode the checkpoint's metadata: {e}")),
            Err(e) => fail(e.to_string()),
        }
    }

    /// Resumes this process as `decision` says: loads its parts of the checkpoint — first
    /// promoting them if process 0 committed the epoch before this process could — clears
    /// what an earlier run left unfinished, and starts the writer.
    fn resume(&self, decision: Decision) -> Result<(), Error> {
        if let Some(error) = decision.error {
            return Err(Error::Checkpoint(error));
        }
        if self.process == 0 {
            for warning in &decision.warnings {
                eprintln!("sluice: {warning}");
            }
        }
        let restored = match decision.metadata {
            None => None,
            Some(json) => {
                let metadata: Metadata = serde_json::from_str(&json).map_err(|e| {
                    Error::Checkpoint(format!("process 0 sent unreadable metadata: {e}"))
                })?;
                Some(self.load(metadata)?)
            }
        };
        let restored = match restored {
            Some(c) if self.config.discard => {
                eprintln!(
                    "sluice: discarding the checkpoint of epoch {} in {}",
                    c.metadata.epoch,
                    self.config.dir.display()
                );
                None
            }
            Some(c) => {
                self.config
                    .check_compatible(&c, self.workers, self.processes)?;
                Some(c)
            }
            None => None,
        };
        // Process 0's marker is in every epoch of its directory, and of a shared one.
        let own_directory = self.process != 0
            && restored
                .as_ref()
                .is_some_and(|c| !c.dir.join(format!("{}.state", process_marker(0))).exists());
        // Event-time parts, pending epochs and done markers of an earlier run are not this
        // run's: a stale part would be committed with this run's. (Every process clears its
        // own before any writes: the processes agree first.)
        self.store
            .prune_event_parts(None)
            .map_err(checkpoint_error)?;
        self.store.clear_unfinished().map_err(checkpoint_error)?;
        let WriterThread { sender, thread } = Writer::new(
            &self.config,
            &self.store,
            self.workers,
            self.processes,
            self.process,
            self.operators.clone(),
            restored.as_ref().map(|c| c.metadata.epoch),
        )
        .reporting(self.metrics.clone(), self.clock.clone())
        .savepoints(self.savepoints.clone())
        .link(self.link.clone(), own_directory)
        .spawn(self.error.clone())?;
        *lock(&self.sender) = Some(sender);
        *lock(&self.writer) = Some(thread);
        if let Some(epoch) = restored.as_ref().map(|c| c.metadata.epoch) {
            eprintln!("sluice: resuming from the checkpoint of epoch {epoch}");
        }
        let _ = self.restored.set(restored);
        Ok(())
    }

    /// This process's parts of the checkpoint `metadata` describes (every part, to rescale),
    /// checked: from the savepoint, or from its committed epoch here — promoted first if it
    /// is still pending here.
    fn load(&self, metadata: Metadata) -> Result<Checkpoint, Error> {
        let own = self.own(&metadata);
        let dir = match &self.config.savepoint {
            Some(path) => path.clone(),
            None => {
                let committed = self.store.committed(metadata.epoch);
                // An epoch of this number committed here may be of a timeline the job left
                // (it went back to an older checkpoint, and process 0 committed the number
                // again): then this process's parts of process 0's epoch are the pending ones.
                let stale = committed.exists()
                    && read_metadata(&committed).ok().as_ref() != Some(&metadata);
                if stale && !self.store.pending(metadata.epoch).exists() {
                    return Err(Error::Checkpoint(format!(
                        "{} is not the checkpoint process 0 committed as epoch {}, and this \
                         process has no other",
                        committed.display(),
                        metadata.epoch
                    )));
                }
                if !committed.exists() || stale {
                    let index = self.store.event_index();
                    let copies: Vec<(String, std::path::PathBuf)> = match metadata.event_epoch {
                        Some(cut) => metadata
                            .parts
                            .keys()
                            .filter(|part| own(part))
                            .filter_map(|part| Some((part.clone(), index.find(part, cut)?.0)))
                            .collect(),
                        None => Vec::new(),
                    };
                    self.store
                        .promote(&metadata, &copies)
                        .map_err(checkpoint_error)?;
                }
                committed
            }
        };
        Checkpoint::load_parts(&dir, &own).map_err(|e| {
            let rescaling = metadata.workers != self.total_workers();
            Error::Checkpoint(match rescaling && self.processes > 1 {
                true => format!(
                    "{e}: a rescale reads every process's parts, so each process needs them                      all; with checkpoint directories the processes do not share, copy the                      epoch's parts of every process into each"
                ),
                false => e.to_string(),
            })
        })
    }

    /// Asks for a savepoint (see [`savepoint`](super::savepoint)): of the newest checkpoint
    /// this run committed (the next, before the first), or, `at_end`, of the last, as the job
    /// stops. Process 0 commits, so only its
    /// coordinator takes them; another's refuses.
    pub fn request_savepoint(&self, at_end: bool) -> Result<(), Error> {
        if self.first_worker != 0 {
            return Err(Error::Config(
                "savepoints are taken by process 0, which commits the checkpoints: ask it".into(),
            ));
        }
        if at_end {
            self.savepoints.at_end();
            Ok(())
        } else {
            self.order(Order::Savepoint)
        }
    }

    /// The checkpoint interval, ms of stream time.
    pub fn every(&self) -> Time {
        self.config.every
    }

    /// The epoch this run resumed from, if any.
    pub fn restored_epoch(&self) -> Option<Time> {
        self.restored().map(|c| c.metadata.epoch)
    }

    /// The checkpoint this run resumed from, if any.
    fn restored(&self) -> Option<&Checkpoint> {
        self.restored.get().and_then(Option::as_ref)
    }

    /// The newest committed epoch, as the checkpoint directory says now (any process's
    /// commit; `None` before the first). Output published only up to it is never taken back.
    pub fn committed_epoch(&self) -> Result<Option<Time>, Error> {
        self.store.latest().map_err(checkpoint_error)
    }

    /// The epoch this run resumed from in `domain`: the checkpoint's epoch, or its event-time
    /// cut.
    pub fn restored_epoch_in(&self, domain: Domain) -> Option<Time> {
        let metadata = &self.restored()?.metadata;
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

    /// What records the channels of the dataflows a worker builds into the dataflow graph,
    /// from which the coordinator knows which operators are in event time (see
    /// [`domain`](super::domain)): to be given every event of timely's log on every worker,
    /// from before its dataflows are built.
    pub fn graph_recorder(&self) -> impl FnMut(&timely::logging::TimelyEvent) + 'static {
        graph_recorder(self.operators.clone())
    }

    /// The domain of the checkpointed operator `operator`'s inputs (as registered, of
    /// [`PartKind::Operator`]: a source is in the sources' time by definition); an error naming
    /// it if they mix event time and the sources' time (which no cut can make consistent).
    pub fn domain_of(&self, operator: &str) -> Result<Domain, Error> {
        let operators = lock(&self.operators);
        let address = operators.address(operator).unwrap_or_default();
        operators
            .graph
            .domain(address)
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

    /// Declares a checkpointed instance of `kind` at `address` that `worker` builds now, of
    /// the kind `base`; returns its part name, from its uid or derived from `base` (see
    /// [`registry`](super::registry) for the names, [`part`](super::part) for the parts). An
    /// error if another instance on `worker` has the same name.
    pub fn register(
        &self,
        kind: PartKind,
        base: &str,
        address: &[usize],
        worker: usize,
    ) -> Result<String, Error> {
        let operator = lock(&self.operators).register(kind, base, address, worker)?;
        Ok(part_name(&operator, worker))
    }

    /// Names the next checkpointed instance `worker` builds `uid` (see
    /// [`Uid`](crate::checkpointed::Uid)).
    pub fn set_uid(&self, worker: usize, uid: &str) -> Result<(), Error> {
        lock(&self.operators).set_uid(worker, uid)
    }

    /// Checks what `worker` built, once its dataflows are built and before they run: a uid
    /// must have named an operator, and the restored checkpoint must hold no state of an
    /// operator the program no longer has (Flink's `--allowNonRestoredState` drops it).
    pub fn built(&self, worker: usize) -> Result<(), Error> {
        let mut operators = lock(&self.operators);
        operators.built(worker)?;
        let Some(checkpoint) = self.restored() else {
            return Ok(());
        };
        let saved = &checkpoint.metadata.operators;
        let removed: Vec<&str> = saved
            .iter()
            .filter(|name| !operators.is_on(name, worker))
            .map(String::as_str)
            .collect();
        if !removed.is_empty() && !self.config.allow_non_restored {
            return Err(Error::Config(format!(
                "the checkpoint in {} holds state of {}, which this program no longer has; \
                 --allow-non-restored-state drops it",
                checkpoint.dir.display(),
                removed.join(", ")
            )));
        }
        if worker == self.first_worker {
            for name in removed {
                eprintln!("sluice: dropping the checkpointed state of {name}, which this program no longer has");
            }
            for name in operators.names() {
                if !saved.contains(&name) {
                    eprintln!(
                        "sluice: {name} is not in the checkpoint: it starts with empty state"
                    );
                }
            }
        }
        Ok(())
    }

    /// The restored state of `part`, if this run resumed from a checkpoint that has it; `None`
    /// also for an operator the checkpoint does not know (one added to the program since).
    /// State kept per worker cannot follow a change of the number of workers: that is an
    /// error naming the operator (keyed state is restored with
    /// [`restore_keyed`](Self::restore_keyed)).
    pub fn restore<S: DeserializeOwned>(&self, part: &str) -> Result<Option<S>, Error> {
        match self.find(part)? {
            Found::Nothing => Ok(None),
            Found::Own(checkpoint) => self.read_part(checkpoint, part),
            Found::Rescaled(checkpoint, then) => Err(Error::Config(format!(
                "the checkpoint in {} holds the state of {} per worker, for {then} workers: it \
                 cannot be divided among {}; resume with {then} workers",
                checkpoint.dir.display(),
                operator_of(part),
                self.total_workers()
            ))),
        }
    }

    /// The restored keyed state of `part` — `(key, state)` pairs — for the worker that owns
    /// the key groups `groups` (see [`hash`](crate::hash)): its own part if the job has as
    /// many workers as when the checkpoint was taken; otherwise the keys of its groups, from
    /// every old part whose groups overlap them.
    pub fn restore_keyed<K: Hash + DeserializeOwned, S: DeserializeOwned>(
        &self,
        part: &str,
        groups: Range<u64>,
    ) -> Result<Option<Vec<(K, S)>>, Error> {
        let (checkpoint, then) = match self.find(part)? {
            Found::Nothing => return Ok(None),
            Found::Own(checkpoint) => return self.read_part(checkpoint, part),
            Found::Rescaled(checkpoint, then) => (checkpoint, then),
        };
        let mut mine = Vec::new();
        for old in 0..then {
            let theirs = groups_of(old, then);
            if theirs.start >= groups.end || groups.start >= theirs.end {
                continue;
            }
            let image: Option<Vec<(K, S)>> =
                self.read_part(checkpoint, &part_name(operator_of(part), old))?;
            mine.extend(
                image
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| groups.contains(&key_group(k))),
            );
        }
        Ok(Some(mine))
    }

    /// The restored state of `part` for `share`: its own part if the job has as many workers
    /// as when the checkpoint was taken; otherwise what `divide` makes of every old worker's
    /// part (see [`rescale`](super::rescale)) — its error refuses the restore, naming the
    /// operator.
    pub fn restore_divided<S: DeserializeOwned>(
        &self,
        part: &str,
        share: Share,
        divide: impl FnOnce(Vec<S>, Share) -> Result<S, String>,
    ) -> Result<Option<S>, Error> {
        let (checkpoint, then) = match self.find(part)? {
            Found::Nothing => return Ok(None),
            Found::Own(checkpoint) => return self.read_part(checkpoint, part),
            Found::Rescaled(checkpoint, then) => (checkpoint, then),
        };
        let operator = operator_of(part);
        let mut parts = Vec::with_capacity(then);
        for old in 0..then {
            parts.extend(self.read_part(checkpoint, &part_name(operator, old))?);
        }
        divide(parts, share).map(Some).map_err(|reason| {
            Error::Config(format!(
                "the checkpoint in {} holds the state of {operator} for {then} workers: it \
                 cannot be divided among {} ({reason}); resume with {then} workers",
                checkpoint.dir.display(),
                self.total_workers()
            ))
        })
    }

    /// What restoring `part` finds (see [`Found`]).
    fn find(&self, part: &str) -> Result<Found<'_>, Error> {
        let Some(checkpoint) = self.restored() else {
            return Ok(Found::Nothing);
        };
        let operator = operator_of(part);
        if !checkpoint.metadata.operators.iter().any(|o| o == operator) {
            return Ok(Found::Nothing);
        }
        let then = checkpoint.metadata.workers;
        Ok(if then == self.total_workers() {
            Found::Own(checkpoint)
        } else {
            Found::Rescaled(checkpoint, then)
        })
    }

    /// Workers in all processes of this job.
    fn total_workers(&self) -> usize {
        self.workers * self.processes
    }

    /// Decodes `part` of `checkpoint`; an error if the checkpoint lacks it.
    fn read_part<S: DeserializeOwned>(
        &self,
        checkpoint: &Checkpoint,
        part: &str,
    ) -> Result<Option<S>, Error> {
        if !checkpoint.metadata.parts.contains_key(part) {
            return Err(Error::Config(format!(
                "the checkpoint in {} has no state for {part}",
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
        self.order(Order::Part(part))
    }

    /// Gives the writer `order`; nothing once flushed.
    fn order(&self, order: Order) -> Result<(), Error> {
        match lock(&self.sender).as_ref() {
            Some(sender) => sender
                .send(order)
                .map_err(|_| Error::Checkpoint("the checkpoint writer has stopped".into())),
            None => Ok(()),
        }
    }

    /// Waits until every part given so far is written (and committed, if complete); reports
    /// the writer's first error. Called when the job ends, `completed` if without a failure:
    /// then process 0 waits for the other processes' last markers before its last commit.
    pub fn flush(&self, completed: bool) -> Result<(), Error> {
        let _ = self.order(Order::Finished { completed });
        drop(lock(&self.sender).take());
        if let Some(link) = &self.link {
            link.disconnect();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// source 1 → with_event_time 2 → window 3, on 2 workers.
    fn coordinator(dir: &std::path::Path) -> Coordinator {
        let coordinator = Coordinator::open(
            Checkpointing::new(dir, 100),
            (2, 1, 0),
            Metrics::default(),
            Clock::default(),
        )
        .unwrap();
        {
            let mut operators = coordinator.operators();
            operators.graph.add_channel(&[0], 1, 2);
            operators.graph.add_channel(&[0], 2, 3);
            operators.graph.add_event_time(&[0, 2]);
        }
        for (kind, name, node) in [
            (PartKind::Source, "file", 1),
            (PartKind::Operator, "wet", 2),
            (PartKind::Operator, "window", 3),
        ] {
            for worker in 0..2 {
                coordinator
                    .register(kind, name, &[0, node], worker)
                    .unwrap();
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
                part(&format!("source-file-w{w}"), Domain::Stream, None),
                &Some(7u64),
            )
            .unwrap();
        }
        c.write(1000, part("wet-w0", Domain::Stream, Some(1234)), &())
            .unwrap();
        c.write(1000, part("wet-w1", Domain::Stream, Some(250)), &())
            .unwrap();
        c.flush(true).unwrap();
        let (latest, _) = CheckpointDir::open(dir.path())
            .unwrap()
            .latest_valid()
            .unwrap();
        let latest = latest.expect("epoch 1000 committed");
        assert_eq!(latest.metadata.epoch, 1000);
        assert_eq!(latest.metadata.event_epoch, Some(200), "⌊min(1234, 250)⌋");
        let offsets: Vec<_> = latest.metadata.source_offsets.clone().into_iter().collect();
        assert_eq!(
            offsets,
            vec![("source-file-w0".into(), 7), ("source-file-w1".into(), 7)],
            "only the sources' parts are offsets"
        );
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
                part(&format!("source-file-w{w}"), Domain::Stream, None),
                &Some(7u64),
            )
            .unwrap();
            let wet = format!("wet-w{w}");
            c.write(1000, part(&wet, Domain::Stream, Some(300)), &())
                .unwrap();
        }
        c.flush(true).unwrap();
        let store = CheckpointDir::open(dir.path()).unwrap();
        assert_eq!(
            store.latest().unwrap(),
            None,
            "window-w1 has not reached 300"
        );
    }
}
