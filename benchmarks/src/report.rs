//! Reporting: one table for people, JSON and CSV for scripts, SVG plots ([`plot`](crate::plot)).
//!
//! Max-throughput and fixed-rate latency configurations share one row shape, so the table and
//! the CSV read the same way: what ran (workload, mode, interval, workers, load), how fast, how
//! late (p50 / p99 / p99.9 / max of the median run), and whether every record came out.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use sluice_engine::sources::corpus::CorpusSpec;

use crate::batch_overhead::BatchOverhead;
use crate::latency::{LatencyMeasurement, LoadSource};
use crate::machine::Machine;
use crate::stats::{Percentiles, Spread};
use crate::throughput::Measurement;

/// Everything a benchmark run produced.
#[derive(Serialize)]
pub struct Report<'a> {
    /// The command line that produced it, to rerun it.
    pub command: String,
    /// What it was measured on.
    pub machine: Machine,
    /// The corpus every workload read.
    pub corpus: CorpusSpec,
    /// The max-throughput configurations, in the order they ran.
    pub max_throughput: &'a [Measurement],
    /// The fixed-rate latency configurations, in the order they ran.
    pub latency: &'a [LatencyMeasurement],
    /// The micro-batch overhead figures; `None` if they were not measured.
    pub batch_overhead: Option<&'a BatchOverhead>,
}

/// One configuration, as the table and the CSV show it.
pub struct Row {
    /// The job (`wordcount`, `wordcount (hand loop)`, ...).
    pub workload: String,
    /// `native`, `micro-batch`, or `1 thread` for the hand loop.
    pub mode: String,
    /// The batch interval in ms; `None` in native mode.
    pub interval_ms: Option<u64>,
    /// Timely workers.
    pub workers: usize,
    /// "max (file)", "100k/s", "tcp 100k/s"…
    pub load: String,
    /// Lines per second asked for (fixed-rate rows).
    pub rate: Option<f64>,
    /// Records per second (see `unit`): min, median, max over the runs.
    pub throughput: Spread,
    /// What the throughput counts: words at max throughput, input lines at a fixed rate.
    pub unit: String,
    /// Latency of the median run (fixed-rate rows).
    pub latency: Option<Percentiles>,
    /// Outputs a plain loop expects (in the workload's unit), over all runs.
    pub records_in: u64,
    /// Outputs the sink saw, over all runs.
    pub records_out: u64,
    /// Whether every expected record, and nothing else, came out.
    pub complete: bool,
}

/// `12.3M`, `456k` or `789`.
pub fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

impl Report<'_> {
    /// The rows of the table, max throughput first.
    pub fn rows(&self) -> Vec<Row> {
        let max = self.max_throughput.iter().map(|m| Row {
            workload: match m.mode {
                Some(_) => "wordcount".into(),
                None => "wordcount (hand loop)".into(),
            },
            mode: m.mode.map_or("1 thread".into(), |mode| mode.name().into()),
            interval_ms: m.mode.and_then(|mode| mode.interval_ms()),
            workers: m.workers,
            load: format!("max ({})", m.source),
            rate: None,
            throughput: m.words_per_sec,
            unit: "words".into(),
            latency: None,
            records_in: m.words_in,
            records_out: m.words_out,
            complete: m.words_in == m.words_out,
        });
        let timed = self.latency.iter().map(|m| {
            let c = &m.config;
            let median = median_run(m);
            Row {
                workload: c.workload.to_string(),
                mode: c.mode.name().into(),
                interval_ms: c.mode.interval_ms(),
                workers: c.workers,
                load: match c.load {
                    LoadSource::InProcess => format!("{}/s", si(c.rate)),
                    LoadSource::Tcp { .. } => format!("tcp {}/s", si(c.rate)),
                    LoadSource::Broker { kind, .. } => {
                        format!("{} {}/s", kind.name(), si(c.rate))
                    }
                },
                rate: Some(c.rate),
                throughput: m.lines_per_sec,
                unit: "lines".into(),
                latency: median.map(|r| r.latency_ms),
                records_in: m.runs.iter().map(|r| r.outputs_expected).sum(),
                records_out: m.runs.iter().map(|r| r.outputs_seen).sum(),
                complete: m.complete(),
            }
        });
        max.chain(timed).collect()
    }
}

/// The run whose p99 is the median one.
fn median_run(m: &LatencyMeasurement) -> Option<&crate::latency::LatencyRun> {
    let mut runs: Vec<_> = m.runs.iter().collect();
    runs.sort_by(|a, b| a.latency_ms.p99.total_cmp(&b.latency_ms.p99));
    runs.get(runs.len() / 2).copied()
}

/// The table printed on stdout.
pub fn table(rows: &[Row]) -> String {
    let ms = |x: f64| {
        if x < 10.0 {
            format!("{x:.2}")
        } else {
            format!("{x:.0}")
        }
    };
    let mut out = format!(
        "{:<22} {:<11} {:>8} {:>7} {:<12} {:>20} {:>30} {:>16}\n",
        "workload",
        "mode",
        "interval",
        "workers",
        "load",
        "throughput /s",
        "latency ms p50/p99/p99.9/max",
        "records in = out"
    );
    for r in rows {
        let t = r.throughput;
        out += &format!(
            "{:<22} {:<11} {:>8} {:>7} {:<12} {:>20} {:>30} {:>16}\n",
            r.workload,
            r.mode,
            r.interval_ms.map_or("-".into(), |i| format!("{i} ms")),
            r.workers,
            r.load,
            format!("{}/{}/{} {}", si(t.min), si(t.median), si(t.max), r.unit),
            r.latency.map_or("-".into(), |l| format!(
                "{}/{}/{}/{}",
                ms(l.p50),
                ms(l.p99),
                ms(l.p999),
                ms(l.max)
            )),
            format!(
                "{} {}",
                si(r.records_in as f64),
                if r.complete { "= yes" } else { "!= NO" }
            ),
        );
    }
    out
}

/// Writes `results.json` (everything) and `results.csv` (one line per row) into `dir`.
pub fn write_files(dir: &Path, report: &Report<'_>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("results.json"), json)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("results.csv"))?);
    writeln!(csv, "workload,mode,interval_ms,workers,load,rate_lines_per_sec,throughput_min,throughput_median,throughput_max,unit,p50_ms,p99_ms,p999_ms,max_ms,records_in,records_out,complete")?;
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.4}"));
    for r in report.rows() {
        let t = r.throughput;
        let l = r.latency;
        writeln!(
            csv,
            "{},{},{},{},{},{},{:.0},{:.0},{:.0},{},{},{},{},{},{},{},{}",
            r.workload,
            r.mode,
            r.interval_ms.map_or(String::new(), |i| i.to_string()),
            r.workers,
            r.load,
            r.rate.map_or(String::new(), |x| format!("{x:.0}")),
            t.min,
            t.median,
            t.max,
            r.unit,
            opt(l.map(|l| l.p50)),
            opt(l.map(|l| l.p99)),
            opt(l.map(|l| l.p999)),
            opt(l.map(|l| l.max)),
            r.records_in,
            r.records_out,
            r.complete
        )?;
    }
    csv.flush()
}
