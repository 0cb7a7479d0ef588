//! Windowed hashtag counts — the D-Streams paper's Twitter example,
//! `hashTags.window(Minutes(1), Seconds(5)).countByValue()` — with each word of a corpus line
//! standing for a hashtag (the corpus's words are Zipf-popular, as hashtags are).
//!
//! Native mode counts in *event* time (a line's event time is its scheduled send time; the
//! watermark follows it), micro-batch mode in *processing* time (windows of batches, by
//! arrival) — each mode's natural model. Both emit a window's counts when it closes; latency is
//! the time from the window's end to its counts reaching the sink.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::testing::ManualRun;
use sluice_minibatch::DStream;

use crate::mode::Mode;
use crate::probe::{Probe, Timed};
use crate::result_file::write_lines;
use crate::tweets::{Arrivals, Tweet, TweetSpec};

/// Each window's final count per hashtag, keyed by (window end in ms, hashtag).
pub type WindowCounts = BTreeMap<(Time, String), u64>;

/// `sluice run hashtags` in event time: `tweets`, in arrival order, split across the workers
/// (worker `w` of `n` reads arrivals `w, w + n, …`), counted per hashtag in event-time windows
/// under a watermark `disorder` ms behind the highest event time seen, with allowed `lateness`
/// (ms): a tweet out of order by at most `disorder + lateness` counts in its windows. Returns
/// (on process 0) each window's final counts and how many hashtag occurrences were too late
/// for all their windows.
pub fn run_event_time(
    execution: Execution,
    tweets: Arc<Vec<Tweet>>,
    window: WindowSpec,
    (disorder, lateness): (Time, Time),
) -> Result<(WindowCounts, u64)> {
    let (counts, late) = (Collector::new(), Collector::new());
    let (c, l) = (counts.clone(), late.clone());
    execute(execution, move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<Tweet> = tweets.iter().skip(index).step_by(peers).cloned().collect();
        worker.dataflow(|scope| {
            let (windows, too_late) = scope
                .iterator_source(mine)
                .with_event_time(
                    |tweet: &Tweet| tweet.event_ms,
                    Watermarks::bounded_out_of_orderness(disorder),
                )
                .flat_map(|tweet| {
                    let at = tweet.event_ms;
                    tweet.tags.into_iter().map(move |tag| (tag, at))
                })
                .count_by_event_window(window, lateness);
            windows.gather().collect_into(&c);
            too_late.map(|_| ()).gather().collect_into(&l);
        });
    })?;
    let mut finals = WindowCounts::new();
    for w in counts.take() {
        let count = finals.entry((w.end, w.key)).or_default();
        *count = (*count).max(w.count); // a late update only ever raises a count
    }
    Ok((finals, late.len() as u64))
}

/// `sluice run hashtags` in micro-batches: the same tweets, each in the batch of its *arrival*
/// time (`arrivals` holds (arrival ms, tweet)), replayed batch by batch under a manual clock, and
/// counted with `countByValueAndWindow(length, slide)` — Spark Streaming's processing-time
/// windows, in which an out-of-order or late tweet counts in the window it arrived in.
pub fn run_arrival_time(
    workers: usize,
    arrivals: Vec<(Time, Tweet)>,
    batch_ms: Time,
    (length, slide): (Duration, Duration),
) -> sluice_minibatch::Result<WindowCounts> {
    let last = arrivals.last().map_or(0, |(at, _)| *at);
    // Batch i (from 1) holds the arrivals in [(i − 1) × batch, i × batch); after the last
    // arrival, one window more lets every window holding a tweet close.
    let batches = (last / batch_ms + 1) + (length.as_millis() as Time).div_ceil(batch_ms);
    let mut input: Vec<Option<Vec<Vec<String>>>> = vec![Some(Vec::new()); batches as usize];
    for (at, tweet) in arrivals {
        if let Some(Some(batch)) = input.get_mut((at / batch_ms) as usize) {
            batch.push(tweet.tags);
        }
    }
    let out = ManualRun::new(batch_ms)
        .workers(workers)
        .run(batches as usize, move |graph| {
            graph
                .input_batches(input.clone(), 2)
                .flat_map(|tags| tags)
                .count_by_value_and_window(length, slide)
        })?;
    let mut finals = WindowCounts::new();
    for batch in out {
        let end = batch.time();
        for (tag, count) in batch.collect() {
            if count > 0 {
                finals.insert((end, tag), count);
            }
        }
    }
    Ok(finals)
}

/// A line's words with the line's event time (ms): its scheduled send time.
pub fn words_in_event_time(lines: Stream<'_, Timed>) -> Stream<'_, (String, Time)> {
    lines
        .with_event_time(|(sent, _)| sent / 1_000_000, Watermarks::ascending())
        .flat_map(|(sent, line)| {
            let event_time = sent / 1_000_000;
            line.split_ascii_whitespace()
                .map(|word| (word.to_string(), event_time))
                .collect::<Vec<_>>()
        })
}

/// A line's words (micro-batch mode).
pub fn words<'s>(lines: &DStream<'s, Timed>) -> DStream<'s, String> {
    lines.flat_map(|(_, line)| {
        line.split_ascii_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    })
}

/// Timed hashtag counts, native: event-time windows of `length`, sliding by `slide`.
pub fn timed_native(
    lines: Stream<'_, Timed>,
    (length, slide): (Duration, Duration),
    probe: &Probe,
) {
    let (counts, _late) =
        words_in_event_time(lines).count_by_event_window(WindowSpec::sliding(length, slide), 0);
    probe.window_results(counts.map(|w| w.count));
}

/// Timed hashtag counts, micro-batch: `countByValueAndWindow(length, slide)` by arrival.
pub fn timed_minibatch(
    lines: DStream<'_, Timed>,
    (length, slide): (Duration, Duration),
    probe: &Probe,
) {
    let counts = words(&lines).count_by_value_and_window(length, slide);
    probe.window_results(counts.into_stream().flat_map(|(_, n)| (n > 0).then_some(n)));
}

/// `sluice run hashtags`: a synthetic tweet stream, delivered out of order as `arrivals`
/// says, counted per hashtag in windows of `window` sliding by `slide`.
///
/// Natively in event time ([`run_event_time`]): with no late fraction, the counts are the
/// same for any arrival order, disorder, lateness and worker count. In micro-batches, Spark
/// Streaming's processing-time windows ([`run_arrival_time`]): a different result, by design.
#[derive(Clone, Debug)]
pub struct Hashtags {
    /// The tweets.
    pub tweets: TweetSpec,
    /// Their arrival order and lateness.
    pub arrivals: Arrivals,
    /// Window length.
    pub window: Duration,
    /// Window slide.
    pub slide: Duration,
    /// The watermark's bound on disorder, in ms (native mode).
    pub disorder_ms: Time,
    /// The windows' allowed lateness, in ms (native mode).
    pub lateness_ms: Time,
    /// Event-time windows (native) or processing-time windows (micro-batches of an interval,
    /// replayed in one process).
    pub mode: Mode,
}

impl Hashtags {
    /// Runs the job; returns (on process 0) each window's final counts and how many hashtag
    /// occurrences were too late for every window.
    pub fn run(&self, execution: Execution) -> sluice_minibatch::Result<(WindowCounts, u64)> {
        let arrivals = self.arrivals.schedule(&self.tweets);
        let tweets = self.tweets.all();
        Ok(match self.mode {
            Mode::Native => {
                let in_order = arrivals.iter().map(|(_, i)| tweets[*i as usize].clone());
                run_event_time(
                    execution,
                    Arc::new(in_order.collect()),
                    WindowSpec::sliding(self.window, self.slide),
                    (self.disorder_ms, self.lateness_ms),
                )?
            }
            Mode::MicroBatch { interval_ms } => {
                let timed = arrivals
                    .iter()
                    .map(|(at, i)| (*at, tweets[*i as usize].clone()))
                    .collect();
                let workers = execution.local_workers();
                let window = (self.window, self.slide);
                (run_arrival_time(workers, timed, interval_ms, window)?, 0)
            }
        })
    }
}

/// Each window's `top` hashtags, most counted first (ties by name), in window order.
pub fn top_per_window(counts: &WindowCounts, top: usize) -> Vec<(Time, Vec<(&str, u64)>)> {
    let mut windows: BTreeMap<Time, Vec<(&str, u64)>> = BTreeMap::new();
    for ((end, tag), count) in counts {
        windows.entry(*end).or_default().push((tag, *count));
    }
    windows
        .into_iter()
        .map(|(end, mut tags)| {
            tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            tags.truncate(top);
            (end, tags)
        })
        .collect()
}

/// Writes `window_end_ms<TAB>hashtag<TAB>count` lines in (window, hashtag) order, atomically.
pub fn write_counts(path: &Path, counts: &WindowCounts) -> Result<()> {
    write_lines(
        path,
        counts
            .iter()
            .map(|((end, tag), count)| format!("{end}\t{tag}\t{count}")),
    )
}
