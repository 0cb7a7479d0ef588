//! Latency recording into an HdrHistogram.
//!
//! Two ways to say when a record's effect is visible:
//! - [`record_latency`]: when a record that carries its send time reaches the sink (native
//!   mode, where every input record produces its own output at once);
//! - [`record_latency_since_time`]: when a record stamped with its window's end reaches the
//!   sink (event-time latency of windowed results);
//! - [`record_latency_on_completion`]: when a results stream's frontier passes the record's
//!   timestamp, i.e. when every result of that time has been delivered (micro-batch mode,
//!   where a batch's results are visible together once the batch is done).
//!
//! Each worker records into its own histogram (no lock per record) and adds it to the shared
//! [`LatencyRecorder`] every [`MERGE_EVERY`] and when its input ends, so a progress display can
//! read near-live percentiles and the final figures are complete.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::operators::stateless::Stateless;
use crate::stream::Stream;
use crate::time::{now_nanos, Time};

/// How often a worker adds its local histogram to the shared one.
pub const MERGE_EVERY: Duration = Duration::from_millis(200);
/// Significant figures kept by the histograms.
const SIGNIFICANT_FIGURES: u8 = 3;

/// A latency histogram (nanoseconds) shared by the workers of a process.
#[derive(Clone)]
pub struct LatencyRecorder {
    shared: Arc<Mutex<Histogram<u64>>>,
}

impl std::fmt::Debug for LatencyRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyRecorder")
            .field("recorded", &self.snapshot().len())
            .finish()
    }
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
    /// Makes what this records part of `job`'s metrics, as `name` (its UI and `/metrics`).
    pub fn report_to(&self, job: &crate::job::JobContext, name: &str) {
        let (recorder, name) = (self.clone(), name.to_string());
        job.metrics().record_latency(move || {
            let h = recorder.snapshot();
            let ms = |nanos: u64| nanos as f64 / 1e6;
            crate::metrics::LatencySummary {
                name: name.clone(),
                count: h.len(),
                mean_ms: h.mean() / 1e6,
                p50_ms: ms(h.value_at_quantile(0.5)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                p999_ms: ms(h.value_at_quantile(0.999)),
                max_ms: ms(h.max()),
            }
        });
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

/// Records `nanos` `count` times; auto-resizing histograms grow instead of failing.
fn record(local: &mut Histogram<u64>, nanos: u64, count: u64) {
    if local.record_n(nanos, count).is_err() {
        local.saturating_record_n(nanos, count);
    }
}

/// Merges into the shared histogram at most every [`MERGE_EVERY`], and at the end.
struct Merger {
    recorder: LatencyRecorder,
    local: Histogram<u64>,
    last_merge: Instant,
}

impl Merger {
    fn new(recorder: &LatencyRecorder) -> Self {
        Merger {
            recorder: recorder.clone(),
            local: new_histogram(),
            last_merge: Instant::now(),
        }
    }
    fn maybe_merge(&mut self, ended: bool) {
        if ended || self.last_merge.elapsed() >= MERGE_EVERY {
            self.recorder.add(&mut self.local);
            self.last_merge = Instant::now();
        }
    }
}

pub(super) fn record_latency_on_completion<D: 'static, R: 'static>(
    sent: Stream<'_, D>,
    results: Stream<'_, R>,
    recorder: &LatencyRecorder,
    sent_nanos: impl Fn(&D) -> (u64, u64) + 'static,
) {
    // The results carry no data here, only their progress: the sink's frontier becomes the
    // meet of the sent records' and the results' frontiers.
    let done = results.flat_map(|_| None);
    let mut merger = Merger::new(recorder);
    let mut pending: BTreeMap<Time, Vec<(u64, u64)>> = BTreeMap::new();
    sent.map(move |record| sent_nanos(&record))
        .union(done)
        .sink(
            Pipeline,
            "RecordLatencyOnCompletion",
            move |(input, frontier)| {
                input.for_each_stamp(|cap, data| {
                    let waiting = pending
                        .entry(*cap.least().expect("a Vec message has one time"))
                        .or_default();
                    data.for_each(|batch| waiting.append(batch));
                });
                let now = now_nanos();
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    for (nanos, count) in entry.remove() {
                        record(&mut merger.local, now.saturating_sub(nanos).max(1), count);
                    }
                }
                merger.maybe_merge(frontier.is_empty());
            },
        );
}

pub(super) fn record_latency_since_time<D: 'static>(
    stream: Stream<'_, D>,
    recorder: &LatencyRecorder,
    times: std::ops::Range<Time>,
) {
    let mut merger = Merger::new(recorder);
    stream.sink(
        Pipeline,
        "RecordLatencySinceTime",
        move |(input, frontier)| {
            input.for_each_stamp(|cap, data| {
                let time = *cap.least().expect("a Vec message has one time");
                let records: usize = data.map(|batch| batch.len()).sum();
                if times.contains(&time) && records > 0 {
                    let nanos = now_nanos().saturating_sub(time * 1_000_000).max(1);
                    record(&mut merger.local, nanos, records as u64);
                }
            });
            merger.maybe_merge(frontier.is_empty());
        },
    );
}

pub(super) fn record_latency<D: 'static>(
    stream: Stream<'_, D>,
    recorder: &LatencyRecorder,
    sent_nanos: impl Fn(&D) -> u64 + 'static,
) {
    let mut merger = Merger::new(recorder);
    stream.sink(Pipeline, "RecordLatency", move |(input, frontier)| {
        input.for_each_stamp(|_, data| {
            let now = now_nanos();
            for batch in data {
                for item in batch.iter() {
                    let nanos = now.saturating_sub(sent_nanos(item)).max(1);
                    record(&mut merger.local, nanos, 1);
                }
            }
        });
        merger.maybe_merge(frontier.is_empty());
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use timely::container::CapacityContainerBuilder;
    use timely::dataflow::operators::generic::operator::source;

    use super::*;
    use crate::prelude::*;

    /// A results stream that stays open at time 0 until `release` is set.
    fn held_open<'s>(scope: Scope<'s>, release: Arc<AtomicBool>) -> Stream<'s, ()> {
        source::<_, CapacityContainerBuilder<Vec<()>>, _, _>(scope, "HeldOpen", move |cap, info| {
            let activator = scope.activator_for(info.address.clone());
            let mut cap = Some(cap);
            move |_output| {
                if release.load(Ordering::Relaxed) {
                    cap = None;
                } else if cap.is_some() {
                    activator.activate_after(Duration::from_millis(5));
                }
            }
        })
    }

    #[test]
    fn completion_latency_waits_for_the_results_frontier() {
        let recorder = LatencyRecorder::new();
        let release = Arc::new(AtomicBool::new(false));
        let (r, open) = (recorder.clone(), release.clone());
        let job = std::thread::spawn(move || {
            execute(Execution::default(), move |worker| {
                let (r, open) = (r.clone(), open.clone());
                worker.dataflow(move |scope| {
                    let sent =
                        scope.timed_source([(1, (now_nanos(), 2u64)), (2, (now_nanos(), 3))]);
                    sent.record_latency_on_completion(held_open(scope, open), &r, |s| *s);
                });
            })
        });
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            recorder.snapshot().len(),
            0,
            "nothing is measured while the results are incomplete"
        );
        release.store(true, Ordering::Relaxed);
        job.join().unwrap().unwrap();
        let measured = recorder.snapshot();
        assert_eq!(
            measured.len(),
            5,
            "each record counts as many times as it stands for"
        );
        // Sent while the dataflow was built, measured after the 300 ms hold: well over 200 ms
        // (a measurement on arrival would be microseconds).
        assert!(
            measured.min() >= 200_000_000,
            "measured after the release, not before"
        );
    }
}
