//! TopKCount, the D-Streams paper's third workload: the `k` most frequent words of each sliding
//! window. The windowed counts are those of [`hashtags`](super::hashtags); the top `k` of each
//! window is then chosen in one place (natively by the engine's
//! [`top_k_per_window`](sluice_engine::operators::event_window::TopKPerWindow), in micro-batch
//! mode on the driver) once the window's counts are complete. Latency is measured at the top-k output.

use std::time::Duration;

use sluice_engine::operators::event_window::top_k;
use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use crate::hashtags::{words, words_in_event_time};
use crate::probe::{Probe, Timed};

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
    probe.window_latency(windows.top_k_per_window(k, 0));
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
    probe.count_outputs(counts.tagged().clone().map(|(_, (_, n))| n));
    probe.window_latency(top.into_stream());
}
