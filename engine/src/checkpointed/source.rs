//! A source's checkpoints: its replay offset as of each epoch its time passes.
//!
//! A source holds nothing back — it *is* where the stream's time comes from — so its part of a
//! checkpoint is where it would start reading again: the offset it had reached when its time
//! passed the epoch. Most sources' offset is a number (a byte or record offset); a broker's is
//! a position per partition: any serializable value will do.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::gate::{EpochGate, Gate};
use crate::checkpoint::coordinator::{PartKind, PartOf};
use crate::checkpoint::domain::Domain;
use crate::checkpoint::rescale::Share;
use crate::job::JobContext;
use crate::stream::Scope;
use crate::time::Time;

/// A source instance's checkpoints: its replay offset (an `O`) as of each epoch its time passes.
pub struct SourceEpochs<O = u64> {
    gate: Option<Gate>,
    job: JobContext,
    offset: PhantomData<fn(O) -> O>,
}

impl<O: Serialize + DeserializeOwned> SourceEpochs<O> {
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
            offset: PhantomData,
        }
    }

    /// The offset this instance had reached at the restored checkpoint, if any; after a
    /// rescale, what `divide` makes of every old reader's (see
    /// [`rescale`](crate::checkpoint::rescale)), or the restore is refused, naming the source.
    pub fn restored_offset(
        &self,
        divide: impl FnOnce(Vec<Option<O>>, Share) -> Result<Option<O>, String>,
    ) -> Option<O> {
        let gate = self.gate.as_ref()?;
        match gate
            .coordinator
            .restore_divided::<Option<O>>(&gate.part, gate.share, divide)
        {
            Ok(offset) => offset.flatten(),
            Err(error) => {
                self.job.refuse(error);
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

    /// The source's time moves to `now`, having emitted everything before `offset()`: that is
    /// its offset as of every epoch in between (the last of them is written). The offset is
    /// asked for only then: a source advances on every activation, and a broker's offset (a
    /// position per partition) is not free to make.
    pub fn advance(&mut self, now: Time, offset: impl FnOnce() -> Option<O>) {
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
        if let Err(error) = gate.write(last, &offset(), None, None) {
            self.job.fail(error);
        }
    }

    /// The source has ended at `offset`, having emitted its last records at `time` (or has no
    /// part on this worker: `time` 0, `offset` none).
    pub fn finish(&mut self, time: Time, offset: Option<O>) {
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
