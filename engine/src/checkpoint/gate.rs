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

use super::coordinator::Coordinator;
use crate::execution::JobContext;
use crate::stream::Scope;
use crate::time::Time;

/// One operator instance's checkpoints; see the module docs.
pub struct EpochGate<D> {
    checkpoint: Option<Gate>,
    job: JobContext,
    held: BTreeMap<Time, (Capability<Time>, Vec<D>)>,
}

struct Gate {
    coordinator: Arc<Coordinator>,
    part: String,
    /// The next epoch to save: every record before it has been applied.
    next: Time,
}

impl<D> EpochGate<D> {
    /// The gate of the operator `name` at `address` on this worker; inert without checkpointing.
    pub fn new(scope: Scope<'_>, name: &str, address: &[usize]) -> Self {
        let job = JobContext::of(scope);
        let checkpoint = job.checkpoints().map(|coordinator| {
            let id = address
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(".");
            let part = coordinator.register(&format!("{name}@{id}"), scope.index());
            let next = coordinator.epoch_after(coordinator.restored_epoch().unwrap_or(0));
            Gate {
                coordinator,
                part,
                next,
            }
        });
        EpochGate {
            checkpoint,
            job,
            held: BTreeMap::new(),
        }
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
        match &self.checkpoint {
            Some(gate) if t >= gate.next => {
                let (_, held) = self
                    .held
                    .entry(t)
                    .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()));
                held.extend(records);
                None
            }
            _ => Some(records),
        }
    }

    /// The epoch to save now, if the frontier has passed the next one: every record before
    /// it has been applied. When the frontier has passed several epochs with nothing held
    /// between them, the state is the same for all of them and the last is the one to save.
    /// Anything the operator emits at times before the epoch (windows ending by it) must be
    /// emitted before it saves, so that the snapshot holds only what comes after.
    pub fn due(&self, frontier: &MutableAntichain<Time>) -> Option<Time> {
        let gate = self.checkpoint.as_ref().filter(|g| g.next < Time::MAX)?;
        let reached = frontier
            .frontier()
            .iter()
            .min()
            .copied()
            .unwrap_or(Time::MAX);
        if reached < gate.next {
            return None;
        }
        if self.is_last(frontier) {
            return Some(gate.next);
        }
        let every = gate.coordinator.every();
        let next_held = self.held.keys().next().copied().unwrap_or(Time::MAX);
        Some((reached.min(next_held) / every * every).max(gate.next))
    }

    /// For an operator that applies whole batches in time order (the micro-batch layer): the
    /// epoch to save *before* applying the batch at `t`, if the next epoch is at or before it.
    /// Everything before the batch has been applied, and nothing from it on.
    pub fn due_before(&self, t: Time) -> Option<Time> {
        let gate = self.checkpoint.as_ref().filter(|g| g.next <= t)?;
        let every = gate.coordinator.every();
        Some((t / every * every).max(gate.next))
    }

    /// Saves `state` as of `epoch` (from [`due_before`](Self::due_before)); never the last save,
    /// since a batch is still to be applied.
    pub fn save_before<S: Serialize + ?Sized>(&mut self, epoch: Time, state: &S) {
        let Some(gate) = self.checkpoint.as_mut() else {
            return;
        };
        gate.next = epoch + gate.coordinator.every();
        if self.job.is_aborted() {
            return; // see `save`
        }
        if let Err(error) = gate.coordinator.write(epoch, &gate.part, state) {
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
        let Some(gate) = self.checkpoint.as_mut() else {
            return;
        };
        let last = frontier.is_empty() && self.held.is_empty();
        gate.next = if last {
            Time::MAX
        } else {
            epoch + gate.coordinator.every()
        };
        let result = if self.job.is_aborted() {
            // An aborted job (Flink's cancel, Spark's non-graceful stop) takes no more
            // checkpoints: its sources stopped mid-stream, and what it drains is no cut of the
            // input. A restart resumes from the last checkpoint taken before.
            Ok(())
        } else if last {
            // The input has ended and everything is applied: this state stands for every
            // later epoch.
            gate.coordinator
                .finish(Some(epoch), epoch, &gate.part, state)
        } else {
            gate.coordinator.write(epoch, &gate.part, state)
        };
        if let Err(error) = result {
            self.job.fail(error);
        }
    }

    /// The held records now before the next epoch, in time order, with their capabilities.
    pub fn release(&mut self) -> Vec<(Capability<Time>, Vec<D>)> {
        let Some(gate) = &self.checkpoint else {
            return Vec::new();
        };
        let later = self.held.split_off(&gate.next);
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
        let gate = EpochGate::<()>::new(scope, &format!("source-{name}"), address);
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
        if now < gate.next {
            return;
        }
        let every = gate.coordinator.every();
        let last = now / every * every;
        gate.next = last + every;
        if self.job.is_aborted() {
            return; // see `EpochGate::save`
        }
        if let Err(error) = gate.coordinator.write(last, &gate.part, &offset) {
            self.job.fail(error);
        }
    }

    /// The source has ended at `offset`, having emitted its last records at `time` (or has no
    /// part on this worker: `time` 0, `offset` none).
    pub fn finish(&mut self, time: Time, offset: Option<u64>) {
        let valid_from = self.cut(time) + 1;
        if let Some(gate) = self.gate.take().filter(|_| !self.job.is_aborted()) {
            let finish = gate
                .coordinator
                .finish(None, valid_from, &gate.part, &offset);
            if let Err(error) = finish {
                self.job.fail(error);
            }
        }
    }
}
