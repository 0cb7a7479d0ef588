//! Snapshots by frontier, for one stateful operator instance.
//!
//! A checkpoint of epoch `E` must hold exactly the effect of the records before `E`. Timely may
//! hand an operator records of a later time before those of an earlier one are all in, so an
//! [`EpochGate`] holds back the records at or after the next epoch. Once the input frontier has
//! passed the epoch, everything before it has been applied and nothing after it: the operator
//! saves its state, and the held records are released. No barriers flow through the dataflow —
//! timely's progress tracking already says when an epoch is complete.
//!
//! When the frontier jumps over several epochs with nothing held in between, the state is the
//! same for all of them, and only the last is written. Without checkpointing a gate holds
//! nothing and costs a branch.
//!
//! The epochs are those of the operator's input times: the sources' time, or event time
//! downstream of `with_event_time` (see [`domain`](super::domain)). A gate learns which at its
//! first use, once the dataflow is built; the operator's code is the same either way.
//!
//! ```ignore
//! input.for_each_stamp(|cap, data| {
//!     let records = data.flat_map(|batch| batch.drain(..));
//!     if let Some(records) = gate.admit(&cap, records) {
//!         apply(&cap.retain_least(0).unwrap(), records);   // or straight into a session
//!     }
//! });
//! while let Some(epoch) = gate.due(frontier) {
//!     gate.save(epoch, &state);
//!     for (cap, records) in gate.release() { apply(&cap, records) }
//! }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::operators::{Capability, InputCapability};
use timely::progress::frontier::MutableAntichain;

use super::coordinator::{Coordinator, PartKind, PartOf};
use super::domain::Domain;
use crate::job::JobContext;
use crate::stream::Scope;
use crate::time::Time;

/// One operator instance's checkpoints; see the module docs.
pub struct EpochGate<D> {
    checkpoint: Option<Gate>,
    job: JobContext,
    /// Held records by time, with a capability at that time for each output.
    held: BTreeMap<Time, (Vec<Capability<Time>>, Vec<D>)>,
    outputs: usize,
}

struct Gate {
    coordinator: Arc<Coordinator>,
    operator: String,
    part: String,
    /// The domain of the epochs this instance saves at, and the next epoch to save: every
    /// record before it has been applied. Known once the dataflow is built (see
    /// [`domain`](super::domain)), so found at first use.
    resolved: Option<(Domain, Time)>,
    job: JobContext,
}

impl Gate {
    fn domain(&mut self) -> Domain {
        self.resolve().0
    }

    fn next(&mut self) -> Time {
        self.resolve().1
    }

    fn set_next(&mut self, next: Time) {
        let domain = self.domain();
        self.resolved = Some((domain, next));
    }

    fn resolve(&mut self) -> (Domain, Time) {
        if let Some(resolved) = self.resolved {
            return resolved;
        }
        let domain = match self.coordinator.domain_of(&self.operator) {
            Ok(domain) => domain,
            Err(error) => {
                self.job.fail(error);
                Domain::Stream
            }
        };
        let restored = self.coordinator.restored_epoch_in(domain).unwrap_or(0);
        let resolved = (domain, self.coordinator.epoch_after(restored));
        self.resolved = Some(resolved);
        resolved
    }

    /// Gives this instance's state as of `epoch` (its last, standing from `last` on, if given).
    fn write<S: Serialize + ?Sized>(
        &mut self,
        epoch: Time,
        state: &S,
        watermark: Option<Time>,
        last: Option<Time>,
    ) -> Result<(), crate::error::Error> {
        let domain = self.domain();
        let of = PartOf {
            name: &self.part,
            domain,
            watermark,
        };
        match last {
            Some(valid_from) => self.coordinator.finish(Some(epoch), valid_from, of, state),
            None => self.coordinator.write(epoch, of, state),
        }
    }
}

impl<D> EpochGate<D> {
    /// The gate of the operator `name` at `address` on this worker; inert without checkpointing.
    pub fn new(scope: Scope<'_>, name: &str, address: &[usize]) -> Self {
        Self::of_kind(scope, PartKind::Operator, name, address)
    }

    /// The gate of the checkpointed instance of `kind` named `name` at `address`.
    fn of_kind(scope: Scope<'_>, kind: PartKind, name: &str, address: &[usize]) -> Self {
        let job = JobContext::of(scope);
        let checkpoint = job.checkpoints().map(|coordinator| {
            let id = address
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(".");
            let operator = format!("{name}@{id}");
            let part = coordinator.register(kind, &operator, address, scope.index());
            Gate {
                coordinator,
                operator,
                part,
                resolved: None,
                job: job.clone(),
            }
        });
        EpochGate {
            checkpoint,
            job,
            held: BTreeMap::new(),
            outputs: 1,
        }
    }

    /// For an operator with `outputs` outputs: held records keep a capability for each (see
    /// [`release_for_outputs`](Self::release_for_outputs)); with 0 — for an operator whose
    /// outputs are not connected to its input's times, as `with_event_time`'s — none.
    pub fn with_outputs(mut self, outputs: usize) -> Self {
        self.outputs = outputs;
        self
    }

    /// The state this instance had at the restored checkpoint, if the job resumed from one.
    pub fn restore<S: DeserializeOwned>(&self) -> Option<S> {
        let gate = self.checkpoint.as_ref()?;
        match gate.coordinator.restore(&gate.part) {
            Ok(state) => state,
            Err(error) => {
                self.job.fail(error);
                None
            }
        }
    }

    /// With checkpointing and no checkpoint to restore: the state this instance had when the
    /// job first started in the checkpoint directory, recording `now` if this is that start
    /// (see [`Coordinator::initial`]). Without checkpointing: `now`. `None` if it could not be
    /// read or recorded (the job is failed with the reason).
    pub fn initial<S: Serialize + DeserializeOwned>(&self, now: S) -> Option<S> {
        let Some(gate) = self.checkpoint.as_ref() else {
            return Some(now);
        };
        match gate.coordinator.initial(&gate.part, now) {
            Ok(state) => Some(state),
            Err(error) => {
                self.job.fail(error);
                None
            }
        }
    }

    /// Lets `records` at `cap`'s time through, or holds them until the next epoch is saved.
    pub fn admit(
        &mut self,
        cap: &InputCapability<Time>,
        records: impl Iterator<Item = D>,
    ) -> Option<impl Iterator<Item = D>> {
        let t = *cap.least().expect("a Vec message has one time");
        let next = self.checkpoint.as_mut().map(Gate::next);
        match next {
            Some(next) if t >= next => {
                let outputs = self.outputs;
                let (_, held) = self.held.entry(t).or_insert_with(|| {
                    let caps = (0..outputs).map(|port| cap.delayed(&t, port)).collect();
                    (caps, Vec::new())
                });
                held.extend(records);
                None
            }
            _ => Some(records),
        }
    }

    /// The time from which records may be held back: every record before it that the
    /// frontier has passed has been applied, and none at or after it need have been. An
    /// operator with two inputs, whose frontiers can each be ahead of it, takes what the other
    /// input's frontier has passed only below it. Without checkpointing, `Time::MAX`.
    pub fn holds_from(&mut self) -> Time {
        self.checkpoint.as_mut().map_or(Time::MAX, Gate::next)
    }

    /// The epoch to save now, if the frontier has passed the next one: every record before
    /// it has been applied. When the frontier has passed several epochs with nothing held
    /// between them, the state is the same for all of them and the last is the one to save.
    /// Anything the operator emits at times before the epoch (windows ending by it) must be
    /// emitted before it saves, so that the snapshot holds only what comes after.
    pub fn due(&mut self, frontier: &MutableAntichain<Time>) -> Option<Time> {
        let last = self.is_last(frontier);
        let gate = self.checkpoint.as_mut()?;
        let next = gate.next();
        let reached = frontier
            .frontier()
            .iter()
            .min()
            .copied()
            .unwrap_or(Time::MAX);
        if next == Time::MAX || reached < next {
            return None;
        }
        if last {
            return Some(next);
        }
        let every = gate.coordinator.every();
        let next_held = self.held.keys().next().copied().unwrap_or(Time::MAX);
        Some((reached.min(next_held) / every * every).max(next))
    }

    /// For an operator that applies whole batches in time order (the micro-batch layer): the
    /// epoch to save *before* applying the batch at `t`, if the next epoch is at or before it.
    /// Everything before the batch has been applied, and nothing from it on.
    pub fn due_before(&mut self, t: Time) -> Option<Time> {
        let gate = self.checkpoint.as_mut()?;
        let next = gate.next();
        if next > t {
            return None;
        }
        let every = gate.coordinator.every();
        Some((t / every * every).max(next))
    }

    /// Saves `state` as of `epoch` (from [`due_before`](Self::due_before)); never the last save,
    /// since a batch is still to be applied.
    pub fn save_before<S: Serialize + ?Sized>(&mut self, epoch: Time, state: &S) {
        let Some(gate) = self.checkpoint.as_mut() else {
            return;
        };
        gate.set_next(epoch + gate.coordinator.every());
        if self.job.is_aborted() {
            return; // see `save`
        }
        if let Err(error) = gate.write(epoch, state, None, None) {
            self.job.fail(error);
        }
    }

    /// Whether the next save is the last: the input has ended and nothing is held back, so the
    /// state is final, and stands for every later epoch.
    pub fn is_last(&self, frontier: &MutableAntichain<Time>) -> bool {
        frontier.is_empty() && self.held.is_empty()
    }

    /// Saves `state` as of `epoch` (from [`due`](Self::due)) and moves on to the next epoch.
    pub fn save<S: Serialize + ?Sized>(
        &mut self,
        epoch: Time,
        state: &S,
        frontier: &MutableAntichain<Time>,
    ) {
        self.save_with_watermark(epoch, state, frontier, None);
    }

    /// [`save`](Self::save) for `with_event_time`, whose watermark as of the epoch decides
    /// the checkpoint's event-time cut (see [`domain`](super::domain)).
    pub fn save_with_watermark<S: Serialize + ?Sized>(
        &mut self,
        epoch: Time,
        state: &S,
        frontier: &MutableAntichain<Time>,
        watermark: Option<Time>,
    ) {
        let last = self.is_last(frontier);
        let Some(gate) = self.checkpoint.as_mut() else {
            return;
        };
        gate.set_next(if last {
            Time::MAX
        } else {
            epoch + gate.coordinator.every()
        });
        if self.job.is_aborted() {
            // An aborted job (Flink's cancel, Spark's non-graceful stop) takes no more
            // checkpoints: its sources stopped mid-stream, and what it drains is no cut of the
            // input. A restart resumes from the last checkpoint taken before.
            return;
        }
        // Once the input has ended and everything is applied, this state stands for every
        // later epoch.
        if let Err(error) = gate.write(epoch, state, watermark, last.then_some(epoch)) {
            self.job.fail(error);
        }
    }

    /// The event-time cut below which no checkpoint will ever cut again (see
    /// [`Coordinator::event_floor`]); 0 without checkpointing.
    pub fn event_floor(&self) -> Time {
        let Some(gate) = self.checkpoint.as_ref() else {
            return 0;
        };
        gate.coordinator.event_floor().unwrap_or_else(|error| {
            self.job.fail(error);
            0
        })
    }

    /// The restored checkpoint's event-time cut, if the job resumed from one.
    pub fn restored_event_epoch(&self) -> Option<Time> {
        let gate = self.checkpoint.as_ref()?;
        gate.coordinator.restored_epoch_in(Domain::Event)
    }

    /// Drops every held record and its capabilities: an aborted job's operator gives up.
    pub fn discard(&mut self) {
        self.held.clear();
    }

    /// The held records now before the next epoch, in time order, with their capabilities.
    pub fn release(&mut self) -> Vec<(Capability<Time>, Vec<D>)> {
        self.release_for_outputs()
            .into_iter()
            .map(|(mut caps, records)| (caps.swap_remove(0), records))
            .collect()
    }

    /// [`release`](Self::release) with a capability for each of the operator's outputs.
    pub fn release_for_outputs(&mut self) -> Vec<(Vec<Capability<Time>>, Vec<D>)> {
        let Some(gate) = self.checkpoint.as_mut() else {
            return Vec::new();
        };
        let later = self.held.split_off(&gate.next());
        std::mem::replace(&mut self.held, later)
            .into_values()
            .collect()
    }
}

/// A source instance's checkpoints: its replay offset as of each epoch its time passes.
pub struct SourceEpochs {
    gate: Option<Gate>,
    job: JobContext,
}

impl SourceEpochs {
    /// The checkpoints of the source `name` at `address` on this worker; inert without
    /// checkpointing.
    pub fn new(scope: Scope<'_>, name: &str, address: &[usize]) -> Self {
        let mut gate = EpochGate::<()>::of_kind(scope, PartKind::Source, name, address);
        if let Some(gate) = gate.checkpoint.as_mut() {
            // A source is in the stream domain by definition; no need to wait for the graph.
            let restored = gate.coordinator.restored_epoch().unwrap_or(0);
            gate.resolved = Some((Domain::Stream, gate.coordinator.epoch_after(restored)));
        }
        SourceEpochs {
            gate: gate.checkpoint,
            job: gate.job,
        }
    }

    /// The offset this instance had reached at the restored checkpoint, if any.
    pub fn restored_offset(&self) -> Option<u64> {
        let gate = self.gate.as_ref()?;
        match gate.coordinator.restore::<Option<u64>>(&gate.part) {
            Ok(offset) => offset.flatten(),
            Err(error) => {
                self.job.fail(error);
                None
            }
        }
    }

    /// The time the source must start from: that of the restored checkpoint's cut, else 0.
    pub fn start(&self) -> Time {
        let epoch = self
            .gate
            .as_ref()
            .and_then(|g| g.coordinator.restored_epoch());
        match (epoch, self.job.tick()) {
            // Batch E holds what arrived from E − interval on.
            (Some(epoch), Some(interval)) => epoch.saturating_sub(interval),
            (epoch, _) => epoch.unwrap_or(0),
        }
    }

    /// Where a source at time `t` cuts the stream. Natively that is `t` itself; in micro-batch
    /// mode (the job has a batch tick) records are re-stamped with the end of the batch they
    /// arrive in, so a source at `t` stands between batch `⌈t⌉` (still filling) and the ones
    /// before it: its offset at `t` belongs to the epoch of that batch.
    fn cut(&self, t: Time) -> Time {
        match self.job.tick() {
            Some(interval) => (t / interval + 1) * interval,
            None => t,
        }
    }

    /// The source's time moves to `now`, having emitted everything before `offset`: that is
    /// its offset as of every epoch in between (the last of them is written).
    pub fn advance(&mut self, now: Time, offset: Option<u64>) {
        let now = self.cut(now);
        let Some(gate) = self.gate.as_mut() else {
            return;
        };
        if now < gate.next() {
            return;
        }
        let every = gate.coordinator.every();
        let last = now / every * every;
        gate.set_next(last + every);
        if self.job.is_aborted() {
            return; // see `EpochGate::save`
        }
        if let Err(error) = gate.write(last, &offset, None, None) {
            self.job.fail(error);
        }
    }

    /// The source has ended at `offset`, having emitted its last records at `time` (or has no
    /// part on this worker: `time` 0, `offset` none).
    pub fn finish(&mut self, time: Time, offset: Option<u64>) {
        let valid_from = self.cut(time) + 1;
        if let Some(gate) = self.gate.take().filter(|_| !self.job.is_aborted()) {
            let of = PartOf {
                name: &gate.part,
                domain: Domain::Stream,
                watermark: None,
            };
            let finish = gate.coordinator.finish(None, valid_from, of, &offset);
            if let Err(error) = finish {
                self.job.fail(error);
            }
        }
    }
}
