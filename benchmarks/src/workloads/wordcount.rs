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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sluice_engine::operators::keyed::Sum;
use sluice_engine::prelude::*;
use sluice_minibatch::{DStream, StreamingContext};

use super::lines::LineSource;
use super::timed::{Probe, Timed};

/// Lines a worker counts before publishing its progress counters.
const PUBLISH_EVERY_LINES: u64 = 1024;

/// Progress of a running word count in this process, readable from another thread.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    lines: Arc<AtomicU64>,
    words: Arc<AtomicU64>,
}

impl Progress {
    /// Lines counted so far by this process's workers.
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }
    /// Words counted so far by this process's workers.
    pub fn words(&self) -> u64 {
        self.words.load(Ordering::Relaxed)
    }
}

/// Adds a line's words to a combiner, counting lines and words into `progress`.
fn count_words(
    progress: &Progress,
) -> impl FnMut(String, &mut Combiner<String, u64, Sum>) + 'static {
    let progress = progress.clone();
    let (mut lines_seen, mut words_seen) = (0u64, 0u64);
    move |line: String, words| {
        for word in line.split_ascii_whitespace() {
            words.add(word, 1);
            words_seen += 1;
        }
        lines_seen += 1;
        if lines_seen == PUBLISH_EVERY_LINES {
            progress.lines.fetch_add(lines_seen, Ordering::Relaxed);
            progress.words.fetch_add(words_seen, Ordering::Relaxed);
            (lines_seen, words_seen) = (0, 0);
        }
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
/// sorted by word.
pub fn run(
    execution: Execution,
    source: LineSource,
    progress: &Progress,
) -> Result<Vec<(String, u64)>> {
    let table = Collector::new();
    let sink = table.clone();
    let progress_handle = progress.clone();
    execute(execution, move |worker| {
        worker.dataflow(|scope| {
            word_counts(source.stream(scope), &progress_handle)
                .last_by_key()
                .gather()
                .collect_into(&sink);
        });
    })?;
    let mut table = table.take();
    table.sort_unstable();
    Ok(table)
}

/// Runs word count in micro-batches of `batch_ms` over `source` and returns the final table
/// (on process 0; empty elsewhere), sorted by word: the per-batch counts, summed.
pub fn run_minibatch(
    execution: Execution,
    batch_ms: u64,
    source: LineSource,
    progress: &Progress,
) -> std::result::Result<Vec<(String, u64)>, sluice_minibatch::Error> {
    let table = Collector::new();
    let sink = table.clone();
    let progress = progress.clone();
    let mut ssc = StreamingContext::new(execution, std::time::Duration::from_millis(batch_ms));
    ssc.define(move |graph| {
        let counts = batch_word_counts(source.dstream(graph), &progress);
        counts.foreach_partition(|_, _| {}); // the batch job; the sum below is its result
        counts
            .tagged()
            .clone()
            .map(|(_, count)| count)
            .reduce_by_key(|a, b| a + b)
            .last_by_key()
            .gather()
            .collect_into(&sink);
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
    counts.foreach_partition(|_, _| {}); // the batch's output action
    let sent = lines.map(|(sent, line)| (sent, words_in(&line)));
    probe.minibatch(&sent, &counts.map(|(_, count)| count));
}
