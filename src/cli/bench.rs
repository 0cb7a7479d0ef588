//! `sluice bench`: the comparative benchmark — native vs micro-batch on the same workload and
//! the same load, at max throughput and at fixed open-loop rates.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use sluice::bench::broker_server::{BrokerKind, BrokerServer};
use sluice::bench::latency::{self, LatencyConfig, LatencyMeasurement, Live, LoadSource};
use sluice::bench::machine::Machine;
use sluice::bench::report::{self, Report};
use sluice::bench::throughput::{self, ThroughputConfig};
use sluice::engine::JobContext;
use sluice::jobs::Mode;
use sluice::jobs::Workload;

use super::corpus::CorpusArgs;
use super::flags;
use super::out::{out, outln};

/// The workloads `--workload` takes.
fn workload_names() -> clap::builder::PossibleValuesParser {
    let mut names: Vec<&str> = Workload::NAMES.to_vec();
    names.push("nexmark");
    clap::builder::PossibleValuesParser::new(names)
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The workload measured at fixed rates (max throughput is always word count), or
    /// `nexmark`: the Nexmark queries, each at max throughput and at the fixed rates.
    #[arg(long, default_value = "wordcount", value_parser = workload_names())]
    pub workload: String,
    /// With --workload nexmark: the queries, comma-separated [default: all, q0 … q23].
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(sluice::nexmark::queries::NAMES))]
    pub queries: Vec<String>,
    /// With --workload nexmark: events per max-throughput run.
    #[arg(long, value_parser = flags::int(1, flags::MAX_LINES))]
    pub events: Option<u64>,
    /// With --workload nexmark: events of the check against the plain-loop reference (0: no
    /// check) [default: 50000].
    #[arg(long, value_parser = flags::int(0, flags::MAX_ITEMS))]
    pub check_events: Option<u64>,
    /// Window length in ms for the windowed workloads (hashtags, topk, ysb).
    #[arg(long, value_parser = flags::interval_ms())]
    pub window_ms: Option<u64>,
    /// Modes to compare: `native` and batch intervals in ms, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "native,10,100,1000")]
    pub modes: Vec<Mode>,
    /// Open-loop rates for the latency runs, in lines per second, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000", value_parser = flags::rate, allow_hyphen_values = true)]
    pub rates: Vec<f64>,
    /// Seconds of load per latency run (at least three batch intervals), warm-up included.
    #[arg(long, default_value_t = 1.5, value_parser = flags::seconds, allow_hyphen_values = true)]
    pub seconds: f64,
    /// Seconds at the start of each latency run whose records are not measured.
    #[arg(long, default_value_t = 0.5, value_parser = flags::seconds_or_zero, allow_hyphen_values = true)]
    pub warmup: f64,
    /// Where the fixed-rate load comes from: generated inside the job, `sluice loadgen` over
    /// TCP (started by the benchmark, one process per run), or `sluice loadgen --to` through a
    /// NATS JetStream or Redis Streams server the benchmark starts (one partition per worker,
    /// each worker a reader; the server's CPU time is reported).
    #[arg(long, value_enum, default_value_t = LoadKind::InProcess)]
    pub load: LoadKind,
    /// Lines of the shared corpus per max-throughput run (0 skips them).
    #[arg(long, default_value_t = 2_000_000, value_parser = flags::int(0, flags::MAX_LINES))]
    pub lines: u64,
    /// Measured runs per configuration.
    #[arg(long, default_value_t = 3, value_parser = flags::count(1, flags::MAX_RUNS))]
    pub runs: usize,
    /// Worker counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2", value_parser = flags::workers())]
    pub workers: Vec<usize>,
    /// Search each mode's sustainable rate: the highest with p99 ≤ bound (+ the interval).
    #[arg(long)]
    pub sustainable: bool,
    /// The p99 bound of the sustainable-rate search, in ms beyond the batch interval.
    #[arg(long, default_value_t = 5.0, value_parser = flags::positive_ms, requires = "sustainable", allow_hyphen_values = true)]
    pub p99_bound_ms: f64,
    /// Skip the micro-batch overhead measurement.
    #[arg(long)]
    pub no_overhead: bool,
    /// Directory for results (default: results/bench-UNIXTIME).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Serve the live web UI at HOST:PORT, following each fixed-rate run's job as it starts
    /// (see `run wordcount --ui`).
    #[arg(long, value_name = "[HOST:]PORT", value_parser = super::ui::ui_address)]
    pub ui: Option<String>,
    /// Measure nothing: redraw the plots of an earlier run from the results.json in DIR.
    #[arg(long, value_name = "DIR", conflicts_with_all = [
        "workload", "window_ms", "modes", "rates", "seconds", "warmup", "load", "lines", "runs",
        "workers", "sustainable", "no_overhead", "out", "ui",
    ])]
    pub replot: Option<PathBuf>,
    #[command(flatten)]
    pub corpus: CorpusArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LoadKind {
    InProcess,
    Tcp,
    Nats,
    Redis,
}

/// The progress bar and the live status line of the run in progress.
struct Progress {
    bar: ProgressBar,
    label: Arc<Mutex<String>>,
    done: Arc<AtomicBool>,
}

impl Progress {
    fn start(total: u64, live: &Live) -> Progress {
        let bar = ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:24}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let label = Arc::new(Mutex::new(String::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (l, d, b, live) = (label.clone(), Arc::clone(&done), bar.clone(), live.clone());
        std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                let label = l.lock().map(|s| s.clone()).unwrap_or_default();
                b.set_message(match live.status() {
                    Some(status) => format!("{label}: {status}"),
                    None => label,
                });
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Progress { bar, label, done }
    }
    /// A run that was not counted at the start (a search step) begins.
    fn extra_run(&self, what: String) {
        self.bar.inc_length(1);
        self.run(what);
    }
    /// A new run begins.
    fn run(&self, what: String) {
        if self.bar.is_hidden() {
            eprintln!(
                "sluice bench [{}/{}] {what}",
                self.bar.position() + 1,
                self.bar.length().unwrap_or(0)
            );
        }
        if let Ok(mut label) = self.label.lock() {
            *label = what;
        }
        self.bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        self.bar.finish_and_clear();
    }
}

pub fn bench(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    if !args.queries.is_empty() || args.events.is_some() || args.check_events.is_some() {
        return Err(
            "--queries, --events and --check-events apply only with --workload nexmark".into(),
        );
    }
    if let Some(dir) = &args.replot {
        for path in sluice::bench::plot::redraw(dir)? {
            outln!("{}", path.display());
        }
        return Ok(());
    }
    let mut workload = Workload::named(&args.workload).ok_or("unknown workload")?;
    if let Some(window_ms) = args.window_ms {
        if workload.window().is_none() {
            return Err(format!(
                "--window-ms applies only to the windowed workloads (hashtags, topk, ysb), not {}",
                args.workload
            )
            .into());
        }
        workload = workload.with_window(window_ms);
    }
    if args.seconds <= args.warmup {
        return Err(format!(
            "--seconds {} must be longer than --warmup {}",
            args.seconds, args.warmup
        )
        .into());
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/bench-{stamp}")));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    // After the checks above, so that a bad invocation gets one line: its error.
    if cfg!(debug_assertions) {
        eprintln!("sluice: warning: a debug build; figures are only meaningful from `cargo run --release`");
    }

    let throughput_config = ThroughputConfig {
        lines: args.lines,
        runs: args.runs,
        workers: args.workers.clone(),
        modes: args.modes.clone(),
        corpus: args.corpus.spec(),
        scratch: out.clone(),
    };
    // A broker load goes through a server of the benchmark's own, stopped when it ends.
    let server = match args.load {
        LoadKind::Nats => Some(BrokerServer::start(BrokerKind::Nats)?),
        LoadKind::Redis => Some(BrokerServer::start(BrokerKind::Redis)?),
        LoadKind::InProcess | LoadKind::Tcp => None,
    };
    let load = match (args.load, &server) {
        (LoadKind::InProcess, _) => LoadSource::InProcess,
        (LoadKind::Tcp, _) => LoadSource::Tcp {
            exe: std::env::current_exe()?,
        },
        (_, Some(server)) => LoadSource::Broker {
            exe: std::env::current_exe()?,
            kind: server.kind(),
            address: server.address(),
            pid: server.pid(),
            partitions: 1,
        },
        (_, None) => unreachable!("a broker load has a server"),
    };
    let latency_configs: Vec<LatencyConfig> = args
        .workers
        .iter()
        .flat_map(|&workers| args.rates.iter().map(move |&rate| (workers, rate)))
        .flat_map(|(workers, rate)| {
            let (workload, load, args) = (&workload, &load, &args);
            args.modes
                .iter()
                .map(move |&mode| latency_config(args, workload, load, mode, workers, rate))
        })
        .collect();

    let throughput_runs = if args.lines > 0 {
        throughput_config.total_runs()
    } else {
        0
    };
    let total =
        throughput_runs + latency_configs.len() * args.runs + usize::from(!args.no_overhead);
    let ui = match &args.ui {
        Some(address) => {
            let ui = sluice::ui::start(address, JobContext::default(), Vec::new())?;
            eprintln!("sluice: UI at http://{}/", ui.address());
            Some(Arc::new(ui))
        }
        None => None,
    };
    let live = match &ui {
        Some(ui) => {
            let ui = ui.clone();
            Live::default().watching(move |job| ui.watch(job.clone()))
        }
        None => Live::default(),
    };
    let progress = Progress::start(total as u64, &live);

    let max_throughput = if args.lines > 0 {
        throughput::measure(&throughput_config, |what| progress.run(what.to_string()))?
    } else {
        Vec::new()
    };
    let mut latency = Vec::new();
    for config in &latency_configs {
        let measurement = latency::measure(config, args.runs, &live, |i| {
            progress.run(format!(
                "{} {} at {}/s, {} workers, run {}/{}",
                config.workload,
                config.mode,
                report::si(config.rate),
                config.workers,
                i + 1,
                args.runs
            ))
        })?;
        latency.push(measurement);
    }
    let sustainable = if args.sustainable {
        sustainable_rates(&args, &workload, &load, &progress, &live)?
    } else {
        Vec::new()
    };
    let overhead = if args.no_overhead {
        None
    } else {
        progress.run("micro-batch overhead: 10 ms batches, 2 workers, 3 s per mode".into());
        Some(sluice::bench::batch_overhead::measure(
            2,
            10,
            3.0,
            &args.corpus.spec(),
        )?)
    };
    drop(progress);

    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: Machine::describe(),
        corpus: args.corpus.spec(),
        max_throughput: &max_throughput,
        latency: &latency,
        batch_overhead: overhead.as_ref(),
    };
    outln!(
        "{} on {} ({} cores); latency from {}, median of {} runs",
        workload,
        report.machine.cpu,
        report.machine.cores,
        workload.latency_from(),
        args.runs
    );
    out!("{}", report::table(&report.rows()));
    if let Some(o) = &overhead {
        outln!(
            "micro-batch overhead: {:.3} ms CPU per batch ({} batches of {} ms, 2 workers)",
            o.per_batch_ms,
            o.batches,
            o.batch_ms
        );
    }
    for s in &sustainable {
        outln!(
            "sustainable: {} {}: {} lines/s with p99 {:.2} ms (bound {:.1} ms)",
            s.config.workload,
            s.config.mode,
            report::si(s.config.rate),
            s.p99_ms.median,
            bound_ms(s.config.mode, args.p99_bound_ms)
        );
    }
    report::write_files(&out, &report)
        .map_err(|e| format!("cannot write results to {}: {e}", out.display()))?;
    if !sustainable.is_empty() {
        let path = out.join("sustainable.json");
        std::fs::write(&path, serde_json::to_string_pretty(&sustainable)?)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    sluice::bench::plot::write_plots(&out, &max_throughput, &latency)?;
    outln!("results: {}", out.display());
    let lost = report.rows().iter().filter(|r| !r.complete).count();
    if lost > 0 {
        return Err(format!("{lost} configuration(s) lost or duplicated records").into());
    }
    Ok(())
}

/// One latency configuration from the flags. A run lasts at least three batch intervals and
/// three windows, so that every mode goes through several of each.
fn latency_config(
    args: &BenchArgs,
    workload: &Workload,
    load: &LoadSource,
    mode: Mode,
    workers: usize,
    rate: f64,
) -> LatencyConfig {
    let interval = mode.interval_ms().unwrap_or(0);
    let window = workload.window().map_or(0, |(length, _)| length);
    LatencyConfig {
        workload: workload.clone(),
        mode,
        workers,
        rate,
        seconds: args.seconds.max(3.0 * interval.max(window) as f64 / 1000.0),
        warmup: args.warmup,
        corpus: args.corpus.spec(),
        load: match load {
            // One partition per worker: every worker reads.
            LoadSource::Broker { .. } => {
                let mut load = load.clone();
                if let LoadSource::Broker { partitions, .. } = &mut load {
                    *partitions = workers;
                }
                load
            }
            other => other.clone(),
        },
    }
}

/// Whether the job read its input as fast as it was offered (the median run within 5% of the
/// rate): a job that falls behind is not sustaining the rate, whatever its latency says.
fn kept_up(m: &LatencyMeasurement) -> bool {
    m.lines_per_sec.median >= 0.95 * m.config.rate
}

/// The p99 bound of the sustainable search for `mode`: the bound beyond its batch interval.
fn bound_ms(mode: Mode, bound: f64) -> f64 {
    mode.interval_ms().unwrap_or(0) as f64 + bound
}

/// For each mode and worker count, the highest rate (lines/s) whose runs deliver everything
/// with p99 within the bound: doubling from 10k lines/s, then four bisection steps. Each step
/// takes `--runs` runs and judges their median p99, so that one noisy run (a load generator
/// that lagged, a busy host) does not end the search.
fn sustainable_rates(
    args: &BenchArgs,
    workload: &Workload,
    load: &LoadSource,
    progress: &Progress,
    live: &Live,
) -> Result<Vec<LatencyMeasurement>, String> {
    let mut found = Vec::new();
    for &workers in &args.workers {
        for &mode in &args.modes {
            let bound = bound_ms(mode, args.p99_bound_ms);
            let attempt = |rate: f64| -> Result<LatencyMeasurement, String> {
                let config = latency_config(args, workload, load, mode, workers, rate);
                latency::measure(&config, args.runs, live, |_| {
                    progress.extra_run(format!(
                        "sustainable search: {workload} {mode}, {workers} workers, {}/s",
                        report::si(rate)
                    ))
                })
            };
            // A rate holds if the job kept up with it, nothing was lost, and outputs were
            // measured within the bound (a run whose windows all ended outside the measured
            // span proves nothing). Keeping up is its own test: latency from a window's end
            // does not see input that waits to be read, and windows over arrival time close
            // on time however far behind the reading is.
            let holds = |m: &LatencyMeasurement| {
                kept_up(m)
                    && m.complete()
                    && m.runs.iter().all(|r| r.measured > 0)
                    && m.p99_ms.median <= bound
            };
            let (mut good, mut bad): (Option<LatencyMeasurement>, Option<f64>) = (None, None);
            let mut rate = 10_000.0;
            while bad.is_none() && rate <= 64e6 {
                let m = attempt(rate)?;
                if holds(&m) {
                    good = Some(m);
                    rate *= 2.0;
                } else {
                    bad = Some(rate);
                }
            }
            if let Some(mut high) = bad {
                let mut low = good.as_ref().map_or(0.0, |m| m.config.rate);
                for _ in 0..4 {
                    if low == 0.0 {
                        break;
                    }
                    let mid = ((low + high) / 2.0).round();
                    let m = attempt(mid)?;
                    if holds(&m) {
                        low = mid;
                        good = Some(m);
                    } else {
                        high = mid;
                    }
                }
            }
            found.extend(good);
        }
    }
    Ok(found)
}
