//! The Nexmark benchmark: every query in every mode, over the reference generator.
//!
//! For each query and mode it measures
//! - **max throughput**: events per second over `events` generated events, the generator
//!   included (as Flink's Nexmark runs include its source), and events per CPU-second of the
//!   process (per core, as the peers' figures are quoted), into a blackhole sink;
//! - **latency** at fixed open-loop rates: the generator's event times are set to run at the
//!   wall clock (base time = the start, event rate = the rate), so an event's time is when it
//!   was due, and a change's latency is measured from the time it carries — the triggering
//!   event's time for per-record updates, the window's end for window results (event-time
//!   latency, which includes the 4 s watermark delay by definition). In micro-batch mode, each
//!   event's latency runs until its batch's results are complete. The source releases each
//!   event when the clock reaches its time (the events of a millisecond together), so a
//!   latency is exact, not rounded to the millisecond of the event's time;
//! - **peak memory** of the process during the run;
//! - a **records-out check**: the final table of a smaller run equals the plain-loop
//!   [reference](sluice_nexmark::reference) (micro-batch windows over arrival time differ by
//!   design and are not compared).

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sluice_engine::prelude::*;
use sluice_jobs::Mode;
use sluice_nexmark::generator::{EventSet, NexmarkOptions};
use sluice_nexmark::job::{Input, NexmarkRun, Output};
use sluice_nexmark::queries::{self, Params, WATERMARK_MS};
use sluice_nexmark::reference;
use sluice_nexmark::source::NexmarkSource;

use crate::machine::{cpu_seconds, peak_memory_bytes, reset_peak_memory};

/// What to measure.
#[derive(Clone, Debug, Serialize)]
pub struct NexmarkBench {
    /// Queries, by name.
    pub queries: Vec<String>,
    /// Modes.
    pub modes: Vec<Mode>,
    /// Worker count.
    pub workers: usize,
    /// Events per max-throughput run.
    pub events: u64,
    /// Events of the records-out check (0: no check).
    pub check_events: u64,
    /// Open-loop rates of the latency runs, events/s.
    pub rates: Vec<f64>,
    /// Seconds per latency run, warm-up included.
    pub seconds: f64,
    /// Seconds of warm-up not measured.
    pub warmup: f64,
}

/// What the queries are held to natively: events per CPU-second (issue 18's target).
pub const TARGET_PER_CORE: f64 = 1_000_000.0;

/// One query's max throughput in one mode.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Throughput {
    /// The query.
    pub query: String,
    /// The mode.
    pub mode: Mode,
    /// Workers.
    pub workers: usize,
    /// Events generated and processed.
    pub events: u64,
    /// Changes the query emitted.
    pub changes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU-seconds of the process.
    pub cpu_seconds: f64,
    /// Events per second.
    pub events_per_s: f64,
    /// Events per CPU-second.
    pub events_per_cpu_s: f64,
    /// Peak resident memory, bytes.
    pub peak_memory_bytes: Option<u64>,
}

/// One query's latency at one rate in one mode; no figures if nothing was measured (a run
/// too short for a window to close before the input ended).
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// The query.
    pub query: String,
    /// The mode.
    pub mode: Mode,
    /// Events per second offered.
    pub rate: f64,
    /// Latencies measured.
    pub measured: u64,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Maximum, ms.
    pub max_ms: Option<f64>,
    /// Peak resident memory, bytes.
    pub peak_memory_bytes: Option<u64>,
}

/// The records-out check of one query in one mode.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The query.
    pub query: String,
    /// The mode.
    pub mode: Mode,
    /// Rows of the reference's final table.
    pub reference_rows: usize,
    /// Rows of the engine's.
    pub rows: usize,
    /// `Some(true)` if the tables are equal; `None` if not compared (by design).
    pub equal: Option<bool>,
}

/// Everything measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NexmarkResults {
    /// Max throughput per query and mode.
    pub throughput: Vec<Throughput>,
    /// Latency per query, mode and rate.
    pub latency: Vec<Latency>,
    /// Records-out checks.
    pub checks: Vec<Check>,
}

impl NexmarkBench {
    /// The (query, mode) pairs that run: micro-batch modes only for the queries that have a
    /// micro-batch dataflow.
    pub fn pairs(&self) -> Vec<(String, Mode)> {
        let mut pairs = Vec::new();
        for query in &self.queries {
            for &mode in &self.modes {
                if mode == Mode::Native || runs_in_minibatch(query) {
                    pairs.push((query.clone(), mode));
                }
            }
        }
        pairs
    }

    /// How many runs [`run`](Self::run) makes, for a progress bar.
    pub fn steps(&self) -> u64 {
        let per_pair = 1 + self.rates.len() as u64 + u64::from(self.check_events > 0);
        self.pairs().len() as u64 * per_pair
    }

    /// Measures everything; `step(what)` is called before each run.
    pub fn run(&self, step: &mut dyn FnMut(String)) -> Result<NexmarkResults> {
        let mut results = NexmarkResults::default();
        for (query, mode) in self.pairs() {
            if self.check_events > 0 {
                step(format!("{query} {mode}: check against the reference"));
                results.checks.push(self.check(&query, mode)?);
            }
            step(format!(
                "{query} {mode}: {} events at full speed",
                self.events
            ));
            results.throughput.push(self.throughput(&query, mode)?);
            for &rate in &self.rates {
                step(format!(
                    "{query} {mode}: {rate} events/s for {} s",
                    self.seconds
                ));
                results.latency.push(self.latency(&query, mode, rate)?);
            }
        }
        Ok(results)
    }

    fn execution(&self) -> Execution {
        Execution::default().workers(self.workers)
    }

    fn configure(&self, run: NexmarkRun, mode: Mode) -> NexmarkRun {
        match mode.interval_ms() {
            Some(ms) => run.micro_batches(Duration::from_millis(ms)),
            None => run,
        }
    }

    fn throughput(&self, query: &str, mode: Mode) -> Result<Throughput> {
        let events = EventSet::new(NexmarkOptions::default(), self.workers, Some(self.events));
        let run = NexmarkRun::new(query, Input::generated(events)).output(Output::Count);
        let run = self.configure(run, mode);
        reset_peak_memory();
        let (cpu, started) = (cpu_seconds().unwrap_or(0.0), Instant::now());
        let outcome = run.run(self.execution())?;
        let seconds = started.elapsed().as_secs_f64();
        let cpu_seconds = cpu_seconds().unwrap_or(0.0) - cpu;
        Ok(Throughput {
            query: query.to_string(),
            mode,
            workers: self.workers,
            events: self.events,
            changes: outcome.changes,
            seconds,
            cpu_seconds,
            events_per_s: self.events as f64 / seconds,
            events_per_cpu_s: self.events as f64 / cpu_seconds.max(0.01),
            peak_memory_bytes: peak_memory_bytes(),
        })
    }

    fn latency(&self, query: &str, mode: Mode, rate: f64) -> Result<Latency> {
        // Event time runs at the wall clock from a moment just ahead, when the source starts.
        let start_ms = unix_ms() + 200;
        let options = NexmarkOptions {
            base_time: start_ms as i64,
            first_event_rate: rate.round().clamp(1.0, i32::MAX as f64) as i32,
            ..NexmarkOptions::default()
        };
        let count = (rate * self.seconds).round().max(1.0) as u64;
        let events = EventSet::new(options, self.workers, Some(count));
        let source = NexmarkSource::new(events).at_event_time();
        let recorder = LatencyRecorder::new();
        // Measured: changes stamped after the warm-up and before the end of the input moves
        // the watermark to the end of time (windows it closes early have no latency).
        let from_ms = start_ms + (self.warmup * 1000.0) as u64;
        let end_ms = start_ms + (self.seconds * 1000.0) as u64;
        let until_ms = match mode {
            Mode::Native if queries::windowed(query) => end_ms.saturating_sub(WATERMARK_MS),
            _ => end_ms,
        };
        let output = Output::Latency {
            recorder: recorder.clone(),
            times: from_ms..until_ms.max(from_ms),
        };
        let run = NexmarkRun::new(query, Input::Generated(source)).output(output);
        reset_peak_memory();
        self.configure(run, mode).run(self.execution())?;
        let histogram = recorder.snapshot();
        let measured = histogram.len();
        let ms = |q: f64| (measured > 0).then(|| histogram.value_at_quantile(q) as f64 / 1e6);
        Ok(Latency {
            query: query.to_string(),
            mode,
            rate,
            measured,
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            max_ms: ms(1.0),
            peak_memory_bytes: peak_memory_bytes(),
        })
    }

    fn check(&self, query: &str, mode: Mode) -> Result<Check> {
        let events = EventSet::new(NexmarkOptions::default(), 1, Some(self.check_events));
        let all: Vec<_> = events.iter().collect();
        // q12 windows over processing time: no reference says what it gives.
        let expected = reference::answer(query, &all, &Params::default());
        let run = self.configure(NexmarkRun::new(query, Input::generated(events)), mode);
        let csv = run
            .run(self.execution())?
            .csv()
            .map_err(|e| Error::Config(format!("{query} {mode}: {e}")))?;
        let comparable = mode == Mode::Native || !queries::arrival_time_in_minibatch(query);
        let rows = |csv: &str| csv.lines().count().saturating_sub(1);
        Ok(Check {
            query: query.to_string(),
            mode,
            reference_rows: expected.as_deref().map_or(0, rows),
            rows: rows(&csv),
            equal: expected
                .filter(|_| comparable)
                .map(|expected| csv == expected),
        })
    }
}

fn runs_in_minibatch(query: &str) -> bool {
    queries::runs_in_minibatch(query)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Writes `nexmark.json` and `nexmark.csv` (one line per query and mode: throughput, then the
/// p99 at each rate) into `dir`.
pub fn write_files(
    dir: &Path,
    bench: &NexmarkBench,
    results: &NexmarkResults,
) -> std::io::Result<()> {
    let json = serde_json::json!({ "config": bench, "results": results });
    std::fs::write(
        dir.join("nexmark.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let mut csv = String::from(
        "query,mode,workers,events,events_per_s,events_per_cpu_s,peak_memory_bytes,changes",
    );
    for rate in &bench.rates {
        csv.push_str(&format!(",p99_ms_at_{rate}"));
    }
    csv.push_str(",check\n");
    for t in &results.throughput {
        csv.push_str(&format!(
            "{},{},{},{},{:.0},{:.0},{},{}",
            t.query,
            t.mode,
            t.workers,
            t.events,
            t.events_per_s,
            t.events_per_cpu_s,
            t.peak_memory_bytes.unwrap_or(0),
            t.changes
        ));
        for rate in &bench.rates {
            let p99 = results
                .latency
                .iter()
                .find(|l| l.query == t.query && l.mode == t.mode && l.rate == *rate)
                .and_then(|l| l.p99_ms)
                .map_or(String::new(), |p99| format!("{p99:.3}"));
            csv.push_str(&format!(",{p99}"));
        }
        let check = results
            .checks
            .iter()
            .find(|c| c.query == t.query && c.mode == t.mode)
            .map_or("", |c| match c.equal {
                Some(true) => "equal",
                Some(false) => "DIFFERS",
                None => "not compared",
            });
        csv.push_str(&format!(",{check}\n"));
    }
    std::fs::write(dir.join("nexmark.csv"), csv)
}
