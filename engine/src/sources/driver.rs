//! The one loop behind every source.
//!
//! A source is a [`Read`] closure: given a buffer, it appends what is available now and says
//! when it wants to run again ([`Poll`]). The driver owns the timely side: it holds the
//! capability, moves it forward to the current processing time before each read (records are
//! stamped with the time they entered the job, on the job's [`Clock`](crate::clock::Clock)),
//! emits the buffer, and re-arms itself — immediately while data is ready, on a timer or an
//! outside wake-up otherwise. A heartbeat keeps time (and so every downstream frontier) moving
//! while a source is silent, and lets a stop request be noticed; with a job tick (micro-batch
//! mode) a silent source also wakes at every tick, so each batch closes on time. Under a manual
//! clock, a waiting source sleeps until the clock moves. Dropping the capability at the end lets
//! the frontier run out.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::operators::generic::operator::source;
use timely::scheduling::SyncActivator;

use crate::checkpoint::rescale::{own_positions, Share};
use crate::checkpointed::SourceEpochs;
use crate::error::Error;
use crate::job::JobContext;
use crate::metrics::SourceCounters;
use crate::stream::{Scope, Stream};
use crate::time::Time;

/// The longest a waiting source sleeps: the pace at which a silent source advances time.
pub const HEARTBEAT: Duration = Duration::from_millis(100);

/// What a source wants after a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// More is ready now: run again at once (after downstream operators have had their turn).
    Ready,
    /// Nothing more now: run again after this long, or when woken, at most after [`HEARTBEAT`].
    Wait(Duration),
    /// Woken from outside when data arrives (or at the next heartbeat).
    Idle,
    /// The input has ended.
    Done,
}

/// A source's read step: append what is available to the buffer.
pub trait Read<T>: 'static {
    /// Where a replay starts: a byte or record offset for most sources (`u64`), a position
    /// per partition for a broker. Saved in each checkpoint of the source.
    type Offset: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + 'static;
    /// Appends available records to `out`.
    fn read(&mut self, out: &mut Vec<T>) -> Result<Poll, Error>;
    /// Where a replay would start: everything before it has been emitted. `None` for a source
    /// that cannot replay (a socket): after a failure, what it had sent since the checkpoint
    /// is lost, as with Spark's unreliable receivers.
    fn offset(&self) -> Option<Self::Offset> {
        None
    }
    /// The offset of reader `share` when the job resumes with another number of readers,
    /// from every old reader's in order (see [`rescale`](crate::checkpoint::rescale)); an
    /// error refuses the restore. By default each reader's offset is in its own share of the
    /// input, which cannot be divided.
    fn rescale(
        offsets: Vec<Option<Self::Offset>>,
        share: Share,
    ) -> Result<Option<Self::Offset>, String> {
        own_positions(offsets, share)
    }
    /// Continues from `offset`, a position [`offset`](Self::offset) reported in an earlier run.
    fn seek(&mut self, _offset: Self::Offset) -> Result<(), Error> {
        Ok(())
    }
}

impl<T, F: FnMut(&mut Vec<T>) -> Result<Poll, Error> + 'static> Read<T> for F {
    type Offset = u64;
    fn read(&mut self, out: &mut Vec<T>) -> Result<Poll, Error> {
        self(out)
    }
}

/// Builds a source. `make` receives a wake-up handle that a reader thread can call, and returns
/// the read step, or `None` if this worker has no part of the source.
pub fn drive<'scope, T, R>(
    scope: Scope<'scope>,
    name: &str,
    make: impl FnOnce(SyncActivator) -> Option<R>,
) -> Stream<'scope, T>
where
    T: 'static,
    R: Read<T>,
{
    let job = JobContext::of(scope);
    let name = name.to_string();
    source(scope, &name.clone(), move |capability, info| {
        let mut epochs = SourceEpochs::<R::Offset>::new(scope, &name, &info.address);
        let activator = scope.activator_for(info.address.clone());
        let waker = scope.worker().sync_activator_for(info.address.to_vec());
        job.clock().wake_on_advance(waker.clone());
        let mut reader = make(waker);
        let restored = epochs.restored_offset(R::rescale);
        if let (Some(reader), Some(offset)) = (reader.as_mut(), restored) {
            if let Err(error) = reader.seek(offset) {
                job.fail(error);
            }
        }
        if reader.is_none() {
            epochs.finish(0, None);
        }
        let start = epochs.start();
        let mut capability = reader.is_some().then_some(capability);
        let mut buffer = Vec::new();
        let mut admission = Admission::new(&job, &name, reader.is_some().then_some(&info.address));
        move |output| {
            let (Some(cap), Some(read)) = (capability.as_mut(), reader.as_mut()) else {
                return;
            };
            let now = job.clock().now_ms().max(start);
            if now > *cap.time() {
                cap.downgrade(&now);
            }
            epochs.advance(now, || read.offset());
            let poll = if job.is_stopped() {
                Ok(Poll::Done)
            } else if let Some(wait) = admission.hold_back(now) {
                Ok(Poll::Wait(wait))
            } else {
                read.read(&mut buffer)
            };
            if !buffer.is_empty() {
                admission.admitted(now, buffer.len());
                output.session(&*cap).give_container(&mut buffer);
                buffer.clear();
            }
            let longest = job
                .tick()
                .map_or(HEARTBEAT, |tick| HEARTBEAT.min(until_tick(now, tick)));
            match poll {
                Ok(Poll::Done) => capability = None,
                Err(error) => {
                    job.fail(error);
                    capability = None;
                }
                Ok(Poll::Ready) => activator.activate(),
                _ if job.clock().is_manual() => {} // woken when the clock moves
                Ok(Poll::Wait(after)) => activator.activate_after(after.min(longest)),
                Ok(Poll::Idle) => activator.activate_after(longest),
            }
            if capability.is_none() {
                epochs.finish(now, read.offset());
                reader = None;
            }
        }
    })
}

/// What a source lets in, and when it holds back: natively while the dataflow is congested
/// (some channel over [`QUEUE_BOUND`](crate::metrics::QUEUE_BOUND) — what it does not read
/// stays with its sender: in the socket, the broker, the file), in micro-batches while the
/// batch's share of the job's rate cap is used up (see [`rate`](crate::rate)). Counts what it
/// admits into the source's and the batches' metrics, and the time it holds back.
struct Admission {
    job: JobContext,
    counters: Arc<SourceCounters>,
    /// Since when the source has been holding back.
    holding: Option<Instant>,
    /// Records admitted into the current batch, and which batch that is.
    batch: (Time, u64),
}

/// How long a source holding back waits before looking again.
const HOLD_BACK: Duration = Duration::from_millis(1);

impl Admission {
    /// The admission of the source `name`, read by the operator at `address` on this worker
    /// (`None`: this worker has no part of it).
    fn new(job: &JobContext, name: &str, address: Option<&[usize]>) -> Self {
        let counters = job.metrics().source(name);
        if let Some(address) = address {
            job.rate_limit().add_reader();
            counters.read_at(address);
        }
        Admission {
            counters,
            job: job.clone(),
            holding: None,
            batch: (0, 0),
        }
    }

    /// How long to wait before reading, if the source should not read now.
    fn hold_back(&mut self, now: Time) -> Option<Duration> {
        let wait = match self.job.tick() {
            None => self.job.metrics().is_congested().then_some(HOLD_BACK),
            Some(tick) => {
                let batch = batch_of(now, tick);
                let admitted = if self.batch.0 == batch {
                    self.batch.1
                } else {
                    0
                };
                let cap = self.job.rate_limit().per_reader_batch(tick);
                (admitted >= cap).then(|| until_tick(now, tick))
            }
        };
        match (wait, self.holding) {
            (Some(_), None) => self.holding = Some(Instant::now()),
            (None, Some(since)) => {
                self.holding = None;
                let held = since.elapsed().as_nanos() as u64;
                self.counters
                    .backpressured_nanos
                    .fetch_add(held, Ordering::Relaxed);
            }
            _ => {}
        }
        wait
    }

    /// `records` were read at `now`.
    fn admitted(&mut self, now: Time, records: usize) {
        let records = records as u64;
        self.counters.records.fetch_add(records, Ordering::Relaxed);
        if let Some(tick) = self.job.tick() {
            let batch = batch_of(now, tick);
            if self.batch.0 != batch {
                self.batch = (batch, 0);
            }
            self.batch.1 += records;
            self.job.metrics().batches().input(batch, records);
        }
    }
}

/// The batch a record read at `now` belongs to: batch `t` collects `[t - tick, t)`.
pub fn batch_of(now: Time, tick: Time) -> Time {
    (now / tick + 1) * tick
}

/// How long from `now` until the next multiple of `tick` (a full tick when `now` is on one).
pub fn until_tick(now: Time, tick: Time) -> Duration {
    Duration::from_millis(tick - now % tick)
}
