//! How a reader thread hands what it read to its source's operator — and so where a job that
//! cannot keep up keeps what it has not processed.
//!
//! - **Natively, and in micro-batches with rate control**, the hand-off is bounded: once a few
//!   chunks wait, the reader thread waits too, and the input stays with its sender — TCP's
//!   window closes, a broker keeps its messages. Memory stays flat, and the wait is counted as
//!   the source's back-pressured time (Flink's behaviour; Spark's with
//!   `spark.streaming.backpressure.enabled`).
//! - **In micro-batches without rate control** it is unbounded, and the operator takes all of
//!   it into the open batch, as a Spark receiver stores every block it receives: a job that
//!   falls behind then sees each batch bigger and later than the one before — the growing
//!   scheduling delay that rate control exists to stop.
//!
//! ```
//! use sluice_engine::job::JobContext;
//! use sluice_engine::sources::handoff::HandOff;
//! let job = JobContext::default();
//! let (hand_off, received) = HandOff::new(&job, "Example", 2);
//! assert!(hand_off.send(vec!["a line".to_string()], 1));
//! assert_eq!(received.recv().unwrap(), ["a line"]);
//! ```

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::Arc;

use crate::job::JobContext;
use crate::metrics::SourceCounters;

/// The sending end of a source's hand-off; see the [module docs](self).
pub struct HandOff<T> {
    sender: Channel<T>,
    counters: Arc<SourceCounters>,
}

enum Channel<T> {
    Bounded(SyncSender<T>),
    Unbounded(Sender<T>),
}

impl<T> HandOff<T> {
    /// The hand-off of the source named `name` in `job`, holding at most `in_flight` items
    /// when bounded, and its receiving end.
    pub fn new(job: &JobContext, name: &str, in_flight: usize) -> (HandOff<T>, Receiver<T>) {
        let (sender, receiver) = match takes_all(job) {
            true => {
                let (sender, receiver) = mpsc::channel();
                (Channel::Unbounded(sender), receiver)
            }
            false => {
                let (sender, receiver) = mpsc::sync_channel(in_flight);
                (Channel::Bounded(sender), receiver)
            }
        };
        let counters = job.metrics().source(name);
        (HandOff { sender, counters }, receiver)
    }

    /// Hands `item`, of `records` records, over, waiting while a bounded hand-off is full (the
    /// wait counts as held back). False once the operator has let go of the receiving end.
    pub fn send(&self, item: T, records: usize) -> bool {
        self.counters
            .handed
            .fetch_add(records as u64, Ordering::Relaxed);
        let sender = match &self.sender {
            Channel::Unbounded(sender) => return sender.send(item).is_ok(),
            Channel::Bounded(sender) => sender,
        };
        match sender.try_send(item) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(item)) => {
                let _waiting = self.counters.waiting();
                sender.send(item).is_ok()
            }
        }
    }
}

/// Whether a source of `job` takes everything it has received at each turn: in micro-batches
/// without rate control (see the [module docs](self)).
pub fn takes_all(job: &JobContext) -> bool {
    job.tick().is_some() && !job.rate_limit().is_controlled()
}

/// Counts a reader's wait while it lasts.
pub(crate) struct Waiting<'a>(&'a SourceCounters, u64);

impl SourceCounters {
    /// Starts counting a wait; it ends when the guard is dropped.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        let since = self.clock_nanos();
        self.waiting_since.store(since, Ordering::Relaxed);
        Waiting(self, since)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Waiting(counters, since) = *self;
        counters.waiting_since.store(0, Ordering::Relaxed);
        let waited = counters.clock_nanos().saturating_sub(since);
        counters
            .backpressured_nanos
            .fetch_add(waited, Ordering::Relaxed);
    }
}
