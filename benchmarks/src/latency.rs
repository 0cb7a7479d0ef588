//! Latency at a fixed, open-loop rate: how long after its scheduled send time each input's
//! effect is visible, in native mode and in micro-batches, under the same load.
//!
//! A run sends `rate × seconds` lines of the shared corpus on a fixed schedule — from the
//! generator inside the job, or from `sluice loadgen` over TCP — through a [`Workload`] in one
//! [`Mode`]. Inputs scheduled in the first `warmup` seconds are processed but not measured.
//! Every run checks that the outputs that reached the sink are exactly those a plain loop over
//! the same lines expects: a run that lost or duplicated anything says so.
//!
//! ```no_run
//! use sluice_bench::latency::{LatencyConfig, LoadSource};
//! use sluice_jobs::Mode;
//! use sluice_jobs::Workload;
//! let config = LatencyConfig::new(Workload::WordCount, Mode::Native, 100_000.0);
//! let run = sluice_bench::latency::run_once(&config, &Default::default()).unwrap();
//! println!("p99 {:.2} ms", run.latency_ms.p99);
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::CorpusSpec;
use sluice_engine::sources::{Generator, Socket};
use sluice_engine::time::now_nanos;
use sluice_minibatch::StreamingContext;

use crate::broker_server::BrokerKind;
use crate::loadgen::{Load, LoadgenProcess, LoadgenReport};
use crate::stats::{Percentiles, Spread};
use sluice_connectors::{AnyBroker, BrokerSource, BrokerUrl};
use sluice_engine::sources::LineSource;
use sluice_engine::sources::Source;
use sluice_jobs::probe::Probe;
use sluice_jobs::Mode;
use sluice_jobs::Workload;

/// How long the job keeps trying to reach the load generator.
const LOADGEN_RETRY: Duration = Duration::from_millis(1500);

/// Where the load comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadSource {
    /// The corpus generator inside the job's workers.
    InProcess,
    /// `sluice loadgen` as a separate process, over TCP on loopback (`exe` is the sluice binary).
    Tcp {
        /// The `sluice` executable to start `sluice loadgen` from; not saved in results.
        #[serde(skip)]
        exe: PathBuf,
    },
    /// `sluice loadgen --to` publishing into a broker, which the job reads with one reader
    /// per worker: latency through the broker, as the Yahoo benchmark measures it through
    /// Kafka.
    Broker {
        /// The `sluice` executable; not saved in results.
        #[serde(skip)]
        exe: PathBuf,
        /// Which broker.
        kind: BrokerKind,
        /// Its `HOST:PORT`; not saved in results.
        #[serde(skip)]
        address: String,
        /// Its process, whose CPU time each run reports; not saved in results.
        #[serde(skip)]
        pid: u32,
        /// Partitions the load is spread over.
        partitions: usize,
    },
}

/// One latency configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencyConfig {
    /// The job measured.
    #[serde(flatten)]
    pub workload: Workload,
    /// Native or micro-batch (with its batch interval).
    #[serde(flatten)]
    pub mode: Mode,
    /// Timely workers the job runs with.
    pub workers: usize,
    /// Lines per second.
    pub rate: f64,
    /// Seconds of load per run, warm-up included.
    pub seconds: f64,
    /// Seconds at the start whose inputs are not measured.
    pub warmup: f64,
    /// The corpus the lines are drawn from.
    pub corpus: CorpusSpec,
    /// Where the load comes from.
    pub load: LoadSource,
}

impl LatencyConfig {
    /// `workload` in `mode` at `rate` lines/s: 2 workers, 3 s per run with 0.5 s of warm-up,
    /// the default corpus, generated in process.
    pub fn new(workload: Workload, mode: Mode, rate: f64) -> Self {
        LatencyConfig {
            workload,
            mode,
            workers: 2,
            rate,
            seconds: 3.0,
            warmup: 0.5,
            corpus: CorpusSpec::default(),
            load: LoadSource::InProcess,
        }
    }
    /// Lines one run sends.
    pub fn lines(&self) -> u64 {
        (self.rate * self.seconds).round() as u64
    }
    /// How long the input stays open after its last line: for a windowed workload, until the
    /// last window holding a line has closed in either mode (a window, plus two batches).
    pub fn linger(&self) -> Duration {
        let window = self.workload.window().map_or(0, |(length, _)| length);
        let batch = self.mode.interval_ms().unwrap_or(0);
        match window {
            0 => Duration::ZERO,
            _ => Duration::from_millis(window + 2 * batch + 200),
        }
    }
}

/// One run's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencyRun {
    /// Lines sent.
    pub lines_sent: u64,
    /// Lines the job read: all of them, if nothing was lost.
    pub lines_read: u64,
    /// Outputs a plain loop over the sent lines expects.
    pub outputs_expected: u64,
    /// Outputs that reached the sink.
    pub outputs_seen: u64,
    /// Outputs measured (those of inputs scheduled after the warm-up).
    pub measured: u64,
    /// From the first line's scheduled send time to the job's reading its last line.
    pub seconds: f64,
    /// Lines the job consumed per second over those seconds: the offered rate if it kept up,
    /// less if a backlog grew.
    pub lines_per_sec: f64,
    /// Latency of the measured outputs, from each input's scheduled send time, in ms.
    pub latency_ms: Percentiles,
    /// What `sluice loadgen` reported (TCP load only).
    pub loadgen: Option<LoadgenReport>,
    /// CPU seconds the broker's server used during the run, when the load went through one.
    #[serde(default)]
    pub broker_cpu_seconds: Option<f64>,
    /// Not saved (the percentiles and the CDF are): empty when read back from results.json.
    #[serde(skip, default = "empty_histogram")]
    pub histogram: Histogram<u64>,
}

fn empty_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is a valid precision")
}

impl LatencyRun {
    /// Whether every expected output, and nothing else, reached the sink.
    pub fn complete(&self) -> bool {
        self.lines_read == self.lines_sent && self.outputs_seen == self.outputs_expected
    }
}

/// A configuration's runs, summarized.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencyMeasurement {
    /// What was measured.
    pub config: LatencyConfig,
    /// Each run's figures, in the order they ran.
    pub runs: Vec<LatencyRun>,
    /// Each run's median latency in ms: min, median and max over the runs.
    pub p50_ms: Spread,
    /// Each run's p99 latency in ms, over the runs.
    pub p99_ms: Spread,
    /// Each run's p99.9 latency in ms, over the runs.
    pub p999_ms: Spread,
    /// Each run's maximum latency in ms, over the runs.
    pub max_ms: Spread,
    /// Each run's consumed lines/s, over the runs.
    pub lines_per_sec: Spread,
    /// The latency distribution of all runs together, as (latency ms, fraction at or below).
    pub cdf: Vec<(f64, f64)>,
}

impl LatencyMeasurement {
    /// Whether every run delivered exactly the expected outputs.
    pub fn complete(&self) -> bool {
        self.runs.iter().all(LatencyRun::complete)
    }
}

/// The run in progress, for a progress line drawn by another thread — and, with
/// [`watching`](Live::watching), for a UI that follows each run's job.
#[derive(Clone, Default)]
pub struct Live(Arc<Mutex<Option<LiveRun>>>, Option<JobWatcher>);

/// Told of each run's job as it starts (see [`Live::watching`]).
type JobWatcher = Arc<dyn Fn(&JobContext) + Send + Sync>;

struct LiveRun {
    probe: Probe,
    started: Instant,
    config: LatencyConfig,
}

impl Live {
    /// Tells `watcher` of each run's job as it starts (`sluice bench --ui` shows it).
    pub fn watching(mut self, watcher: impl Fn(&JobContext) + Send + Sync + 'static) -> Self {
        self.1 = Some(Arc::new(watcher));
        self
    }

    /// "rate …, backlog …, elapsed …" for the run in progress, if any.
    pub fn status(&self) -> Option<String> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let run = guard.as_ref()?;
        let elapsed = run.started.elapsed().as_secs_f64();
        let due = ((elapsed * run.config.rate) as u64).min(run.config.lines());
        let read = run.probe.ingested();
        Some(format!(
            "{:.0} lines/s, backlog {} lines, {} {}, {elapsed:.1}/{:.1} s",
            read as f64 / elapsed.max(1e-3),
            due.saturating_sub(read),
            run.probe.outputs(),
            run.config.workload.unit(),
            run.config.seconds
        ))
    }
    fn set(&self, run: Option<LiveRun>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = run;
    }
}

/// Runs `config` once.
pub fn run_once(config: &LatencyConfig, live: &Live) -> std::result::Result<LatencyRun, String> {
    let lines = config.lines();
    let load = Load {
        rate: Some(config.rate),
        seconds: config.seconds,
        linger: config.linger(),
        stop: None,
        plain: false,
    };
    let input = config.workload.lines(&config.corpus);
    let start = now_nanos();
    let probe = Probe::new(start + (config.warmup * 1e9) as u64)
        .until(start + (config.seconds * 1e9) as u64);
    let started = Instant::now();
    live.set(Some(LiveRun {
        probe: probe.clone(),
        started,
        config: config.clone(),
    }));
    let job = JobContext::default();
    if let Some(watcher) = &live.1 {
        watcher(&job);
    }
    let mut broker_cpu = None;
    let (result, loadgen) = match &config.load {
        LoadSource::InProcess => {
            let generator = Generator::of(input.clone())
                .lines(lines)
                .rate(config.rate)
                .linger(config.linger())
                .stamped();
            let source = LineSource::Generator(generator);
            (run_job(config, source, &probe, &job), None)
        }
        LoadSource::Tcp { exe } => {
            let loadgen =
                LoadgenProcess::spawn(exe, &load, config.workload.events(), &config.corpus)?;
            let socket = Socket::new(loadgen.address())
                .map_err(|e| e.to_string())?
                .retry_window(LOADGEN_RETRY)
                .end_on_close();
            let result = run_job(config, LineSource::Socket(socket), &probe, &job);
            (result, Some(loadgen.finish()))
        }
        LoadSource::Broker {
            exe,
            kind,
            address,
            pid,
            partitions,
        } => {
            let cpu_before = crate::broker_server::cpu_seconds(*pid);
            let url = broker_url(*kind, address);
            let loadgen = LoadgenProcess::spawn_to(
                exe,
                &load,
                config.workload.events(),
                &config.corpus,
                &url,
                *partitions,
            )?;
            let read_from: BrokerUrl = loadgen.address().parse()?;
            let source = BrokerSource::open(AnyBroker::of(&read_from))
                .map_err(|e| e.to_string())?
                .follow();
            // The broker does not end: once the load generator has sent its last line and
            // the job has read it, the job is stopped.
            let (ended, probe_done) = (job.clone(), probe.clone());
            let waiter = std::thread::spawn(move || {
                let report = loadgen.finish();
                let read_all = Instant::now() + Duration::from_secs(60);
                if let Ok(report) = &report {
                    while probe_done.ingested() < report.lines_sent && Instant::now() < read_all {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                ended.stop();
                report
            });
            let result = run_job(config, source, &probe, &job);
            job.stop();
            let report = waiter
                .join()
                .unwrap_or_else(|_| Err("the load generator's waiter panicked".into()));
            broker_cpu = Some(crate::broker_server::cpu_seconds(*pid) - cpu_before);
            (result, Some(report))
        }
    };
    let seconds = match (probe.first_sent(), probe.last_read()) {
        (Some(first), Some(last)) => last.saturating_sub(first) as f64 / 1e9,
        _ => 0.0,
    };
    live.set(None);
    result.map_err(|e| format!("{} {}: {e}", config.workload, config.mode))?;
    let loadgen = loadgen.transpose()?;
    let lines_sent = loadgen.as_ref().map_or(lines, |report| report.lines_sent);

    let mut line = String::new();
    let outputs_expected = (0..lines_sent)
        .map(|i| {
            line.clear();
            input.write_line(i, &mut line);
            config.workload.outputs_of(&line)
        })
        .sum();
    let histogram = probe.recorder().snapshot();
    let outputs_seen = probe.outputs();
    Ok(LatencyRun {
        lines_sent,
        lines_read: probe.ingested(),
        outputs_expected,
        outputs_seen,
        measured: histogram.len(),
        seconds,
        lines_per_sec: probe.ingested() as f64 / seconds.max(1e-9),
        latency_ms: Percentiles::of(&histogram),
        loadgen,
        broker_cpu_seconds: broker_cpu,
        histogram,
    })
}

/// A fresh stream on the broker at `address` for one run.
fn broker_url(kind: BrokerKind, address: &str) -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    match kind {
        BrokerKind::Redis => format!("redis://{address}/sluice-load-{pid}-{run}"),
        BrokerKind::Nats => format!("nats://{address}/LOAD_{pid}_{run}"),
    }
}

/// Builds and runs the job of `config` over `source`, into `probe`, as `job`.
fn run_job<S>(config: &LatencyConfig, source: S, probe: &Probe, job: &JobContext) -> Result<()>
where
    S: Source<Item = String> + Send + Sync,
{
    probe.recorder().report_to(job, "end-to-end");
    let execution = Execution::default()
        .workers(config.workers)
        .context(job.clone());
    let (workload, probe) = (config.workload.clone(), probe.clone());
    match config.mode {
        Mode::Native => {
            execute(execution, move |worker| {
                worker.dataflow(|scope| {
                    let parse = probe.parse(&JobContext::of(scope));
                    workload.native(source.stream(scope).flat_map(parse), &probe);
                });
            })?;
        }
        Mode::MicroBatch { interval_ms } => {
            let minibatch = |e: sluice_minibatch::Error| Error::Operator(e.to_string());
            let interval = Duration::from_millis(interval_ms);
            let mut ssc = StreamingContext::new(execution, interval);
            // Incremental windows keep state, which Spark's rules want checkpointed.
            let scratch = ScratchDir::new();
            ssc.checkpoint(&scratch.0).map_err(minibatch)?;
            ssc.define(move |graph| {
                let parse = probe.parse(graph.job());
                workload.minibatch(graph.source(&source).flat_map(parse), &probe);
            })
            .map_err(minibatch)?;
            ssc.start().map_err(minibatch)?;
            ssc.await_termination().map_err(minibatch)?;
        }
    }
    Ok(())
}

/// A checkpoint directory of one micro-batch run, removed when the run ends: each run starts
/// in an empty one, so no run finds the previous run's checkpoint (which the context would
/// discard, saying so on stderr — chatter in every benchmark run, and a leftover in /tmp).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> ScratchDir {
        static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("sluice-bench-{}-{run}", std::process::id());
        ScratchDir(std::env::temp_dir().join(name))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `config` `runs` times and summarizes; `before_run(i)` is called before each.
pub fn measure(
    config: &LatencyConfig,
    runs: usize,
    live: &Live,
    mut before_run: impl FnMut(usize),
) -> std::result::Result<LatencyMeasurement, String> {
    let runs: Vec<LatencyRun> = (0..runs.max(1))
        .map(|i| {
            before_run(i);
            run_once(config, live)
        })
        .collect::<std::result::Result<_, _>>()?;
    let spread = |f: fn(&LatencyRun) -> f64| Spread::of(&runs.iter().map(f).collect::<Vec<_>>());
    let mut all = runs[0].histogram.clone();
    for run in &runs[1..] {
        let _ = all.add(&run.histogram);
    }
    Ok(LatencyMeasurement {
        config: config.clone(),
        p50_ms: spread(|r| r.latency_ms.p50),
        p99_ms: spread(|r| r.latency_ms.p99),
        p999_ms: spread(|r| r.latency_ms.p999),
        max_ms: spread(|r| r.latency_ms.max),
        lines_per_sec: spread(|r| r.lines_per_sec),
        cdf: crate::stats::cdf(&all),
        runs,
    })
}
