//! Reporting: a table for people, JSON and CSV for scripts.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::machine::Machine;
use crate::throughput::Measurement;

/// Everything a throughput run produced.
#[derive(Serialize)]
pub struct Report<'a> {
    pub command: String,
    pub machine: Machine,
    pub lines: u64,
    pub runs: usize,
    pub measurements: &'a [Measurement],
}

/// Millions, with one decimal.
fn m(x: f64) -> String {
    format!("{:.1}M", x / 1e6)
}

/// The table printed on stdout.
pub fn table(measurements: &[Measurement]) -> String {
    let mut out = format!(
        "{:<15} {:<7} {:>7} {:>22} {:>12} {:>8} {:>9} {:>17}\n",
        "system",
        "source",
        "workers",
        "words/s min/med/max",
        "per worker",
        "of loop",
        "peak MiB",
        "words in = out"
    );
    for r in measurements {
        let s = r.words_per_sec;
        out += &format!(
            "{:<15} {:<7} {:>7} {:>22} {:>12} {:>7.2}x {:>9} {:>17}\n",
            r.system,
            r.source,
            r.workers,
            format!("{}/{}/{}", m(s.min), m(s.median), m(s.max)),
            m(r.words_per_sec_per_worker),
            r.of_hand_loop,
            r.peak_memory_mib.map_or("-".into(), |p| format!("{p:.0}")),
            format!(
                "{} {}",
                r.words_in,
                if r.words_in == r.words_out {
                    "= yes"
                } else {
                    "!= NO"
                }
            ),
        );
    }
    out
}

/// Writes `results.json` and `results.csv` into `dir`.
pub fn write_files(dir: &Path, report: &Report<'_>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("results.json"), json)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("results.csv"))?);
    writeln!(csv, "system,source,workers,words_in,words_out,words_per_sec_min,words_per_sec_median,words_per_sec_max,words_per_sec_per_worker,of_hand_loop,peak_memory_mib")?;
    for r in report.measurements {
        let s = r.words_per_sec;
        writeln!(
            csv,
            "{},{},{},{},{},{:.0},{:.0},{:.0},{:.0},{:.3},{}",
            r.system,
            r.source,
            r.workers,
            r.words_in,
            r.words_out,
            s.min,
            s.median,
            s.max,
            r.words_per_sec_per_worker,
            r.of_hand_loop,
            r.peak_memory_mib
                .map_or(String::new(), |p| format!("{p:.1}"))
        )?;
    }
    csv.flush()
}
