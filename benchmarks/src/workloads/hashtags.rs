//! Windowed hashtag counts — the D-Streams paper's Twitter example,
//! `hashTags.window(Minutes(1), Seconds(5)).countByValue()` — with each word of a corpus line
//! standing for a hashtag (the corpus's words are Zipf-popular, as hashtags are).
//!
//! Native mode counts in *event* time (a line's event time is its scheduled send time; the
//! watermark follows it), micro-batch mode in *processing* time (windows of batches, by
//! arrival) — each mode's natural model. Both emit a window's counts when it closes; latency is
//! the time from the window's end to its counts reaching the sink.

use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::timed::{Probe, Timed};

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
    counts.foreach_partition(|_, _| {}); // the batch's output action
    probe.window_results(
        counts
            .tagged()
            .clone()
            .flat_map(|(_, (_, n))| (n > 0).then_some(n)),
    );
}
