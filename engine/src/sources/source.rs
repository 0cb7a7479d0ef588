//! What a source is, for both layers: a [`Source`] is a value described (and checked) before
//! the job starts, that says what it yields, how it is split over workers, and how it becomes a
//! stream in a scope.
//!
//! Native mode builds it with [`Sources::source`](super::Sources::source); the micro-batch layer
//! builds an input DStream from the same value (`Graph::source` in `sluice-minibatch`), using
//! [`spread`](Source::spread) to know its partitions. A new source is therefore one file: its
//! description, its reader, and this trait.
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::sources::{corpus::CorpusSpec, Generator, Spread};
//! let generator = Generator::new(CorpusSpec::default()).lines(10);
//! assert_eq!(generator.spread(), Spread::AllWorkers);
//! let lines = Collector::new();
//! let sink = lines.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     worker.dataflow(|scope| scope.source(&generator).collect_into(&sink));
//! })
//! .unwrap();
//! assert_eq!(lines.take().len(), 10);
//! ```

use crate::stream::{Scope, Stream};

/// How a source is split over workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// Every worker reads a share: one partition per worker.
    AllWorkers,
    /// Worker 0 reads it all: one partition.
    Worker0,
}

/// A source, described before the job starts; every worker builds its own reader from a clone.
pub trait Source: Clone + 'static {
    /// What it yields.
    type Item: 'static;

    /// How its reading is split over workers.
    fn spread(&self) -> Spread;

    /// Its records, as a stream in `scope` (this worker's share of them).
    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, Self::Item>;

    /// This source with every record stamped with the time it is read, as the micro-batch layer
    /// batches records (by what arrived in each interval, as Spark's receivers do). Most
    /// sources stamp records that way already and are returned as they are; one that replays
    /// stored times (the event log) switches to arrival time.
    fn by_arrival(&self) -> Self {
        self.clone()
    }
}
