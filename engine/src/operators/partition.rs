//! Moving records between workers: by key, so that all records of a key meet on one worker, or
//! round robin, to even out a skewed or single-worker source.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let seen = Collector::new();
//! let sink = seen.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     let me = worker.index();
//!     worker.dataflow(|scope| {
//!         scope
//!             .iterator_source((me == 0).then_some(0..10u64).into_iter().flatten())
//!             .rebalance()
//!             .map(move |n| (n, me))
//!             .partition_by_key(|(n, _)| *n % 3)
//!             .map(|(n, _)| n)
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! assert_eq!(seen.take().len(), 10);
//! ```

use std::hash::Hash;

use timely::dataflow::operators::Exchange;

use crate::hash::route;
use crate::stream::{Data, Stream};

/// Hash and round-robin repartitioning.
pub trait Partition<'scope, D: Data>: Sized {
    /// Sends each record to the worker that owns `key(record)`: the same key always meets on the
    /// same worker, in every process.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, worker that saw it): each key ends up on one worker.
    /// let mut out = run_sorted(2, (1..=8u64).collect(), |s| {
    ///     let worker = s.scope().index();
    ///     s.partition_by_key(|x| x % 3).map(move |x| (x % 3, worker))
    /// })
    /// .unwrap();
    /// out.dedup();
    /// assert_eq!(
    ///     out.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
    ///     vec![0, 1, 2]
    /// );
    /// ```
    fn partition_by_key<K: Hash>(self, key: impl Fn(&D) -> K + 'static) -> Stream<'scope, D>;
    /// Spreads records evenly over all workers, round robin from each sender.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // Worker 0 holds every record; after rebalancing, both workers have some.
    /// let mut workers = run_sorted(2, vec![(); 8], |s| {
    ///     let worker = s.scope().index();
    ///     s.filter(move |_| worker == 0)
    ///         .rebalance()
    ///         .map(move |_| worker)
    /// })
    /// .unwrap();
    /// workers.dedup();
    /// assert_eq!(workers, vec![0, 1]);
    /// ```
    fn rebalance(self) -> Stream<'scope, D>;
}

impl<'scope, D: Data> Partition<'scope, D> for Stream<'scope, D> {
    fn partition_by_key<K: Hash>(self, key: impl Fn(&D) -> K + 'static) -> Stream<'scope, D> {
        self.exchange(move |d: &D| route(&key(d)))
    }

    fn rebalance(self) -> Stream<'scope, D> {
        // Start each worker at a different target so that small batches spread too.
        let mut next = self.scope().index() as u64;
        self.exchange(move |_: &D| {
            next = next.wrapping_add(1);
            next
        })
    }
}
