//! `sluice compare lambda-kappa`: both architectures over the same log and events.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use sluice::bench::architectures::compare::{compare, write_results, CompareConfig};
use sluice::bench::architectures::views::ViewWorkload;

use super::flags;
use super::out::outln;

/// What to compare.
#[derive(Subcommand, Debug)]
pub enum CompareCommand {
    /// Lambda vs kappa: final views, freshness, reprocessing time, CPU, memory, lines of code.
    LambdaKappa(LambdaKappaArgs),
}

/// The workloads the comparison knows.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Running count of every word; the code change lower-cases words.
    Wordcount,
    /// Hashtag counts per 1 s event-time window; the code change makes the windows 5 s.
    Hashtags,
    /// The Yahoo Streaming Benchmark: ad views per campaign per 10 s window; the code change
    /// counts clicks too.
    Ysb,
}

impl From<Workload> for ViewWorkload {
    fn from(workload: Workload) -> Self {
        match workload {
            Workload::Wordcount => ViewWorkload::Wordcount,
            Workload::Hashtags => ViewWorkload::Hashtags,
            Workload::Ysb => ViewWorkload::Ysb,
        }
    }
}

#[derive(Args, Debug)]
pub struct LambdaKappaArgs {
    #[arg(long, value_enum, default_value_t = Workload::Wordcount)]
    workload: Workload,
    /// Events in the log before the architectures start.
    #[arg(long, default_value_t = 200_000, value_parser = flags::int(0, flags::MAX_ITEMS))]
    initial: u64,
    /// Events appended per second while freshness is measured.
    #[arg(long, default_value_t = 2_000, value_parser = flags::int(1, flags::MAX_RATE as u64))]
    rate: u64,
    /// For how long.
    #[arg(long, default_value_t = 5.0, value_parser = flags::seconds, allow_hyphen_values = true)]
    seconds: f64,
    /// The serving store: `embedded`, or `redis://HOST:PORT`.
    #[arg(long, default_value = "embedded")]
    serving: String,
    #[arg(long, default_value_t = 2, value_parser = flags::workers())]
    workers: usize,
    /// Lambda's batch layer recomputes its view every MS milliseconds, as Marz's batch layer
    /// runs in a loop; 0: only when the code changes.
    #[arg(long, value_name = "MS", default_value_t = 2_000, value_parser = flags::ms_or_zero())]
    batch_every: u64,
    /// Where to write compare.json and freshness.svg.
    #[arg(long, default_value = "results/compare", value_name = "DIR")]
    out: PathBuf,
}

pub fn run(command: CompareCommand) -> Result<(), Box<dyn std::error::Error>> {
    let CompareCommand::LambdaKappa(args) = command;
    let config = CompareConfig {
        workload: args.workload.into(),
        batch_every: (args.batch_every > 0).then(|| Duration::from_millis(args.batch_every)),
        initial: args.initial,
        rate: args.rate,
        seconds: args.seconds,
        serving: args.serving,
        workers: args.workers,
        scratch: args.out.join("scratch"),
    };
    let report = compare(&config, |what| eprintln!("sluice compare: {what}"))?;
    let _ = std::fs::remove_dir_all(&config.scratch);
    outln!(
        "{}: {} events ({} late), serving: {}; final views equal a plain loop: {}",
        report.workload,
        report.events,
        report.late_events,
        report.serving,
        if report.views_equal { "yes" } else { "NO" }
    );
    outln!(
        "{:<8} {:>12} {:>12} {:>16} {:>8} {:>10} {:>6}",
        "",
        "fresh p50",
        "fresh p99",
        "reprocessing",
        "CPU s",
        "peak MiB",
        "LOC"
    );
    for r in [&report.kappa, &report.lambda] {
        outln!(
            "{:<8} {:>9.2} ms {:>9.2} ms {:>13.0} ms {:>8.2} {:>10.0} {:>6}",
            r.name,
            r.freshness.p50,
            r.freshness.p99,
            r.reprocessing_ms,
            r.cpu_seconds.unwrap_or(f64::NAN),
            r.peak_memory_bytes
                .map_or(f64::NAN, |b| b as f64 / (1 << 20) as f64),
            r.lines_of_code
        );
    }
    if let Some(views) = report.lambda.batch_views {
        outln!("lambda built {views} batch views");
    }
    for path in write_results(&report, &args.out)? {
        outln!("wrote {}", path.display());
    }
    if !report.views_equal {
        return Err("a final view differs from the plain loop's".into());
    }
    Ok(())
}
