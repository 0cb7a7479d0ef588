//! The loop behind sources whose records carry their own times (a timed file, the event log).
//!
//! Such a source's stream time is the data's: each record is emitted at its own time (a record
//! earlier than one before it, at that later time — Flink's ascending timestamps), so windows
//! over it, and checkpoints taken every so much of it, come out the same on every run. The
//! source knows the exact offset at which its time passes each checkpoint epoch: the offset of
//! the first record at or after the epoch is its replay position as of that epoch. Every
//! record moves the time, also one another worker keeps: so all readers of one input stand at
//! the same offset at every epoch, and a record's time is the same on 1 worker or 8.

use timely::dataflow::operators::generic::operator::source;
use timely::scheduling::SyncActivator;

use super::driver::HEARTBEAT;
use crate::checkpoint::rescale::{own_positions, Share};
use crate::checkpointed::SourceEpochs;
use crate::error::Error;
use crate::job::JobContext;
use crate::stream::{Scope, Stream};
use crate::time::Time;

/// Records read per activation.
const BATCH: usize = 8192;

/// What a timed reader found next.
pub enum Next<T> {
    /// A record at `time` that started at `offset`; `None` if it is not this worker's (or was
    /// malformed and counted): it still moves the offset and the time on.
    Record {
        /// The record's own time.
        time: Time,
        /// Where the record starts in the input (a byte offset or a log offset).
        offset: u64,
        /// The record, if it is this worker's and well formed.
        item: Option<T>,
    },
    /// Nothing more for now; more may come (a log being appended to). The reader wakes the
    /// source through the activator `make` gave it when there may be more; at the latest, the
    /// source looks again after this long (at most [`HEARTBEAT`], to notice a stop request).
    Pending(std::time::Duration),
    /// The input has ended.
    Done,
}

/// Reads records that carry their own times.
pub trait TimedRead<T>: 'static {
    /// The next record.
    fn next(&mut self) -> Result<Next<T>, Error>;
    /// Where a replay would start: the offset of the next record.
    fn offset(&self) -> u64;
    /// The offset of reader `share` when the job resumes with another number of readers,
    /// from every old reader's in order, as [`Read::rescale`](super::driver::Read::rescale):
    /// a source whose readers each scan the whole input and keep their share by offset
    /// divides with [`same_position`](crate::checkpoint::rescale::same_position).
    fn rescale(offsets: Vec<Option<u64>>, share: Share) -> Result<Option<u64>, String> {
        own_positions(offsets, share)
    }
}

/// Builds the source `name`. `make` gets the offset this worker's instance had reached at the
/// restored checkpoint (if the job resumed from one) and a wake-up handle that a thread
/// watching the input can call, and returns the reader for this worker.
pub fn drive_timed<'scope, T, R>(
    scope: Scope<'scope>,
    name: &str,
    make: impl FnOnce(Option<u64>, SyncActivator) -> Result<R, Error> + 'static,
) -> Stream<'scope, T>
where
    T: 'static,
    R: TimedRead<T>,
{
    let job = JobContext::of(scope);
    let name = name.to_string();
    source(scope, &name.clone(), move |capability, info| {
        let activator = scope.activator_for(info.address.clone());
        let waker = scope.worker().sync_activator_for(info.address.to_vec());
        let mut epochs = SourceEpochs::new(scope, &name, &info.address);
        let restored = epochs.restored_offset(R::rescale);
        let mut reader = match make(restored, waker) {
            Ok(reader) => Some(reader),
            Err(error) => {
                job.fail(error);
                None
            }
        };
        let mut capability = Some(capability);
        if let Some(cap) = capability.as_mut() {
            cap.downgrade(&epochs.start());
        }
        let mut batch = Vec::new();
        move |output| {
            let (Some(cap), Some(read)) = (capability.as_mut(), reader.as_mut()) else {
                capability = None;
                return;
            };
            let mut next = if job.is_stopped() {
                Ok(Next::Done)
            } else {
                Ok(Next::Pending(HEARTBEAT))
            };
            for _ in 0..BATCH {
                if job.is_stopped() {
                    break;
                }
                next = read.next();
                let Ok(Next::Record { time, offset, item }) = &mut next else {
                    break;
                };
                // Every record moves the time, this worker's or not: all readers then pass
                // each epoch at the same offset, so together they have emitted exactly what
                // lies before it (which lets a checkpoint restore into any number of readers),
                // and a record's time does not depend on how many workers read.
                if *time > *cap.time() {
                    output.session(&*cap).give_container(&mut batch);
                    epochs.advance(*time, || Some(*offset));
                    cap.downgrade(time);
                }
                if let Some(item) = item.take() {
                    batch.push(item);
                }
            }
            output.session(&*cap).give_container(&mut batch);
            match next {
                Ok(Next::Record { .. }) => activator.activate(),
                Ok(Next::Pending(after)) => activator.activate_after(after.min(HEARTBEAT)),
                Ok(Next::Done) | Err(_) => {
                    if let Err(error) = next {
                        job.fail(error);
                    }
                    epochs.finish(*cap.time(), Some(read.offset()));
                    capability = None;
                    reader = None;
                }
            }
        }
    })
}
