//! TopKCount, the D-Streams paper's third workload: the `k` most frequent words of each sliding
//! window. The windowed counts are those of [`hashtags`](super::hashtags); the top `k` of each
//! window is then chosen in one place (worker 0 natively, the driver in micro-batch mode) once
//! the window's counts are complete. Latency is measured at the top-k output.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_engine::timely::dataflow::channels::pact::Exchange;
use sluice_engine::timely::dataflow::operators::{Capability, Operator};
use sluice_minibatch::DStream;

use super::hashtags::{words, words_in_event_time};
use super::timed::{Probe, Timed};

/// Words and their counts.
type Counts = Vec<(String, u64)>;

/// The `k` highest counts, highest first (ties by word, so the result is deterministic).
pub fn top_k(mut counts: Vec<(String, u64)>, k: usize) -> Vec<(String, u64)> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(k);
    counts
}

/// Per window end (the records' timestamp), the top `k` of `counts`, on worker 0, emitted once
/// the frontier has passed the window's end.
fn top_k_per_time(counts: Stream<'_, (String, u64)>, k: usize) -> Stream<'_, Vec<(String, u64)>> {
    counts.unary_frontier(Exchange::new(|_| 0), "TopK", move |_, _| {
        let mut pending: BTreeMap<Time, (Capability<Time>, Counts)> = BTreeMap::new();
        move |(input, frontier), output| {
            input.for_each_stamp(|cap, data| {
                let t = *cap.least().expect("a Vec message has one time");
                let entry = pending
                    .entry(t)
                    .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()));
                data.for_each(|batch| entry.1.append(batch));
            });
            while let Some(entry) = pending.first_entry() {
                if frontier.less_equal(entry.key()) {
                    break;
                }
                let (cap, counts) = entry.remove();
                output.session(&cap).give(top_k(counts, k));
            }
        }
    })
}

/// Timed top-k, native: event-time sliding windows.
pub fn timed_native(
    lines: Stream<'_, Timed>,
    (length, slide): (Duration, Duration),
    k: usize,
    probe: &Probe,
) {
    let (windows, _late) =
        words_in_event_time(lines).count_by_event_window(WindowSpec::sliding(length, slide), 0);
    probe.count_outputs(windows.clone().map(|w| w.count));
    probe.window_latency(top_k_per_time(windows.map(|w| (w.key, w.count)), k));
}

/// Timed top-k, micro-batch: `countByValueAndWindow`, then the top `k` on the driver.
pub fn timed_minibatch(
    lines: DStream<'_, Timed>,
    (length, slide): (Duration, Duration),
    k: usize,
    probe: &Probe,
) {
    let counts = words(&lines)
        .count_by_value_and_window(length, slide)
        .filter(|(_, n)| *n > 0);
    let top = counts.transform(move |batch| {
        let time = batch.time();
        sluice_minibatch::Batch::parallelize(time, vec![top_k(batch.collect(), k)], 1)
    });
    top.foreach_partition(|_, _| {}); // the batch's output action
    probe.count_outputs(counts.tagged().clone().map(|(_, (_, n))| n));
    probe.window_latency(top.tagged().clone());
}
