//! Running a small pipeline over in-memory input, for tests and examples.
//!
//! [`run_collect`] spreads the input over the workers round robin (so every test also exercises
//! the exchange), runs the pipeline to completion and returns everything it emitted.
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::testing::run_collect;
//! let mut doubled = run_collect(2, vec![1u64, 2, 3], |s| s.map(|x| x * 2)).unwrap();
//! doubled.sort();
//! assert_eq!(doubled, vec![2, 4, 6]);
//! ```

use crate::error::Result;
use crate::execution::{execute, Execution};
use crate::sinks::{Collector, Sinks};
use crate::sources::Sources;
use crate::stream::Stream;
use crate::time::Time;

/// Runs `pipeline` on `workers` threads over `input` (dealt round robin) and collects its output.
pub fn run_collect<D, R, F>(workers: usize, input: Vec<D>, pipeline: F) -> Result<Vec<R>>
where
    D: Clone + Send + Sync + 'static,
    R: Send + 'static,
    F: for<'s> Fn(Stream<'s, D>) -> Stream<'s, R> + Send + Sync + 'static,
{
    let output = Collector::new();
    let sink = output.clone();
    let input = std::sync::Arc::new(input);
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let share: Vec<D> = input.iter().skip(index).step_by(peers).cloned().collect();
        worker.dataflow(|scope| pipeline(scope.iterator_source(share)).collect_into(&sink));
    })?;
    Ok(output.take())
}

/// An arrival order for `events` in which each arrives at most `disorder` ms of event time
/// late: event `i` arrives at `time(event) + delays[i] % (disorder + 1)` (a missing delay counts
/// as 0), ties in input order. Property tests of event-time operators shuffle their input with
/// it: any order it yields is one the watermarks must absorb.
///
/// ```
/// use sluice_engine::testing::arrivals_within;
/// let events = vec![(10, "a"), (20, "b"), (30, "c")];
/// let order = arrivals_within(&events, &[25, 0, 0], 30, |(t, _)| *t);
/// assert_eq!(order, vec![(20, "b"), (30, "c"), (10, "a")]); // "a" arrives at 10 + 25
/// ```
pub fn arrivals_within<T: Clone>(
    events: &[T],
    delays: &[Time],
    disorder: Time,
    time: impl Fn(&T) -> Time,
) -> Vec<T> {
    let mut arrivals: Vec<(Time, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let delay = delays.get(i).copied().unwrap_or(0) % (disorder + 1);
            (time(e) + delay, i)
        })
        .collect();
    arrivals.sort();
    arrivals
        .into_iter()
        .map(|(_, i)| events[i].clone())
        .collect()
}
