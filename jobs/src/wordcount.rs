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

use sluice_connectors::{AnyBroker, BrokerSink, PublishTo};
use sluice_engine::operators::keyed::Sum;
use sluice_engine::prelude::*;
use sluice_engine::sources::{LineSource, Source};
use sluice_minibatch::{DStream, Show, StreamingContext};

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

/// Runs word count over `source` and returns the final table (on process 0; empty elsewhere),
/// sorted by word. With `print`, every running-count update is printed to stdout as it
/// happens, as Flink's `DataStream.print()` prints `keyBy(word).sum(1)` (see `print_updates`);
/// with `publish`, every update is published there as `word<TAB>count`.
pub fn run<S: Lines>(
    execution: Execution,
    source: S,
    progress: &Progress,
    print: bool,
    publish: Option<BrokerSink<AnyBroker>>,
) -> Result<Vec<(String, u64)>> {
    let table = Collector::new();
    let sink = table.clone();
    let progress_handle = progress.clone();
    execute(execution, move |worker| {
        worker.dataflow(|scope| {
            let mut counts = word_counts(source.stream(scope), &progress_handle);
            if print {
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

/// Runs word count in micro-batches of `batch_ms` over `source` and returns the final table
/// (on process 0; empty elsewhere), sorted by word: the per-batch counts, summed. With
/// `print > 0`, each batch's counts are printed as Spark's NetworkWordCount prints them
/// (`wordCounts.print(print)`: the batch time and its first `print` pairs, on the driver).
pub fn run_minibatch<S: Lines>(
    execution: Execution,
    batch_ms: u64,
    source: S,
    progress: &Progress,
    print: usize,
    publish: Option<BrokerSink<AnyBroker>>,
) -> std::result::Result<Vec<(String, u64)>, sluice_minibatch::Error> {
    let table = Collector::new();
    let sink = table.clone();
    let progress = progress.clone();
    let mut ssc = StreamingContext::new(execution, std::time::Duration::from_millis(batch_ms));
    ssc.define(move |graph| {
        let counts = batch_word_counts(graph.source(&source), &progress);
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

/// `sluice run wordcount`: the running count of every word of `source`, in `mode`.
#[derive(Clone, Debug)]
pub struct WordCount<S = LineSource> {
    /// Where the lines come from.
    pub source: S,
    /// Native, or micro-batches of an interval.
    pub mode: Mode,
    /// Print the counts to stdout as Spark and Flink programs do: natively, any `print > 0`
    /// prints every running-count update (see [`run`]); in micro-batches, each batch's first
    /// `print` pairs (see [`run_minibatch`]). 0 prints nothing.
    pub print: usize,
    /// Where to publish every running-count update (`word<TAB>count`): natively each update,
    /// in micro-batches each batch's new totals; exactly once with checkpoints.
    pub publish: Option<BrokerSink<AnyBroker>>,
}

impl<S: Lines> WordCount<S> {
    /// Runs the job; returns the final table (on process 0; empty elsewhere), sorted by word.
    /// Counts what it reads into `progress`.
    pub fn run(
        self,
        execution: Execution,
        progress: &Progress,
    ) -> sluice_minibatch::Result<Vec<(String, u64)>> {
        Ok(match self.mode {
            Mode::Native => run(
                execution,
                self.source,
                progress,
                self.print > 0,
                self.publish,
            )?,
            Mode::MicroBatch { interval_ms } => run_minibatch(
                execution,
                interval_ms,
                self.source,
                progress,
                self.print,
                self.publish,
            )?,
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
