//! `sluice bench`: word-count throughput of the native engine, beside a hand-written loop.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use sluice::bench::machine::Machine;
use sluice::bench::report::{self, Report};
use sluice::bench::throughput::{self, ThroughputConfig};

use super::corpus::CorpusArgs;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The workload (only word count so far).
    #[arg(default_value = "wordcount", value_parser = ["wordcount"])]
    pub workload: String,
    /// Lines of the shared corpus per run.
    #[arg(long, default_value_t = 2_000_000)]
    pub lines: u64,
    /// Measured runs per configuration, after one warm-up run.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Worker counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub workers: Vec<usize>,
    /// Directory for results (default: results/bench-UNIXTIME).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub corpus: CorpusArgs,
}

pub fn bench(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    if cfg!(debug_assertions) {
        eprintln!("sluice: warning: a debug build; figures are only meaningful from `cargo run --release`");
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/bench-{stamp}")));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let config = ThroughputConfig {
        lines: args.lines,
        runs: args.runs,
        workers: args.workers.clone(),
        corpus: args.corpus.spec(),
        scratch: out.clone(),
    };
    let runs_total = config.total_runs();
    let mut done = 0;
    let measurements = throughput::measure(&config, |what| {
        done += 1;
        eprintln!("sluice bench [{done}/{runs_total}] {what}");
    })?;
    println!(
        "word count, {} lines x {} words, {} runs each (after a warm-up)",
        args.lines, args.corpus.words, args.runs
    );
    print!("{}", report::table(&measurements));
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: Machine::describe(),
        lines: args.lines,
        runs: args.runs,
        measurements: &measurements,
    };
    report::write_files(&out, &report)
        .map_err(|e| format!("cannot write results to {}: {e}", out.display()))?;
    eprintln!(
        "sluice bench: micro-batch overhead, 10 ms batches, 2 workers, 3 s of paced input per mode"
    );
    let overhead = sluice::bench::batch_overhead::measure(2, 10, 3.0, &args.corpus.spec())?;
    println!(
        "micro-batch overhead: {:.3} ms CPU per batch ({} batches of {} ms, 2 workers: {:.2} s CPU vs {:.2} s native)",
        overhead.per_batch_ms, overhead.batches, overhead.batch_ms, overhead.minibatch_cpu_s, overhead.native_cpu_s
    );
    let path = out.join("batch-overhead.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&overhead).unwrap_or_default(),
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("results: {}", out.display());
    Ok(())
}
