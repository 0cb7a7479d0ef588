//! Timed workloads: the benchmark's jobs over lines that carry their scheduled send time, built
//! so that the sink can tell when each input's effect became visible.
//!
//! The input is the [stamped](sluice_engine::sources::stamped) format of open-loop load, parsed
//! into [`Timed`] lines. What "visible" means depends on the mode, and is the point of the
//! comparison:
//! - native: each input produces its own outputs at once (a word's new running count), and each
//!   output carries its input's send time to the sink ([`Probe::native`]);
//! - micro-batch: a batch's results are visible together, when the batch is done; every input
//!   of the batch is measured at that moment ([`Probe::minibatch`]).
//!
//! Inputs scheduled during the warm-up are processed and counted but not measured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sluice_engine::prelude::*;
use sluice_engine::sources::stamped::parse_stamped;
use sluice_engine::time::now_nanos;
use sluice_minibatch::DStream;

/// A line with its scheduled send time (Unix ns).
pub type Timed = (u64, String);

/// Where a latency run's measurements go: the histogram, and counters that prove nothing was
/// lost and drive the progress line.
#[derive(Clone)]
pub struct Probe {
    recorder: LatencyRecorder,
    measure_from: u64,
    measure_until: u64,
    ingested: Arc<AtomicU64>,
    first_sent: Arc<AtomicU64>,
    last_read: Arc<AtomicU64>,
    outputs: Arc<AtomicU64>,
}

impl Probe {
    /// A probe that measures inputs scheduled at or after `measure_from` (Unix ns).
    pub fn new(measure_from: u64) -> Probe {
        Probe {
            recorder: LatencyRecorder::new(),
            measure_from,
            measure_until: u64::MAX,
            ingested: Arc::default(),
            first_sent: Arc::new(AtomicU64::new(u64::MAX)),
            last_read: Arc::default(),
            outputs: Arc::default(),
        }
    }
    /// Measures only windows that end before `nanos` (Unix ns): windows that close because the
    /// input ended, rather than because the stream moved past them, say nothing about latency.
    pub fn until(mut self, nanos: u64) -> Probe {
        self.measure_until = nanos;
        self
    }
    /// The latencies recorded so far.
    pub fn recorder(&self) -> &LatencyRecorder {
        &self.recorder
    }
    /// Lines the job has read so far.
    pub fn ingested(&self) -> u64 {
        self.ingested.load(Ordering::Relaxed)
    }
    /// The earliest send time (Unix ns) of a line read so far.
    pub fn first_sent(&self) -> Option<u64> {
        Some(self.first_sent.load(Ordering::Relaxed)).filter(|t| *t != u64::MAX)
    }
    /// Outputs that have reached the sink so far (warm-up included).
    pub fn outputs(&self) -> u64 {
        self.outputs.load(Ordering::Relaxed)
    }
    /// When the job read its latest line (Unix ns), if it has read any.
    pub fn last_read(&self) -> Option<u64> {
        Some(self.last_read.load(Ordering::Relaxed)).filter(|t| *t != 0)
    }

    /// Parses a stamped line; a line that is not stamped is skipped and counted as malformed.
    pub fn parse(&self, job: &JobContext) -> impl Fn(String) -> Option<Timed> + 'static {
        let (job, ingested) = (job.clone(), self.ingested.clone());
        let (first, last) = (self.first_sent.clone(), self.last_read.clone());
        move |line: String| {
            ingested.fetch_add(1, Ordering::Relaxed);
            last.fetch_max(now_nanos(), Ordering::Relaxed);
            match parse_stamped(&line) {
                Ok((sent, rest)) => {
                    first.fetch_min(sent, Ordering::Relaxed);
                    Some((sent, rest.to_string()))
                }
                Err(reason) => {
                    job.malformed(|| reason);
                    None
                }
            }
        }
    }

    /// Native mode: each record of `sent` is one output, carrying its input's send time;
    /// latency is measured when it reaches this sink.
    pub fn native(&self, sent: Stream<'_, u64>) {
        let (outputs, from) = (self.outputs.clone(), self.measure_from);
        sent.filter(move |sent| {
            outputs.fetch_add(1, Ordering::Relaxed);
            *sent >= from
        })
        .record_latency(&self.recorder, |sent| *sent);
    }

    /// Windowed results, in either mode: each record is a result emitted at its window's end
    /// (its timestamp), carrying the number of inputs it counts. A result is visible when it
    /// reaches this sink; its latency is measured from the window's end (event-time latency, as
    /// Karimov et al. define it), for windows ending after the warm-up. Counts go to the
    /// outputs total, to be checked against the inputs every window holds.
    pub fn window_results(&self, counts: Stream<'_, u64>) {
        let outputs = self.outputs.clone();
        let counted = counts.inspect(move |count| {
            outputs.fetch_add(*count, Ordering::Relaxed);
        });
        self.window_latency(counted);
    }

    /// Windowed results whose latency is measured but whose counts are not (e.g. a top-k of
    /// windows whose counts [`count_outputs`](Self::count_outputs) checked).
    pub fn window_latency<D: 'static>(&self, results: Stream<'_, D>) {
        let (from, until) = (
            self.measure_from / 1_000_000,
            self.measure_until / 1_000_000,
        );
        results.record_latency_since_time(&self.recorder, from..until);
    }

    /// Adds every count to the outputs total.
    pub fn count_outputs(&self, counts: Stream<'_, u64>) {
        let outputs = self.outputs.clone();
        counts.for_each(move |count| {
            outputs.fetch_add(count, Ordering::Relaxed);
        });
    }

    /// Micro-batch mode: `sent` holds `(send time, outputs it stands for)` for the inputs of each
    /// batch, `results` the batch's results as output counts (registered as the batch's output
    /// operation); every input is measured when its batch's results are complete.
    pub fn minibatch<'s>(&self, sent: &DStream<'s, (u64, u64)>, results: &DStream<'s, u64>) {
        let (outputs, from) = (self.outputs.clone(), self.measure_from);
        let results = results.into_stream().inspect(move |n| {
            outputs.fetch_add(*n, Ordering::Relaxed);
        });
        sent.tagged()
            .clone()
            .filter(move |(_, (sent, _))| *sent >= from)
            .record_latency_on_completion(results, &self.recorder, |(_, sent)| *sent);
    }
}
