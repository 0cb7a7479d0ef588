//! `sluice overload`: word count fed twice its capacity — micro-batch without and with rate
//! control, and native — side by side, as curves (see `sluice_bench::overload`).

use std::path::PathBuf;

use clap::Args;
use sluice::bench::overload::{self, OverloadConfig};

use super::flags;

#[derive(Args, Debug)]
pub struct OverloadArgs {
    /// How long each design is overloaded, in seconds.
    #[arg(long, default_value_t = 30, value_parser = flags::int(1, 3600))]
    seconds: u64,
    /// The slow operator's CPU per line, in microseconds (capacity: 1e6 / this lines/s).
    #[arg(long, default_value_t = 50, value_parser = flags::int(1, 1_000_000))]
    slow_line_us: u64,
    /// Lines per second offered [default: twice the capacity].
    #[arg(long, value_parser = flags::rate)]
    offered: Option<f64>,
    /// The micro-batch designs' batch interval, in ms.
    #[arg(long, default_value_t = 500, value_parser = flags::interval_ms())]
    batch_ms: u64,
    /// Directory for overload.json, overload.csv and overload.svg.
    #[arg(long, default_value = "results/overload")]
    out: PathBuf,
    /// Measure nothing: redraw overload.csv and overload.svg from the overload.json in DIR.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["seconds", "slow_line_us", "offered", "batch_ms", "out"])]
    replot: Option<PathBuf>,
}

pub fn overload(args: OverloadArgs) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(dir) = &args.replot {
        let path = dir.join("overload.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let report = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for path in overload::write(&report, dir)? {
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    let config = OverloadConfig {
        slow_line_us: args.slow_line_us,
        offered: args.offered.unwrap_or(2.0 * 1e6 / args.slow_line_us as f64),
        seconds: args.seconds,
        batch_ms: args.batch_ms,
    };
    let exe = std::env::current_exe()?;
    let report = overload::run(&exe, &config)?;
    for run in &report.runs {
        let worst = run.batches.iter().map(|b| b.scheduling_delay_ms).max();
        let memory = run.seconds.iter().map(|s| s.1).fold(0.0, f64::max);
        let held: f64 =
            run.seconds.iter().map(|s| s.3).sum::<f64>() / run.seconds.len().max(1) as f64;
        println!(
            "{:<28} worst scheduling delay {:>8}  peak memory {memory:>7.1} MiB  source held back {:>4.0}% of the time",
            run.design,
            worst.map_or("-".to_string(), |ms| format!("{ms} ms")),
            100.0 * held
        );
    }
    for path in overload::write(&report, &args.out)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
