//! Running a graph batch by batch under a manual clock — Spark's `TestSuiteBase`.
//!
//! [`ManualRun`] starts a context on a [`ManualClock`] at 0, then for each batch *i* advances
//! the clock to `i × interval` and waits until every output operation has finished that batch,
//! so a test sees batch *i*'s output exactly, with no sleeps and no timing assumptions.
//! [`run_batches`] is the one-line form for a single input; [`run_sorted_batches`] and
//! [`run_two_sorted_batches`] sort each output batch, for one input or two.
//!
//! ```
//! use sluice_minibatch::testing::run_batches;
//! let out = run_batches(1000, vec![vec![1u64, 2], vec![], vec![3]], |s| s.count()).unwrap();
//! assert_eq!(out, vec![vec![2], vec![0], vec![1]]);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sluice_engine::clock::{Clock, ManualClock};
use sluice_engine::stream::Data;
use sluice_engine::{Execution, Time};

use crate::batch::Batch;
use crate::context::StreamingContext;
use crate::dstream::DStream;
use crate::error::Result;
use crate::graph::Graph;

/// The batches an output stream produced: time and contents.
pub type Outputs<U> = Arc<Mutex<Vec<Batch<U>>>>;

/// A deterministic, manual-clock run of a graph with one collected output stream.
pub struct ManualRun {
    workers: usize,
    interval: Time,
    default_parallelism: Option<u32>,
}

impl ManualRun {
    /// Batches of `interval` ms on one worker.
    pub fn new(interval: Time) -> Self {
        ManualRun {
            workers: 1,
            interval,
            default_parallelism: None,
        }
    }

    /// Runs on `workers` worker threads.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Sets the context's default shuffle partition count.
    pub fn default_parallelism(mut self, partitions: u32) -> Self {
        self.default_parallelism = Some(partitions);
        self
    }

    /// Runs `batches` batches of the graph `define` builds, collecting every batch of the
    /// stream it returns (only at times that stream has a batch), in time order.
    pub fn run<U, F>(&self, batches: usize, define: F) -> Result<Vec<Batch<U>>>
    where
        U: Data,
        F: for<'s> Fn(&Graph<'s>) -> DStream<'s, U> + Send + Sync + 'static,
    {
        let _turn = exclusive();
        let clock = ManualClock::new(0);
        let execution = Execution::default()
            .workers(self.workers)
            .clock(Clock::Manual(clock.clone()));
        let mut ssc = StreamingContext::new(execution, Duration::from_millis(self.interval));
        let checkpoint = scratch_dir();
        ssc.checkpoint(&checkpoint)?;
        if let Some(n) = self.default_parallelism {
            ssc.default_parallelism(n);
        }
        let outputs: Outputs<U> = Arc::default();
        let sink = outputs.clone();
        ssc.define(move |graph| {
            let sink = sink.clone();
            define(graph).foreach_rdd(move |batch| {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(batch)
            });
        })?;
        let result = (|| {
            ssc.start()?;
            for i in 1..=batches as Time {
                clock.advance_to(i * self.interval);
                ssc.await_batch(i * self.interval)?;
            }
            ssc.stop(true)
        })();
        let _ = std::fs::remove_dir_all(&checkpoint);
        result?;
        let mut outputs = std::mem::take(&mut *outputs.lock().unwrap_or_else(|e| e.into_inner()));
        outputs.retain(|b| b.time() <= batches as Time * self.interval);
        Ok(outputs)
    }
}

/// Waits until no other test of this process runs a context, and holds that turn until the
/// guard is dropped: one context may be active per process (Spark's rule), so tests that start
/// contexts in parallel threads take turns. [`ManualRun`] takes its turn itself.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `pipeline` over one input whose batch *i* is `batches[i - 1]` (in two partitions, as
/// Spark's tests split it) and returns each output batch's elements in collect order.
pub fn run_batches<T, U, F>(
    interval: Time,
    batches: Vec<Vec<T>>,
    pipeline: F,
) -> Result<Vec<Vec<U>>>
where
    T: Data + Sync,
    U: Data,
    F: for<'s> Fn(DStream<'s, T>) -> DStream<'s, U> + Send + Sync + 'static,
{
    let count = batches.len();
    let input: Vec<Option<Vec<T>>> = batches.into_iter().map(Some).collect();
    let out = ManualRun::new(interval).run(count, move |graph| {
        pipeline(graph.input_batches(input.clone(), 2))
    })?;
    Ok(out.into_iter().map(Batch::collect).collect())
}

/// [`run_batches`] with each output batch sorted, for operators whose output order within a
/// batch depends on partitioning (keyed aggregations, joins). The `# Examples` of the DStream
/// methods are written with it.
///
/// ```
/// use sluice_minibatch::testing::run_sorted_batches;
/// let out = run_sorted_batches(vec![vec![3u64, 1, 2]], |s| s.map(|x| x * 2)).unwrap();
/// assert_eq!(out, vec![vec![2, 4, 6]]);
/// ```
pub fn run_sorted_batches<T, U, F>(batches: Vec<Vec<T>>, pipeline: F) -> Result<Vec<Vec<U>>>
where
    T: Data + Sync,
    U: Data + Ord,
    F: for<'s> Fn(DStream<'s, T>) -> DStream<'s, U> + Send + Sync + 'static,
{
    let mut out = run_batches(1000, batches, pipeline)?;
    out.iter_mut().for_each(|batch| batch.sort());
    Ok(out)
}

/// [`run_sorted_batches`] over two inputs of 1 s batches, for operators on two streams (joins,
/// `cogroup`, `union`, `transform_with`).
///
/// ```
/// use sluice_minibatch::testing::run_two_sorted_batches;
/// let out = run_two_sorted_batches(vec![vec![2u64]], vec![vec![1u64]], |a, b| a.union(&b));
/// assert_eq!(out.unwrap(), vec![vec![1, 2]]);
/// ```
pub fn run_two_sorted_batches<A, B, U, F>(
    left: Vec<Vec<A>>,
    right: Vec<Vec<B>>,
    pipeline: F,
) -> Result<Vec<Vec<U>>>
where
    A: Data + Sync,
    B: Data + Sync,
    U: Data + Ord,
    F: for<'s> Fn(DStream<'s, A>, DStream<'s, B>) -> DStream<'s, U> + Send + Sync + 'static,
{
    let count = left.len().max(right.len());
    let left: Vec<Option<Vec<A>>> = left.into_iter().map(Some).collect();
    let right: Vec<Option<Vec<B>>> = right.into_iter().map(Some).collect();
    let out = ManualRun::new(1000).run(count, move |graph| {
        let (a, b) = (
            graph.input_batches(left.clone(), 2),
            graph.input_batches(right.clone(), 2),
        );
        pipeline(a, b)
    })?;
    let mut out: Vec<Vec<U>> = out.into_iter().map(Batch::collect).collect();
    out.iter_mut().for_each(|batch| batch.sort());
    Ok(out)
}

/// A fresh directory under the system's temporary directory, for a run's checkpoints.
fn scratch_dir() -> std::path::PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("sluice-minibatch-{}-{n}", std::process::id()))
}
