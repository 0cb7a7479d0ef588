//! `sluice compare lambda-kappa`: both architectures over the same log and the same events.
//!
//! Each architecture runs alone (so that CPU time and peak memory are its own), on its own
//! copy of one event log built the same way:
//! 1. the initial events of the [workload](super::views) are appended (some of them *late*:
//!    an event time well before the others'), and version 1 of its view is built (kappa: a
//!    replay, then follow; lambda: a batch view and a speed layer, and with `batch_every` a new
//!    batch view periodically, as the batch layer runs in a loop);
//! 2. events are appended at a fixed rate; every 100th is a probe with a key of its own, and a
//!    poller measures **freshness**: from the append to the probe's first appearance in the
//!    served view;
//! 3. a **code change** (version 2 of the view) forces reprocessing: kappa starts version 2
//!    beside version 1 and times its catch-up; lambda builds a new generation (batch view and
//!    speed layer) with the new code;
//! 4. every key of the final served view is compared with a plain loop over the whole log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use sluice_engine::log::{EventLog, Fsync, LogConfig};
use sluice_engine::prelude::*;
use sluice_serving as serving;

use super::kappa::{Kappa, KappaRun, ViewProgram};
use super::lambda::{Lambda, LambdaRun};
use super::views::{is_late, is_probe, ViewWorkload};
use crate::machine::{cpu_seconds, peak_memory_bytes, reset_peak_memory};
use crate::stats::{cdf, Percentiles};

/// What to compare on.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// The view both architectures serve.
    pub workload: ViewWorkload,
    /// Events in the log before the architectures start.
    pub initial: u64,
    /// Events appended per second while freshness is measured.
    pub rate: u64,
    /// How long freshness is measured, in seconds.
    pub seconds: f64,
    /// `embedded` or `redis://HOST:PORT`.
    pub serving: String,
    /// Timely workers each job runs with.
    pub workers: usize,
    /// Lambda's batch layer recomputes its view this often (besides on a code change).
    pub batch_every: Option<Duration>,
    /// Scratch space for the logs and checkpoints.
    pub scratch: PathBuf,
}

/// One architecture's figures.
#[derive(Debug, Serialize)]
pub struct ArchitectureReport {
    /// `kappa` or `lambda`.
    pub name: String,
    /// Append → visible in the served view, ms.
    pub freshness: Percentiles,
    /// The freshness distribution as `(ms, fraction of probes)` points, for the CDF plot.
    pub freshness_cdf: Vec<(f64, f64)>,
    /// How many probes' freshness was measured.
    pub probes: u64,
    /// From the code change to the new version being served, ms.
    pub reprocessing_ms: f64,
    /// CPU time the process spent on the architecture's run (user + system), in s; `None`
    /// where `/proc` is not available.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory during the run, in bytes; `None` where `/proc` is not available.
    pub peak_memory_bytes: Option<u64>,
    /// Lines of code of the architecture's driver (lambda's includes the kappa job it runs as
    /// its speed layer), beside the view program both share.
    pub lines_of_code: usize,
    /// Whether the final served view equals a plain loop over the whole log.
    pub equals_reference: bool,
    /// Keys in the final view.
    pub keys: usize,
    /// Lambda: how many generations (batch views) were built, the code change's included.
    pub batch_views: Option<u32>,
}

/// The comparison.
#[derive(Debug, Serialize)]
pub struct CompareReport {
    /// The workload's name (`wordcount`, `hashtags`, `ysb`).
    pub workload: String,
    /// Lambda's periodic recomputation interval, in ms; `None` if it only recomputes on the
    /// code change.
    pub batch_every_ms: Option<f64>,
    /// Events in the log at the end: the initial ones and those appended while measuring.
    pub events: u64,
    /// How many of them were late (see [`is_late`]).
    pub late_events: u64,
    /// The serving store: `embedded` or `redis://HOST:PORT`.
    pub serving: String,
    /// Whether both final views are equal (to each other and to the plain loop).
    pub views_equal: bool,
    /// Kappa's figures.
    pub kappa: ArchitectureReport,
    /// Lambda's figures.
    pub lambda: ArchitectureReport,
}

/// Non-blank, non-comment lines of a source file.
fn code_lines(source: &str) -> usize {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// How an architecture is driven, so that one scenario runs both.
trait Architecture: Send {
    /// Builds and serves version `version` of the view, `program`; stops the previous.
    fn deploy(&mut self, version: u32, program: ViewProgram) -> Result<()>;
    /// The served value of `key`.
    fn get(&self, key: &str) -> Result<Option<u64>>;
    /// Stops; returns how many batch views were built, if the architecture has any.
    fn stop(&mut self) -> Result<Option<u32>>;
}

struct KappaArchitecture {
    kappa: Kappa,
    running: Option<KappaRun>,
}

impl Architecture for KappaArchitecture {
    fn deploy(&mut self, version: u32, program: ViewProgram) -> Result<()> {
        let run = self.kappa.start(version, program)?;
        if !run.wait_published(Duration::from_secs(600)) {
            return Err(Error::Operator(format!(
                "kappa version {version} did not catch up"
            )));
        }
        if let Some(old) = self.running.replace(run) {
            old.stop()?;
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<u64>> {
        Ok(self
            .kappa
            .store
            .get(&self.kappa.view, key)?
            .and_then(|v| v.as_u64()))
    }

    fn stop(&mut self) -> Result<Option<u32>> {
        if let Some(run) = self.running.take() {
            run.stop()?;
        }
        Ok(None)
    }
}

struct LambdaArchitecture {
    lambda: Lambda,
    batch_every: Option<Duration>,
    running: Option<LambdaRun>,
}

impl Architecture for LambdaArchitecture {
    fn deploy(&mut self, _version: u32, program: ViewProgram) -> Result<()> {
        match &self.running {
            Some(run) => run.redeploy(program).map(|_| ()),
            None => {
                self.running = Some(self.lambda.serve(program, self.batch_every)?);
                Ok(())
            }
        }
    }

    fn get(&self, key: &str) -> Result<Option<u64>> {
        self.lambda.get(key)
    }

    fn stop(&mut self) -> Result<Option<u32>> {
        let Some(run) = self.running.take() else {
            return Ok(Some(0));
        };
        let builds = run.builds();
        run.stop()?;
        Ok(Some(builds))
    }
}

/// Runs the comparison; `status` hears what is happening.
pub fn compare(config: &CompareConfig, mut status: impl FnMut(&str)) -> Result<CompareReport> {
    let store = serving::open(&config.serving)?;
    let live = (config.rate as f64 * config.seconds) as u64;
    let events = config.initial + live;
    let workload = config.workload;
    let mut reference: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..events {
        for key in workload.keys(2, &workload.event(i).1) {
            *reference.entry(key).or_default() += 1;
        }
    }
    let mut reports = Vec::new();
    for name in ["kappa", "lambda"] {
        status(&format!("{name}: building the log and version 1"));
        let root = config.scratch.join(name);
        let _ = std::fs::remove_dir_all(&root);
        let log_dir = root.join("log");
        let mut log = EventLog::open_with(&log_dir, LogConfig::default().fsync(Fsync::Never))?;
        log.append_all((0..config.initial).map(|i| workload.event(i)))?;
        let view = format!("compare-{name}");
        let (architecture, source): (Box<dyn Architecture>, &str) = match name {
            "kappa" => (
                Box::new(KappaArchitecture {
                    kappa: Kappa {
                        log: log_dir.clone(),
                        store: store.clone(),
                        view,
                        from: 0,
                        workers: config.workers,
                        checkpoints: root.join("checkpoints"),
                        every: 1000,
                    },
                    running: None,
                }),
                include_str!("kappa.rs"),
            ),
            _ => (
                Box::new(LambdaArchitecture {
                    batch_every: config.batch_every,
                    lambda: Lambda {
                        log: log_dir.clone(),
                        store: store.clone(),
                        view,
                        workers: config.workers,
                        checkpoints: root.join("checkpoints"),
                        every: 1000,
                    },
                    running: None,
                }),
                // Its speed layer is the kappa job: lambda's code includes it.
                concat!(include_str!("lambda.rs"), include_str!("kappa.rs")),
            ),
        };
        reset_peak_memory();
        let cpu_before = cpu_seconds();
        let report = scenario(config, &mut log, architecture, &reference, &mut status)?;
        let cpu = cpu_seconds()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        reports.push(ArchitectureReport {
            name: name.to_string(),
            cpu_seconds: cpu,
            peak_memory_bytes: peak_memory_bytes(),
            lines_of_code: code_lines(source),
            ..report
        });
        let _ = std::fs::remove_dir_all(&root);
    }
    let lambda = reports.pop().expect("two reports");
    let kappa = reports.pop().expect("two reports");
    Ok(CompareReport {
        workload: format!("{workload:?}").to_lowercase(),
        batch_every_ms: config.batch_every.map(|d| d.as_secs_f64() * 1e3),
        events,
        late_events: (0..events).filter(|&i| is_late(i)).count() as u64,
        serving: config.serving.clone(),
        views_equal: kappa.equals_reference && lambda.equals_reference,
        kappa,
        lambda,
    })
}

/// Steps 1–4 of the module docs for one architecture.
fn scenario(
    config: &CompareConfig,
    log: &mut EventLog,
    mut architecture: Box<dyn Architecture>,
    reference: &BTreeMap<String, u64>,
    status: &mut impl FnMut(&str),
) -> Result<ArchitectureReport> {
    let workload = config.workload;
    architecture.deploy(1, workload.view(1))?;
    // Freshness: the poller watches the probes appended so far.
    let pending: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let freshness = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("3 digits")));
    let polling = Arc::new(AtomicBool::new(true));
    let architecture: Arc<Mutex<Box<dyn Architecture>>> = Arc::new(Mutex::new(architecture));
    let poller = {
        let (pending, freshness, polling, architecture) = (
            pending.clone(),
            freshness.clone(),
            polling.clone(),
            architecture.clone(),
        );
        std::thread::spawn(move || -> Result<()> {
            while polling.load(Ordering::SeqCst) || !pending.lock().unwrap().is_empty() {
                let probes: Vec<(String, Instant)> = pending.lock().unwrap().clone();
                for (probe, appended) in probes {
                    if architecture.lock().unwrap().get(&probe)?.is_some() {
                        let nanos = appended.elapsed().as_nanos() as u64;
                        let _ = freshness.lock().unwrap().record(nanos.max(1));
                        pending.lock().unwrap().retain(|(p, _)| *p != probe);
                    }
                }
                std::thread::sleep(Duration::from_micros(500));
            }
            Ok(())
        })
    };
    status("appending events and measuring freshness");
    let start = Instant::now();
    let live = (config.rate as f64 * config.seconds) as u64;
    for k in 0..live {
        let i = config.initial + k;
        let due = start + Duration::from_secs_f64(k as f64 / config.rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let (time, line) = workload.event(i);
        log.append(time, line.as_bytes())?;
        if is_probe(i) {
            let key = workload.keys(1, &line).swap_remove(0);
            pending.lock().unwrap().push((key, Instant::now()));
        }
    }
    polling.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pending.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    pending.lock().unwrap().clear();
    poller
        .join()
        .map_err(|_| Error::Worker("the freshness poller panicked".into()))??;
    status("code change: reprocessing");
    let changed = Instant::now();
    architecture.lock().unwrap().deploy(2, workload.view(2))?;
    let reprocessing_ms = changed.elapsed().as_secs_f64() * 1e3;
    let equals_reference = {
        let architecture = architecture.lock().unwrap();
        let mut equal = true;
        for (key, count) in reference {
            equal &= architecture.get(key)? == Some(*count);
        }
        equal
    };
    let batch_views = architecture.lock().unwrap().stop()?;
    let freshness = freshness.lock().unwrap();
    Ok(ArchitectureReport {
        name: String::new(),
        freshness: Percentiles::of(&freshness),
        freshness_cdf: cdf(&freshness),
        probes: freshness.len(),
        reprocessing_ms,
        cpu_seconds: None,
        peak_memory_bytes: None,
        lines_of_code: 0,
        equals_reference,
        keys: reference.len(),
        batch_views,
    })
}

/// Writes `compare.json` and `freshness.svg` into `dir`; returns their paths.
pub fn write_results(
    report: &CompareReport,
    dir: &Path,
) -> std::result::Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = dir.join("compare.json");
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(&json, text).map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    let svg = dir.join("freshness.svg");
    let series = [
        (
            "kappa".to_string(),
            crate::plot::series_color(0),
            report.kappa.freshness_cdf.as_slice(),
        ),
        (
            "lambda".to_string(),
            crate::plot::series_color(1),
            report.lambda.freshness_cdf.as_slice(),
        ),
    ];
    crate::plot::cdf_chart(
        &svg,
        "freshness: append → visible in the served view",
        "ms (log scale)",
        &series,
    )
    .map_err(|e| format!("cannot plot {}: {e}", svg.display()))?;
    Ok(vec![json, svg])
}
