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

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::vec::Filter;
use timely::dataflow::operators::Operator;
use timely::dataflow::operators::{Concat, Inspect};

use crate::stream::Stream;

/// Stateless, per-record operators.
pub trait Stateless<'scope, D: 'static>: Sized {
    /// Transforms each record.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let out = run_sorted(2, vec![1u64, 2, 3], |s| s.map(|x| x * 10)).unwrap();
    /// assert_eq!(out, vec![10, 20, 30]);
    /// ```
    fn map<D2: 'static>(self, f: impl FnMut(D) -> D2 + 'static) -> Stream<'scope, D2>;
    /// Transforms each record into any number of records.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let out = run_sorted(2, vec![1u64, 3], |s| s.flat_map(|x| vec![x; x as usize])).unwrap();
    /// assert_eq!(out, vec![1, 3, 3, 3]);
    /// ```
    fn flat_map<I>(self, f: impl FnMut(D) -> I + 'static) -> Stream<'scope, I::Item>
    where
        I: IntoIterator,
        I::Item: 'static;
    /// Keeps the records for which `predicate` holds.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let out = run_sorted(2, vec![1u64, 2, 3, 4], |s| s.filter(|x| x % 2 == 0)).unwrap();
    /// assert_eq!(out, vec![2, 4]);
    /// ```
    fn filter(self, predicate: impl FnMut(&D) -> bool + 'static) -> Stream<'scope, D>;
    /// Merges two streams of the same type (Spark's `union`, timely's `concat`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let out = run_sorted(2, vec![1u64, 2], |s| s.clone().union(s.map(|x| x * 10))).unwrap();
    /// assert_eq!(out, vec![1, 2, 10, 20]);
    /// ```
    fn union(self, other: Stream<'scope, D>) -> Stream<'scope, D>;
    /// Looks at each record without changing the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// # use std::sync::Arc;
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let seen = Arc::new(AtomicU64::new(0));
    /// let counter = seen.clone();
    /// let out = run_sorted(2, vec![1u64, 2, 3], move |s| {
    ///     let counter = counter.clone();
    ///     s.inspect(move |x| {
    ///         counter.fetch_add(*x, Relaxed);
    ///     })
    /// });
    /// assert_eq!(out.unwrap(), vec![1, 2, 3]); // unchanged
    /// assert_eq!(seen.load(Relaxed), 6); // and every record seen
    /// ```
    fn inspect(self, f: impl FnMut(&D) + 'static) -> Stream<'scope, D>;
}

impl<'scope, D: 'static> Stateless<'scope, D> for Stream<'scope, D> {
    fn map<D2: 'static>(self, mut f: impl FnMut(D) -> D2 + 'static) -> Stream<'scope, D2> {
        per_stamp(self, "Map", move |record, out| out.push(f(record)))
    }
    fn flat_map<I>(self, mut f: impl FnMut(D) -> I + 'static) -> Stream<'scope, I::Item>
    where
        I: IntoIterator,
        I::Item: 'static,
    {
        per_stamp(self, "FlatMap", move |record, out| out.extend(f(record)))
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

/// A record-at-a-time operator whose output for each input timestamp is handed on in containers
/// of at most timely's buffer size, each no larger than what it holds.
///
/// Both bounds matter. Timely's own `map`/`flat_map` open a session per timestamp whose builder
/// allocates a full-capacity buffer: with a distinct timestamp per record (event-time sources,
/// paced generators) that was a zeroed page per record, and `run hashtags` reached 1.2 GB. One
/// exact container per timestamp instead grew a window's whole firing (50k counts) into one
/// vector, re-allocated and page-faulted as it doubled: 2 ms more on the hashtags window's
/// latency. So a container grows from empty while its timestamp is small, is shipped when it
/// reaches the buffer size, and a timestamp that filled one starts the next at full size.
fn per_stamp<'scope, D: 'static, D2: 'static>(
    stream: Stream<'scope, D>,
    name: &str,
    mut apply: impl FnMut(D, &mut Vec<D2>) + 'static,
) -> Stream<'scope, D2> {
    let chunk = timely::container::buffer::default_capacity::<D2>();
    stream.unary(Pipeline, name, move |_, _| {
        move |input, output| {
            input.for_each_stamp(|cap, data| {
                let mut session = output.session(&cap);
                let mut out = Vec::new();
                for batch in data {
                    for record in batch.drain(..) {
                        apply(record, &mut out);
                        if out.len() >= chunk {
                            session.give_container(&mut out);
                            out = Vec::with_capacity(chunk);
                        }
                    }
                }
                if !out.is_empty() {
                    session.give_container(&mut out);
                }
            });
        }
    })
}
