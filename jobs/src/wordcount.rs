//! Word count: the running count of every word (split on ASCII whitespace) in a stream of lines.
//!
//! The dataflow is the engine's keyed counting with borrowed keys: each worker pre-aggregates
//! the words of what has just arrived, sends one partial count per distinct word to the word's
//! owner, and the owner emits the word's new running count. The final table (the last count of
//! each word) is gathered to worker 0 when the input ends.
//!
//! In micro-batch mode ([`run_minibatch`]) the same counting runs per batch (Spark's
//! `flatMap → map → reduceByKey`, fused as `count_keys_with`), and the batch counts are summed
//! into the same final table.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_connectors::{AnyBroker, BrokerSink, PublishTo};
use sluice_engine::operators::keyed::Sum;
use sluice_engine::prelude::*;
use sluice_engine::sources::{LineSource, Source};
use sluice_minibatch::{Backpressure, DStream, Show, StreamingContext};

use crate::mode::Mode;
use crate::probe::{Probe, Timed};
use crate::result_file::write_lines;

/// Progress of a running word count in this process, readable from another thread.
///
/// Exact at any moment: each worker stores its own running totals after every line into a
/// slot of its own (a plain store to a cache line no other worker writes, so it costs next to
/// nothing), and a reader sums the slots. A status line of a slowly typed stream then shows
/// every line, not multiples of some publishing chunk.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    slots: Arc<Mutex<Vec<Arc<Slot>>>>,
}

/// One worker's totals, on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Slot {
    lines: AtomicU64,
    words: AtomicU64,
}

impl Progress {
    /// Lines counted so far by this process's workers.
    pub fn lines(&self) -> u64 {
        self.sum(|slot| &slot.lines)
    }
    /// Words counted so far by this process's workers.
    pub fn words(&self) -> u64 {
        self.sum(|slot| &slot.words)
    }
    fn sum(&self, counter: fn(&Slot) -> &AtomicU64) -> u64 {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .sum()
    }
    /// A new slot for one counting operator.
    fn slot(&self) -> Arc<Slot> {
        let slot = Arc::new(Slot::default());
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.push(slot.clone());
        slot
    }
}

/// Adds a line's words to a combiner, counting lines and words into `progress`.
fn count_words(
    progress: &Progress,
) -> impl FnMut(String, &mut Combiner<String, u64, Sum>) + 'static {
    let slot = progress.slot();
    let (mut lines_seen, mut words_seen) = (0u64, 0u64);
    move |line: String, words| {
        for word in line.split_ascii_whitespace() {
            words.add(word, 1);
            words_seen += 1;
        }
        lines_seen += 1;
        slot.words.store(words_seen, Ordering::Relaxed);
        slot.lines.store(lines_seen, Ordering::Relaxed);
    }
}

/// The running word counts of `lines`; counts what it sees into `progress`.
pub fn word_counts<'scope>(
    lines: Stream<'scope, String>,
    progress: &Progress,
) -> Stream<'scope, (String, u64)> {
    lines.count_keys_with(count_words(progress))
}

/// Each batch's word counts of `lines` (micro-batch mode).
pub fn batch_word_counts<'scope>(
    lines: DStream<'scope, String>,
    progress: &Progress,
) -> DStream<'scope, (String, u64)> {
    lines.count_keys_with(count_words(progress))
}

/// Native word count (see [`WordCount::run`]).
fn run_native<S: Lines>(
    execution: Execution,
    job: WordCount<S>,
    progress: &Progress,
) -> Result<Vec<(String, u64)>> {
    let table = Collector::new();
    let sink = table.clone();
    let progress_handle = progress.clone();
    let WordCount {
        source,
        print,
        publish,
        slow_line,
        ..
    } = job;
    execute(execution, move |worker| {
        worker.dataflow(|scope| {
            let mut lines = source.stream(scope);
            if let Some(cost) = slow_line {
                lines = lines.map(move |line| {
                    spin(cost);
                    line
                });
            }
            let mut counts = word_counts(lines, &progress_handle);
            if print > 0 {
                counts = print_updates(counts, scope.index(), scope.peers());
            }
            if let Some(publish) = &publish {
                publish_counts(counts.clone(), publish);
            }
            counts.last_by_key().gather().collect_into(&sink);
        });
    })?;
    let mut table = table.take();
    table.sort_unstable();
    Ok(table)
}

/// Spends `cost` of CPU: what a deliberately slow operator does with each line, to overload a
/// job on purpose (the overload test, the UI's back pressure).
fn spin(cost: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < cost {
        std::hint::spin_loop();
    }
}

/// Publishes each update of `counts` as `word<TAB>count`, exactly once with checkpoints.
fn publish_counts(counts: Stream<'_, (String, u64)>, sink: &BrokerSink<AnyBroker>) {
    counts
        .map(|(word, count)| format!("{word}\t{count}"))
        .publish_to(sink);
}

/// A source of lines word count can read: any [`Source`] of `String`s the workers can share.
pub trait Lines: Source<Item = String> + Send + Sync {}
impl<S: Source<Item = String> + Send + Sync> Lines for S {}

/// Prints each update of `counts` to stdout as Flink's `print()` sink does: `(word,count)`
/// (Scala's tuple form, as [`Show`] writes it), prefixed with `N> `, the printing worker
/// counted from 1 (Flink's subtask index), when there is more than one worker.
fn print_updates<'s>(
    counts: Stream<'s, (String, u64)>,
    worker: usize,
    workers: usize,
) -> Stream<'s, (String, u64)> {
    let prefix = if workers > 1 {
        format!("{}> ", worker + 1)
    } else {
        String::new()
    };
    counts.inspect(move |update| {
        let _ = writeln!(std::io::stdout().lock(), "{prefix}{}", update.show());
    })
}

/// Micro-batch word count (see [`WordCount::run`]): each batch's counts are summed into the
/// final table; with `print > 0`, each batch's counts are printed as Spark's NetworkWordCount
/// prints them (`wordCounts.print(print)`: the batch time and its first `print` pairs).
fn run_minibatch<S: Lines>(
    execution: Execution,
    batch_ms: u64,
    job: WordCount<S>,
    progress: &Progress,
) -> std::result::Result<Vec<(String, u64)>, sluice_minibatch::Error> {
    let table = Collector::new();
    let sink = table.clone();
    let progress = progress.clone();
    let WordCount {
        source,
        print,
        publish,
        slow_line,
        backpressure,
        ..
    } = job;
    let mut ssc = StreamingContext::new(execution, Duration::from_millis(batch_ms));
    if backpressure {
        ssc.backpressure(Backpressure::default());
    }
    ssc.define(move |graph| {
        let mut lines = graph.source(&source);
        if let Some(cost) = slow_line {
            lines = lines.map(move |line| {
                spin(cost);
                line
            });
        }
        let counts = batch_word_counts(lines, &progress);
        // The batch job; the sum below is its result.
        if print > 0 {
            counts.print_n(print);
        }
        // Each batch's new running total of every word it changed, as updateStateByKey
        // would give them.
        let totals = counts.into_stream().reduce_by_key(|a, b| a + b);
        if let Some(publish) = &publish {
            publish_counts(totals.clone(), publish);
        }
        totals.last_by_key().gather().collect_into(&sink);
    })?;
    ssc.start()?;
    ssc.await_termination()?;
    let mut table = table.take();
    table.sort_unstable();
    Ok(table)
}

/// The words of a line: what word count counts, and how many outputs a line produces.
pub fn words_in(line: &str) -> u64 {
    line.split_ascii_whitespace().count() as u64
}

/// Timed word count, native: every word occurrence updates its word's running count at once
/// (Flink's `keyBy(word).sum(1)`); the update carries its line's send time to the probe.
pub fn timed_native(lines: Stream<'_, Timed>, probe: &Probe) {
    let words = lines.flat_map(|(sent, line)| {
        line.split_ascii_whitespace()
            .map(|word| (word.to_string(), sent))
            .collect::<Vec<_>>()
    });
    let updates = words.map_with_state(|_word, sent, count: &mut Option<u64>| {
        *count.get_or_insert(0) += 1;
        sent
    });
    probe.native(updates);
}

/// Timed word count, micro-batch: each batch's word counts (Spark's
/// `flatMap → map → reduceByKey`); every line is measured when its batch's counts are complete.
pub fn timed_minibatch(lines: DStream<'_, Timed>, probe: &Probe) {
    let counts = lines.count_keys_with(|(_, line): Timed, keys| {
        line.split_ascii_whitespace().for_each(|w| keys.add(w, 1))
    });
    let sent = lines.map(|(sent, line)| (sent, words_in(&line)));
    probe.minibatch(&sent, &counts.map(|(_, count)| count));
}

/// `sluice run wordcount`: the running count of every word of `source`, in `mode`. Built with
/// [`new`](Self::new) and the options' methods, run with [`run`](Self::run).
///
/// ```
/// use sluice_engine::prelude::*;
/// use sluice_jobs::{wordcount::{Progress, WordCount}, Mode};
/// let lines = Queue::new();
/// lines.push_all(["a b".to_string(), "b".to_string()]);
/// lines.close();
/// let job = WordCount::new(lines, Mode::Native);
/// let table = job.run(Execution::default(), &Progress::default()).unwrap();
/// assert_eq!(table, [("a".to_string(), 1), ("b".to_string(), 2)]);
/// ```
#[derive(Clone, Debug)]
pub struct WordCount<S = LineSource> {
    /// Where the lines come from.
    pub source: S,
    /// Native, or micro-batches of an interval.
    pub mode: Mode,
    print: usize,
    publish: Option<BrokerSink<AnyBroker>>,
    slow_line: Option<Duration>,
    backpressure: bool,
}

impl<S: Lines> WordCount<S> {
    /// Word count of `source` in `mode`, printing and publishing nothing.
    pub fn new(source: S, mode: Mode) -> Self {
        WordCount {
            source,
            mode,
            print: 0,
            publish: None,
            slow_line: None,
            backpressure: false,
        }
    }

    /// Prints the counts to stdout as Spark and Flink programs do: natively, any `print > 0`
    /// prints every running-count update, `(word,count)` as Flink's `DataStream.print()`; in
    /// micro-batches, each batch's first `print` pairs as Spark's `DStream.print(print)`.
    pub fn print(mut self, print: usize) -> Self {
        self.print = print;
        self
    }

    /// Publishes every running-count update (`word<TAB>count`) to a broker: natively each
    /// update, in micro-batches each batch's new totals; exactly once with checkpoints.
    pub fn publish(mut self, sink: Option<BrokerSink<AnyBroker>>) -> Self {
        self.publish = sink;
        self
    }

    /// Spends `cost` of CPU on every line before counting it: a deliberately slow operator,
    /// to see a job overloaded.
    pub fn slow_line(mut self, cost: Option<Duration>) -> Self {
        self.slow_line = cost;
        self
    }

    /// In micro-batches, Spark's rate control (`spark.streaming.backpressure.enabled`).
    pub fn backpressure(mut self, enabled: bool) -> Self {
        self.backpressure = enabled;
        self
    }

    /// Runs the job; returns the final table (on process 0; empty elsewhere), sorted by word.
    /// Counts what it reads into `progress`.
    pub fn run(
        self,
        execution: Execution,
        progress: &Progress,
    ) -> sluice_minibatch::Result<Vec<(String, u64)>> {
        Ok(match self.mode {
            Mode::Native => run_native(execution, self, progress)?,
            Mode::MicroBatch { interval_ms } => {
                run_minibatch(execution, interval_ms, self, progress)?
            }
        })
    }
}

/// Writes the final table as `word<TAB>count` lines, in its (sorted) order, atomically: a
/// crash leaves the old file or the new one, never a part of one.
pub fn write_counts(path: &Path, table: &[(String, u64)]) -> Result<()> {
    write_lines(
        path,
        table.iter().map(|(word, count)| format!("{word}\t{count}")),
    )
}

/// Timed word count, native, as the demo shows it: each word occurrence's new running count,
/// `(word, count, send time of its line)`, the moment its line is read.
pub fn timed_updates(lines: Stream<'_, Timed>) -> Stream<'_, (String, u64, u64)> {
    lines
        .flat_map(|(sent, line)| {
            line.split_ascii_whitespace()
                .map(|word| (word.to_string(), sent))
                .collect::<Vec<_>>()
        })
        .map_with_state(|word, sent, count: &mut Option<u64>| {
            let count = count.get_or_insert(0);
            *count += 1;
            (word.clone(), *count, sent)
        })
}

/// Timed word count, micro-batch, as the demo shows it: each batch's count of every word
/// (Spark's `flatMap → map → reduceByKey`).
pub fn timed_batch_counts<'s>(lines: &DStream<'s, Timed>) -> DStream<'s, (String, u64)> {
    lines
        .flat_map(|(_, line)| {
            line.split_ascii_whitespace()
                .map(|word| (word.to_string(), 1u64))
                .collect::<Vec<_>>()
        })
        .reduce_by_key(|a, b| a + b)
}
