//! Record-at-a-time transforms: each record is handled the moment it arrives, on the worker that
//! holds it (no exchange).
//!
//! These are timely's own operators under Sluice's names, so Sluice programs need one import.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let out = Collector::new();
//! let sink = out.clone();
//! execute(Execution::default(), move |worker| {
//!     worker.dataflow(|scope| {
//!         let nums = scope.iterator_source(1..=4u64);
//!         nums.clone()
//!             .filter(|n| n % 2 == 0)
//!             .map(|n| n * 10)
//!             .union(nums.flat_map(|n| (n == 1).then_some(100)))
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let mut out = out.take();
//! out.sort();
//! assert_eq!(out, vec![20, 40, 100]);
//! ```

use timely::dataflow::operators::vec::{Filter, Map};
use timely::dataflow::operators::{Concat, Inspect};

use crate::stream::Stream;

/// Stateless, per-record operators.
pub trait Stateless<'scope, D: 'static>: Sized {
    /// Transforms each record.
    fn map<D2: 'static>(self, f: impl FnMut(D) -> D2 + 'static) -> Stream<'scope, D2>;
    /// Transforms each record into any number of records.
    fn flat_map<I>(self, f: impl FnMut(D) -> I + 'static) -> Stream<'scope, I::Item>
    where
        I: IntoIterator,
        I::Item: 'static;
    /// Keeps the records for which `predicate` holds.
    fn filter(self, predicate: impl FnMut(&D) -> bool + 'static) -> Stream<'scope, D>;
    /// Merges two streams of the same type (Spark's `union`, timely's `concat`).
    fn union(self, other: Stream<'scope, D>) -> Stream<'scope, D>;
    /// Looks at each record without changing the stream.
    fn inspect(self, f: impl FnMut(&D) + 'static) -> Stream<'scope, D>;
}

impl<'scope, D: 'static> Stateless<'scope, D> for Stream<'scope, D> {
    fn map<D2: 'static>(self, f: impl FnMut(D) -> D2 + 'static) -> Stream<'scope, D2> {
        Map::map(self, f)
    }
    fn flat_map<I>(self, f: impl FnMut(D) -> I + 'static) -> Stream<'scope, I::Item>
    where
        I: IntoIterator,
        I::Item: 'static,
    {
        Map::flat_map(self, f)
    }
    fn filter(self, predicate: impl FnMut(&D) -> bool + 'static) -> Stream<'scope, D> {
        Filter::filter(self, predicate)
    }
    fn union(self, other: Stream<'scope, D>) -> Stream<'scope, D> {
        Concat::concat(self, other)
    }
    fn inspect(self, mut f: impl FnMut(&D) + 'static) -> Stream<'scope, D> {
        Inspect::inspect(self, move |d: &D| f(d))
    }
}
