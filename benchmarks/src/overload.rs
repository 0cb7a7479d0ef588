//! The overload experiment: word count behind a deliberately slow operator, fed twice what it
//! can process over TCP, in three designs side by side —
//!
//! - micro-batch without rate control: each batch is admitted whole, so each takes longer than
//!   its interval and the next waits longer: the scheduling delay grows for as long as the
//!   overload lasts, and so does memory;
//! - micro-batch with `--backpressure` (Spark's PID rate control): the sources admit what the
//!   last batches show the job can process; the delay settles within a few intervals;
//! - native: the source holds back once its hand-off is full, TCP pushes back on the sender,
//!   memory stays flat.
//!
//! Each run's job serves its UI on a free port; the experiment reads `/api/local` every second
//! (memory from `/proc`), and writes `overload.json`, `overload.csv` and `overload.svg`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use sluice_engine::metrics::{BatchInfo, Snapshot};
use sluice_engine::sources::corpus::CorpusSpec;

use crate::broker_server::cpu_seconds;
use crate::loadgen::{Load, LoadgenProcess};

/// What the experiment runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OverloadConfig {
    /// The CPU each line costs in the slow operator, µs (its capacity is 1e6 / this).
    pub slow_line_us: u64,
    /// Lines per second offered.
    pub offered: f64,
    /// How long the overload lasts, s.
    pub seconds: u64,
    /// The micro-batch runs' batch interval, ms.
    pub batch_ms: u64,
}

impl Default for OverloadConfig {
    fn default() -> Self {
        OverloadConfig {
            slow_line_us: 50,
            offered: 40_000.0,
            seconds: 30,
            batch_ms: 500,
        }
    }
}

/// One design's run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OverloadRun {
    /// `micro-batch`, `micro-batch + backpressure` or `native`.
    pub design: String,
    /// Each second: (s since the load started, resident MiB, lines/s admitted, share of the
    /// second the source held back).
    pub seconds: Vec<(f64, f64, f64, f64)>,
    /// The batches completed during the run (micro-batch designs).
    pub batches: Vec<BatchInfo>,
    /// The job's CPU seconds.
    pub cpu_seconds: f64,
}

/// The experiment's results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OverloadReport {
    /// What ran.
    pub config: OverloadConfig,
    /// One run per design.
    pub runs: Vec<OverloadRun>,
}

/// A child killed when dropped.
struct Job(Child);

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the three designs one after another with the `sluice` binary `exe`, saying what it
/// does on stderr.
pub fn run(exe: &Path, config: &OverloadConfig) -> Result<OverloadReport, String> {
    let batch = config.batch_ms.to_string();
    let designs: [(&str, Vec<&str>); 3] = [
        (
            "micro-batch",
            vec!["--mode", "minibatch", "--batch-ms", &batch, "--print", "0"],
        ),
        (
            "micro-batch + backpressure",
            vec![
                "--mode",
                "minibatch",
                "--batch-ms",
                &batch,
                "--print",
                "0",
                "--backpressure",
            ],
        ),
        ("native", vec!["--mode", "native"]),
    ];
    let mut runs = Vec::new();
    for (i, (design, flags)) in designs.iter().enumerate() {
        eprintln!(
            "sluice overload [{}/3] {design}: {:.0} lines/s offered to {:.0} lines/s of capacity for {} s",
            i + 1,
            config.offered,
            1e6 / config.slow_line_us as f64,
            config.seconds
        );
        runs.push(run_design(exe, config, design, flags)?);
    }
    Ok(OverloadReport {
        config: config.clone(),
        runs,
    })
}

fn run_design(
    exe: &Path,
    config: &OverloadConfig,
    design: &str,
    flags: &[&str],
) -> Result<OverloadRun, String> {
    let load = Load {
        rate: Some(config.offered),
        seconds: config.seconds as f64,
        linger: Duration::ZERO,
        stop: None,
        plain: true,
    };
    // Few distinct words: the counts' state is full at once, so memory shows the buffering.
    let corpus = CorpusSpec {
        vocab: 1000,
        ..CorpusSpec::default()
    };
    let loadgen = LoadgenProcess::spawn(exe, &load, "corpus", &corpus)?;
    let mut child = Command::new(exe)
        .args(["run", "wordcount", "--socket", loadgen.address()])
        .args(["--slow-line-us", &config.slow_line_us.to_string()])
        .args(["--ui", "127.0.0.1:0", "--status-every-ms", "0"])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let ui = ui_address(&mut child)?;
    let job = Job(child);
    let started = Instant::now();
    let mut run = OverloadRun {
        design: design.to_string(),
        ..OverloadRun::default()
    };
    let mut previous: Option<Snapshot> = None;
    let mut last = None;
    while started.elapsed() < Duration::from_secs(config.seconds + 2) {
        std::thread::sleep(Duration::from_secs(1));
        let Ok(now) = sluice_ui::fetch_local(&ui) else {
            break; // the job has ended
        };
        let t = started.elapsed().as_secs_f64();
        let rss = rss_mib(job.0.id());
        let (admitted, held) = match &previous {
            Some(before) => {
                let dt = (now.uptime_seconds - before.uptime_seconds).max(1e-9);
                let records = |s: &Snapshot| s.sources.iter().map(|s| s.records).sum::<u64>();
                let held = |s: &Snapshot| {
                    s.sources
                        .iter()
                        .map(|s| s.backpressured_seconds)
                        .sum::<f64>()
                };
                (
                    (records(&now) - records(before)) as f64 / dt,
                    ((held(&now) - held(before)) / dt).clamp(0.0, 1.0),
                )
            }
            None => (0.0, 0.0),
        };
        run.seconds.push((t, rss, admitted, held));
        last = Some(now.clone());
        previous = Some(now);
    }
    run.cpu_seconds = cpu_seconds(job.0.id());
    run.batches = last.map(|s| s.batches).unwrap_or_default();
    drop(job);
    drop(loadgen);
    Ok(run)
}

/// Reads the job's stderr until it says where its UI is; the rest is dropped.
fn ui_address(child: &mut Child) -> Result<String, String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = std::io::BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(rest) = line.strip_prefix("sluice: UI at http://") {
            let address = rest.trim_end_matches('/').to_string();
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(address);
        }
    }
    Err("the job ended before serving its UI".into())
}

/// Resident memory of process `pid`, MiB (0 if it has ended).
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Writes `overload.json`, `overload.csv` and `overload.svg` into `dir`; their paths.
pub fn write(report: &OverloadReport, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = dir.join("overload.json");
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(&json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    let csv = dir.join("overload.csv");
    let mut rows = String::from("design,second,rss_mib,admitted_lines_per_s,held_back_share\n");
    for run in &report.runs {
        for (t, rss, admitted, held) in &run.seconds {
            rows.push_str(&format!(
                "{},{t:.2},{rss:.1},{admitted:.0},{held:.3}\n",
                run.design
            ));
        }
    }
    std::fs::write(&csv, rows).map_err(|e| format!("{}: {e}", csv.display()))?;
    let svg = dir.join("overload.svg");
    plot(report, &svg).map_err(|e| format!("{}: {e}", svg.display()))?;
    Ok(vec![json, csv, svg])
}

const COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

fn plot(report: &OverloadReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1000, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let interval = report.config.batch_ms as f64 / 1000.0;

    // Scheduling delay per batch, against the batch's time since the load started.
    let micro: Vec<(usize, &OverloadRun)> = report
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.batches.is_empty())
        .collect();
    let first = |r: &OverloadRun| r.batches.first().map_or(0, |b| b.batch_time_ms);
    let x_max = report.config.seconds as f64 + 2.0;
    let y_max = micro
        .iter()
        .flat_map(|(_, r)| r.batches.iter().map(|b| b.scheduling_delay_ms as f64 / 1e3))
        .fold(interval * 2.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "Micro-batch: scheduling delay per batch",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("batch time, s since the load started")
        .y_desc("scheduling delay, s")
        .draw()?;
    for (i, run) in &micro {
        let origin = first(run);
        let color = COLORS[*i];
        let points: Vec<(f64, f64)> = run
            .batches
            .iter()
            .map(|b| {
                let t = (b.batch_time_ms - origin) as f64 / 1e3;
                (t, b.scheduling_delay_ms as f64 / 1e3)
            })
            .filter(|(t, _)| *t <= x_max)
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(run.design.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .draw_series(std::iter::once(DashedPathElement::new(
            vec![(0.0, interval), (x_max, interval)],
            4,
            4,
            BLACK.stroke_width(1),
        )))?
        .label("the batch interval")
        .legend(|(x, y)| DashedPathElement::new(vec![(x, y), (x + 18, y)], 3, 3, BLACK));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    // Memory over time, every design.
    let y_max = report
        .runs
        .iter()
        .flat_map(|r| r.seconds.iter().map(|s| s.1))
        .fold(10.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&right)
        .caption("Resident memory of the job", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("s since the load started")
        .y_desc("MiB")
        .draw()?;
    for (i, run) in report.runs.iter().enumerate() {
        let color = COLORS[i];
        let points: Vec<(f64, f64)> = run.seconds.iter().map(|s| (s.0, s.1)).collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(run.design.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
