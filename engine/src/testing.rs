//! Running a small pipeline over in-memory input, for tests and examples.
//!
//! [`run_collect`] spreads the input over the workers round robin (so every test also exercises
//! the exchange), runs the pipeline to completion and returns everything it emitted;
//! [`run_sorted`] sorts that output, and [`run_timed_sorted`] and [`run_two_sorted`] feed
//! records at given timestamps, to one or two input streams.
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

/// [`run_collect`], with the output sorted so that it can be compared with a literal whatever
/// the workers' interleaving. The `# Examples` of the operator traits are written with it.
///
/// ```
/// use sluice_engine::prelude::*;
/// use sluice_engine::testing::run_sorted;
/// let out = run_sorted(2, vec![3u64, 1, 2], |s| s.map(|x| x + 1)).unwrap();
/// assert_eq!(out, vec![2, 3, 4]);
/// ```
pub fn run_sorted<D, R, F>(workers: usize, input: Vec<D>, pipeline: F) -> Result<Vec<R>>
where
    D: Clone + Send + Sync + 'static,
    R: Ord + Send + 'static,
    F: for<'s> Fn(Stream<'s, D>) -> Stream<'s, R> + Send + Sync + 'static,
{
    let mut output = run_collect(workers, input, pipeline)?;
    output.sort();
    Ok(output)
}

/// [`run_sorted`] over `(time, record)` input: each record enters at its own timestamp (as
/// [`Sources::timed_source`] emits it), for operators that group by timestamp.
///
/// ```
/// use sluice_engine::prelude::*;
/// use sluice_engine::testing::run_timed_sorted;
/// let stamps = run_timed_sorted(2, vec![(5, 'a'), (9, 'b')], |s| s.with_processing_time());
/// assert_eq!(stamps.unwrap(), vec![(5, 'a'), (9, 'b')]);
/// ```
pub fn run_timed_sorted<D, R, F>(
    workers: usize,
    input: Vec<(Time, D)>,
    pipeline: F,
) -> Result<Vec<R>>
where
    D: Clone + Send + Sync + 'static,
    R: Ord + Send + 'static,
    F: for<'s> Fn(Stream<'s, D>) -> Stream<'s, R> + Send + Sync + 'static,
{
    run_two_sorted(workers, input, Vec::<(Time, ())>::new(), move |timed, _| {
        pipeline(timed)
    })
}

/// [`run_sorted`] over two inputs of `(time, record)`, each record entering at its own timestamp
/// and each input dealt round robin: for joins and other two-input operators.
///
/// ```
/// use sluice_engine::prelude::*;
/// use sluice_engine::testing::run_two_sorted;
/// let out = run_two_sorted(2, vec![(1, 'a')], vec![(2, 'b')], |l, r| l.union(r)).unwrap();
/// assert_eq!(out, vec!['a', 'b']);
/// ```
pub fn run_two_sorted<A, B, R, F>(
    workers: usize,
    left: Vec<(Time, A)>,
    right: Vec<(Time, B)>,
    pipeline: F,
) -> Result<Vec<R>>
where
    A: Clone + Send + Sync + 'static,
    B: Clone + Send + Sync + 'static,
    R: Ord + Send + 'static,
    F: for<'s> Fn(Stream<'s, A>, Stream<'s, B>) -> Stream<'s, R> + Send + Sync + 'static,
{
    let output = Collector::new();
    let sink = output.clone();
    let inputs = std::sync::Arc::new((left, right));
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let left = inputs.0.iter().skip(index).step_by(peers).cloned();
        let right = inputs.1.iter().skip(index).step_by(peers).cloned();
        let (left, right): (Vec<_>, Vec<_>) = (left.collect(), right.collect());
        worker.dataflow(|scope| {
            pipeline(scope.timed_source(left), scope.timed_source(right)).collect_into(&sink)
        });
    })?;
    let mut output = output.take();
    output.sort();
    Ok(output)
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
