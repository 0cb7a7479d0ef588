//! Latency recording into an HdrHistogram.
//!
//! Each worker records into its own histogram (no lock per record) and adds it to the shared
//! [`LatencyRecorder`] every [`MERGE_EVERY`] and when its input ends, so a progress display can
//! read near-live percentiles and the final figures are complete.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::stream::Stream;
use crate::time::now_nanos;

/// How often a worker adds its local histogram to the shared one.
pub const MERGE_EVERY: Duration = Duration::from_millis(200);
/// Significant figures kept by the histograms.
const SIGNIFICANT_FIGURES: u8 = 3;

/// A latency histogram (nanoseconds) shared by the workers of a process.
#[derive(Clone)]
pub struct LatencyRecorder {
    shared: Arc<Mutex<Histogram<u64>>>,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder {
            shared: Arc::new(Mutex::new(new_histogram())),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_FIGURES).expect("3 significant figures is a valid precision")
}

impl LatencyRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }
    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Histogram<u64> {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    /// Empties the recorder (e.g. at the end of a warm-up).
    pub fn reset(&self) {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reset();
    }
    fn add(&self, local: &mut Histogram<u64>) {
        if !local.is_empty() {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            let _ = shared.add(&*local); // auto-resizing histograms cannot fail to add
            local.reset();
        }
    }
}

pub(super) fn record_latency<D: 'static>(
    stream: Stream<'_, D>,
    recorder: &LatencyRecorder,
    sent_nanos: impl Fn(&D) -> u64 + 'static,
) {
    let recorder = recorder.clone();
    let mut local = new_histogram();
    let mut last_merge = Instant::now();
    stream.sink(Pipeline, "RecordLatency", move |(input, frontier)| {
        input.for_each_stamp(|_, data| {
            let now = now_nanos();
            for batch in data {
                for record in batch.iter() {
                    let nanos = now.saturating_sub(sent_nanos(record)).max(1);
                    // `record` grows the histogram; `saturating_record` would clamp instead.
                    if local.record(nanos).is_err() {
                        local.saturating_record(nanos);
                    }
                }
            }
        });
        if frontier.is_empty() || last_merge.elapsed() >= MERGE_EVERY {
            recorder.add(&mut local);
            last_merge = Instant::now();
        }
    });
}
