//! Where streams end.
//!
//! - [`print`](Sinks::print) and [`for_each`](Sinks::for_each): per record, as it arrives;
//! - [`write_text`](Sinks::write_text): one part file per worker in a directory;
//! - [`write_epochs`](Sinks::write_epochs): one file per epoch and worker, written whole and
//!   rewritten identically on replay — exactly-once output with checkpoints;
//! - [`append_to_log`](Sinks::append_to_log): an event log, epoch by epoch, exactly-once;
//! - [`publish`](Sinks::publish): to a broker through a [`Publish`]er, each epoch once the
//!   checkpoint holding it is committed — exactly-once for systems that cannot take output back;
//! - [`collect_into`](Sinks::collect_into): records back to the program, for tests ([`Collector`]);
//! - [`record_latency`](Sinks::record_latency): now − a record's send time, into an HdrHistogram
//!   ([`LatencyRecorder`]), and [`record_latency_on_completion`](Sinks::record_latency_on_completion)
//!   for results that become visible a batch at a time.
//!
//! Delivery: after a failure and a restore from a checkpoint, the records after the checkpoint
//! are computed again. `write_epochs` is exactly-once: an epoch's file is written whole, and a
//! restore removes the files past the checkpoint before the epochs are written again
//! ([`read_epochs`] reads the output back); `append_to_log` skips what the log already holds of
//! the replayed epochs (exactly-once when the sources replay at the same times). The others
//! are at-least-once across a restore (`write_text` appends the replayed records again;
//! `print` prints them again).

mod collect;
mod committed;
mod epochs;
mod latency;
mod log;
mod text;

pub use collect::Collector;
pub use committed::Publish;
pub use epochs::read_epochs;
pub use latency::LatencyRecorder;

use std::fmt::Display;
use std::ops::Range;
use std::path::Path;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::log::LogConfig;
use crate::stream::Stream;
use crate::time::Time;

/// Terminal operators.
pub trait Sinks<'scope, D: 'static>: Sized {
    /// Prints each record on its own line of stdout.
    fn print(self)
    where
        D: Display;
    /// Calls `f` on each record.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// # use std::sync::Arc;
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let total = Arc::new(AtomicU64::new(0));
    /// let sum = total.clone();
    /// run_sorted(2, vec![1u64, 2, 3], move |s| {
    ///     let sum = sum.clone();
    ///     s.clone().for_each(move |x| {
    ///         sum.fetch_add(x, Relaxed);
    ///     });
    ///     s
    /// })
    /// .unwrap();
    /// assert_eq!(total.load(Relaxed), 6);
    /// ```
    fn for_each(self, f: impl FnMut(D) + 'static);
    /// Writes each record as a line to `dir/part-NNNNN`, one file per worker (global index).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let dir = std::env::temp_dir().join(format!("sluice-write-text-{}", std::process::id()));
    /// let out = dir.clone();
    /// run_sorted(2, vec![1u64, 2, 3], move |s| {
    ///     s.clone().write_text(&out);
    ///     s
    /// })
    /// .unwrap();
    /// // One part file per worker, one record per line.
    /// let mut lines: Vec<String> = std::fs::read_dir(&dir)
    ///     .unwrap()
    ///     .flat_map(|part| {
    ///         std::fs::read_to_string(part.unwrap().path())
    ///             .unwrap()
    ///             .lines()
    ///             .map(String::from)
    ///             .collect::<Vec<_>>()
    ///     })
    ///     .collect();
    /// lines.sort();
    /// assert_eq!(lines, ["1", "2", "3"]);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    fn write_text(self, dir: impl AsRef<Path>)
    where
        D: Display;
    /// Writes the records of each epoch — `every_ms` of stream time, or the checkpoint
    /// interval when the job checkpoints — as sorted lines to
    /// `dir/epoch-<end>-w<worker>.txt`, once the epoch is complete; exactly-once across
    /// restores from checkpoints (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_timed_sorted};
    /// let dir = std::env::temp_dir().join(format!("sluice-write-epochs-{}", std::process::id()));
    /// let out = dir.clone();
    /// let input = vec![(5, 'b'), (2, 'a'), (15, 'c')];
    /// run_timed_sorted(1, input, move |s| {
    ///     s.clone().write_epochs(&out, 10);
    ///     s
    /// })
    /// .unwrap();
    /// // (file, contents): each 10 ms epoch's records, sorted.
    /// let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
    ///     .unwrap()
    ///     .map(|f| f.unwrap().path())
    ///     .map(|p| {
    ///         (
    ///             p.file_name().unwrap().to_string_lossy().into(),
    ///             std::fs::read_to_string(&p).unwrap(),
    ///         )
    ///     })
    ///     .collect();
    /// files.sort();
    /// let contents: Vec<&str> = files.iter().map(|(_, text)| text.as_str()).collect();
    /// assert_eq!(contents, ["a\nb\n", "c\n"]);
    /// assert_eq!(files[1].0, "epoch-00000000000000000020-w00000.txt"); // epoch end, worker
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    fn write_epochs(self, dir: impl AsRef<Path>, every_ms: Time)
    where
        D: Display;
    /// Appends the records, as lines at their stream times, to the event log in `dir`: each
    /// epoch (`every_ms`, or the checkpoint interval) sorted, once complete, by worker 0;
    /// exactly-once across restores from checkpoints (see the module docs).
    fn append_to_log(self, dir: impl AsRef<Path>, config: LogConfig, every_ms: Time)
    where
        D: Display;
    /// Publishes the records as lines through one [`Publish`]er per worker (`make` gets the
    /// worker's index): each epoch once the checkpoint holding it is committed, so exactly once
    /// across crashes and restores, in the order each worker emitted them; without checkpoints,
    /// each epoch of `every_ms` when complete. See [`committed`](mod@committed).
    fn publish<P: Publish>(
        self,
        name: &str,
        every_ms: Time,
        make: impl FnOnce(usize) -> Result<P, crate::error::Error>,
    ) where
        D: Display;
    /// Appends every record to a [`Collector`] shared by the workers of this process.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// let out = Collector::new();
    /// let sink = out.clone();
    /// execute(Execution::default(), move |worker| {
    ///     worker.dataflow(|scope| scope.iterator_source(vec![1u64, 2]).collect_into(&sink));
    /// })
    /// .unwrap();
    /// assert_eq!(out.take(), vec![1, 2]);
    /// ```
    fn collect_into(self, collector: &Collector<D>)
    where
        D: Send;
    /// Records, per record, the time from `sent_nanos(record)` (Unix ns) to now in `recorder`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::{SystemTime, UNIX_EPOCH};
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // Records carrying their send time (Unix ns): one latency measured per record.
    /// let now = SystemTime::now()
    ///     .duration_since(UNIX_EPOCH)
    ///     .unwrap()
    ///     .as_nanos() as u64;
    /// let recorder = LatencyRecorder::new();
    /// let latencies = recorder.clone();
    /// run_sorted(2, vec![now; 3], move |s| {
    ///     s.clone().record_latency(&latencies, |sent| *sent);
    ///     s
    /// })
    /// .unwrap();
    /// assert_eq!(recorder.snapshot().len(), 3);
    /// ```
    fn record_latency(self, recorder: &LatencyRecorder, sent_nanos: impl Fn(&D) -> u64 + 'static);
    /// Records, per record, the time since its timestamp (ms) — for results stamped with the end
    /// of their window, the event-time latency. Only records stamped within `times` are
    /// measured (to leave out a warm-up, or windows closed early by the end of the input).
    fn record_latency_since_time(self, recorder: &LatencyRecorder, times: Range<Time>);
    /// Records, per record, the time from its send time to the moment `results` is complete
    /// for the record's timestamp (its frontier has passed it): the latency of a batch result,
    /// whose effect is visible all at once. `sent(record)` gives the send time (Unix ns) and how
    /// many occurrences it stands for.
    fn record_latency_on_completion<R: 'static>(
        self,
        results: Stream<'scope, R>,
        recorder: &LatencyRecorder,
        sent: impl Fn(&D) -> (u64, u64) + 'static,
    );
}

impl<'scope, D: 'static> Sinks<'scope, D> for Stream<'scope, D> {
    fn print(self)
    where
        D: Display,
    {
        self.for_each(|d| println!("{d}"));
    }

    fn for_each(self, mut f: impl FnMut(D) + 'static) {
        self.sink(Pipeline, "ForEach", move |(input, _)| {
            input.for_each_stamp(|_, data| {
                for batch in data {
                    batch.drain(..).for_each(&mut f);
                }
            });
        });
    }

    fn write_text(self, dir: impl AsRef<Path>)
    where
        D: Display,
    {
        text::write_text(self, dir.as_ref())
    }

    fn write_epochs(self, dir: impl AsRef<Path>, every_ms: Time)
    where
        D: Display,
    {
        epochs::write_epochs(self, dir.as_ref(), every_ms)
    }

    fn append_to_log(self, dir: impl AsRef<Path>, config: LogConfig, every_ms: Time)
    where
        D: Display,
    {
        log::append_to_log(self, dir.as_ref(), config, every_ms)
    }

    fn publish<P: Publish>(
        self,
        name: &str,
        every_ms: Time,
        make: impl FnOnce(usize) -> Result<P, crate::error::Error>,
    ) where
        D: Display,
    {
        committed::publish_committed(self, name, every_ms, make)
    }

    fn collect_into(self, collector: &Collector<D>)
    where
        D: Send,
    {
        collect::collect_into(self, collector)
    }

    fn record_latency(self, recorder: &LatencyRecorder, sent_nanos: impl Fn(&D) -> u64 + 'static) {
        latency::record_latency(self, recorder, sent_nanos)
    }

    fn record_latency_since_time(self, recorder: &LatencyRecorder, times: Range<Time>) {
        latency::record_latency_since_time(self, recorder, times)
    }

    fn record_latency_on_completion<R: 'static>(
        self,
        results: Stream<'scope, R>,
        recorder: &LatencyRecorder,
        sent: impl Fn(&D) -> (u64, u64) + 'static,
    ) {
        latency::record_latency_on_completion(self, results, recorder, sent)
    }
}
