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
//! downstream of `with_event_time` (see [`domain`](crate::checkpoint::domain)). A gate learns
//! which at its first use, once the dataflow is built; the operator's code is the same either
//! way.
//!
//! The protocol is written once, here: [`arrive`](EpochGate::arrive) applies what the gate lets
//! through, and [`settle`](EpochGate::settle) saves each epoch the frontier has passed — after
//! the operator's [`close_before`](super::Checkpointed::close_before) — and applies what the
//! gate then releases, the same way again. An operator that applies whole batches in time order
//! (the micro-batch layer) saves with [`before_batch`](EpochGate::before_batch) and
//! [`after_batches`](EpochGate::after_batches) instead, and holds nothing.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::operators::{Capability, InputCapability};
use timely::progress::frontier::MutableAntichain;

use super::logic::{At, Checkpointed, Frontiers, Saving};
use crate::checkpoint::coordinator::{Coordinator, PartKind, PartOf};
use crate::checkpoint::domain::Domain;
use crate::checkpoint::part::operator_of;
use crate::checkpoint::rescale::{Rescale, Share};
use crate::job::JobContext;
use crate::stream::Scope;
use crate::time::Time;

/// One operator instance's checkpoints; see the module docs.
pub struct EpochGate<D> {
    pub(super) checkpoint: Option<Gate>,
    pub(super) job: JobContext,
    /// Held records by time, with a capability at that time for each output.
    held: BTreeMap<Time, (Vec<Capability<Time>>, Vec<D>)>,
    outputs: usize,
}

/// The checkpointing side of a gate (absent without checkpointing); sources share it.
pub(super) struct Gate {
    pub(super) coordinator: Arc<Coordinator>,
    operator: String,
    pub(super) part: String,
    /// The domain of the epochs this instance saves at, and the next epoch to save: every
    /// record before it has been applied. Known once the dataflow is built (see
    /// [`domain`](crate::checkpoint::domain)), so found at first use.
    pub(super) resolved: Option<(Domain, Time)>,
    /// This worker among all: which state is its own after a rescale (see
    /// [`rescale`](crate::checkpoint::rescale)).
    pub(super) share: Share,
    job: JobContext,
}

impl Gate {
    fn domain(&mut self) -> Domain {
        self.resolve().0
    }

    pub(super) fn next(&mut self) -> Time {
        self.resolve().1
    }

    pub(super) fn set_next(&mut self, next: Time) {
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
    pub(super) fn write<S: Serialize + ?Sized>(
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
    pub(super) fn of_kind(scope: Scope<'_>, kind: PartKind, name: &str, address: &[usize]) -> Self {
        let job = JobContext::of(scope);
        let checkpoint = job.checkpoints().and_then(|coordinator| {
            let part = match coordinator.register(kind, name, address, scope.index()) {
                Ok(part) => part,
                Err(error) => {
                    job.refuse(error);
                    return None;
                }
            };
            let operator = operator_of(&part).to_string();
            Some(Gate {
                coordinator,
                operator,
                part,
                resolved: None,
                share: Share::new(scope.index(), scope.peers()),
                job: job.clone(),
            })
        });
        EpochGate {
            checkpoint,
            job,
            held: BTreeMap::new(),
            outputs: 1,
        }
    }

    /// For an operator with `outputs` outputs: held records keep a capability for each, which
    /// their [`At`] hands out when they are released; with 0 — for an operator whose outputs
    /// are not connected to its input's times, as `with_event_time`'s — none.
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
                self.job.refuse(error);
                None
            }
        }
    }

    /// The keyed state — `(key, state)` pairs — this instance's key groups had at the
    /// restored checkpoint, if the job resumed from one: also when it had another number of
    /// workers then (see [`Coordinator::restore_keyed`]).
    pub fn restore_keyed<K, S>(&self) -> Option<Vec<(K, S)>>
    where
        K: Hash + DeserializeOwned,
        S: DeserializeOwned,
    {
        let gate = self.checkpoint.as_ref()?;
        match gate
            .coordinator
            .restore_keyed(&gate.part, gate.share.groups())
        {
            Ok(state) => state,
            Err(error) => {
                self.job.refuse(error);
                None
            }
        }
    }

    /// The state this instance had at the restored checkpoint, if the job resumed from one:
    /// also when it had another number of workers then, divided as `S` says (see
    /// [`rescale`](crate::checkpoint::rescale)).
    pub fn restore_rescaled<S: DeserializeOwned + Rescale>(&self) -> Option<S> {
        self.restore_divided(S::rescale)
    }

    /// The state this instance had at the restored checkpoint, if the job resumed from one:
    /// also when it had another number of workers then, divided by `divide` (which gets
    /// every old worker's state and this worker's share, and refuses with a reason).
    pub fn restore_divided<S: DeserializeOwned>(
        &self,
        divide: impl FnOnce(Vec<S>, Share) -> Result<S, String>,
    ) -> Option<S> {
        let gate = self.checkpoint.as_ref()?;
        match gate
            .coordinator
            .restore_divided(&gate.part, gate.share, divide)
        {
            Ok(state) => state,
            Err(error) => {
                self.job.refuse(error);
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

    /// Takes in `records` that arrived with `cap`: applies them through `logic` now, or holds
    /// them until the next epoch is saved (see [`settle`](Self::settle)).
    pub fn arrive<O, L: Checkpointed<O, Record = D>>(
        &mut self,
        cap: &InputCapability<Time>,
        records: impl Iterator<Item = D>,
        logic: &mut L,
        out: &mut O,
    ) {
        if let Some(records) = self.admit(cap, records) {
            logic.apply(&At::Arrived(cap), records, out);
        }
    }

    /// Saves every epoch the frontier of all inputs has passed — first letting `logic` close
    /// what ends before it, then applying what the gate releases — and ends the activation
    /// with [`on_frontier`](Checkpointed::on_frontier).
    pub fn settle<O, L: Checkpointed<O, Record = D>>(
        &mut self,
        frontiers: Frontiers<'_>,
        logic: &mut L,
        out: &mut O,
    ) {
        let frontier = frontiers.all();
        while let Some(epoch) = self.due(frontier) {
            let saving = Saving {
                epoch,
                last: self.is_last(frontier),
                frontiers: &frontiers,
                coordinator: self.checkpoint.as_ref().map(|gate| &*gate.coordinator),
                job: &self.job,
            };
            logic.close_before(&saving, out);
            self.save(epoch, &logic.image(), frontier, logic.event_cut());
            for (time, caps, records) in self.release() {
                logic.apply(&At::Held(time, &caps), records.into_iter(), out);
            }
        }
        let frontiers = frontiers.holding_from(self.holds_from());
        logic.on_frontier(&frontiers, out);
    }

    /// For an operator that applies whole batches in time order (the micro-batch layer), before
    /// applying the batch at `t`: saves `state` as of the epoch at or before `t`, if one is
    /// due — everything before the batch has been applied, and nothing from it on.
    pub fn before_batch<S: Serialize + ?Sized>(&mut self, t: Time, state: &S) {
        let Some(gate) = self.checkpoint.as_mut() else {
            return;
        };
        let next = gate.next();
        if next > t {
            return;
        }
        let every = gate.coordinator.every();
        let epoch = (t / every * every).max(next);
        gate.set_next(epoch + every);
        if self.job.is_aborted() {
            return; // see `save`
        }
        if let Err(error) = gate.write(epoch, state, None, None) {
            self.job.fail(error);
        }
    }

    /// For an operator that applies whole batches, once every input has ended and every batch
    /// is applied: saves the final `state`, which stands for every later epoch.
    pub fn after_batches<S: Serialize + ?Sized>(
        &mut self,
        frontier: &MutableAntichain<Time>,
        state: &S,
    ) {
        while let Some(epoch) = self.due(frontier) {
            self.save(epoch, state, frontier, None);
        }
    }

    /// Lets `records` at `cap`'s time through, or holds them until the next epoch is saved.
    fn admit(
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
    /// frontier has passed has been applied, and none at or after it need have been. Without
    /// checkpointing, `Time::MAX`.
    fn holds_from(&mut self) -> Time {
        self.checkpoint.as_mut().map_or(Time::MAX, Gate::next)
    }

    /// The epoch to save now, if the frontier has passed the next one: every record before
    /// it has been applied. When the frontier has passed several epochs with nothing held
    /// between them, the state is the same for all of them and the last is the one to save.
    fn due(&mut self, frontier: &MutableAntichain<Time>) -> Option<Time> {
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

    /// Whether the next save is the last: the input has ended and nothing is held back, so the
    /// state is final, and stands for every later epoch.
    fn is_last(&self, frontier: &MutableAntichain<Time>) -> bool {
        frontier.is_empty() && self.held.is_empty()
    }

    /// Saves `state` as of `epoch` (from [`due`](Self::due)) and moves on to the next epoch;
    /// `watermark` is `with_event_time`'s as of the epoch, which decides the checkpoint's
    /// event-time cut (see [`domain`](crate::checkpoint::domain)).
    fn save<S: Serialize + ?Sized>(
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

    /// The restored checkpoint's event-time cut, if the job resumed from one.
    pub fn restored_event_epoch(&self) -> Option<Time> {
        let gate = self.checkpoint.as_ref()?;
        gate.coordinator.restored_epoch_in(Domain::Event)
    }

    /// Drops every held record and its capabilities: an aborted job's operator gives up.
    pub fn discard(&mut self) {
        self.held.clear();
    }

    /// The held records now before the next epoch, in time order, with a capability at their
    /// time for each of the operator's outputs.
    fn release(&mut self) -> Vec<(Time, Vec<Capability<Time>>, Vec<D>)> {
        let Some(gate) = self.checkpoint.as_mut() else {
            return Vec::new();
        };
        let later = self.held.split_off(&gate.next());
        std::mem::replace(&mut self.held, later)
            .into_iter()
            .map(|(time, (caps, records))| (time, caps, records))
            .collect()
    }
}
