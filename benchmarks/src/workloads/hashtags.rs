//! Windowed hashtag counts — the D-Streams paper's Twitter example,
//! `hashTags.window(Minutes(1), Seconds(5)).countByValue()` — with each word of a corpus line
//! standing for a hashtag (the corpus's words are Zipf-popular, as hashtags are).
//!
//! Native mode counts in *event* time (a line's event time is its scheduled send time; the
//! watermark follows it), micro-batch mode in *processing* time (windows of batches, by
//! arrival) — each mode's natural model. Both emit a window's counts when it closes; latency is
//! the time from the window's end to its counts reaching the sink.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::testing::ManualRun;
use sluice_minibatch::DStream;

use super::timed::{Probe, Timed};
use super::tweets::Tweet;

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
