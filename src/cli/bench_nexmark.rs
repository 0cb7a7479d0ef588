//! `sluice bench --workload nexmark`: every Nexmark query in every mode — max throughput per
//! core, latency at the fixed rates, peak memory, and a check against the plain-loop
//! reference — with a progress bar, `nexmark.json` / `nexmark.csv`, and a bar chart.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use sluice::bench::nexmark::{self, NexmarkBench, TARGET_PER_CORE};
use sluice::nexmark::queries::NAMES;

use super::bench::BenchArgs;
use super::out::outln;

pub fn bench(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.workers.len() != 1 {
        return Err(
            "--workload nexmark measures one worker count at a time: give one --workers".into(),
        );
    }
    if args.seconds <= args.warmup {
        return Err(format!(
            "--seconds {} must be longer than --warmup {}",
            args.seconds, args.warmup
        )
        .into());
    }
    let queries = if args.queries.is_empty() {
        NAMES.iter().map(|q| q.to_string()).collect()
    } else {
        args.queries.clone()
    };
    let config = NexmarkBench {
        queries,
        modes: args.modes.clone(),
        workers: args.workers[0],
        events: args.events.unwrap_or(2_000_000),
        check_events: args.check_events.unwrap_or(50_000),
        rates: args.rates.clone(),
        seconds: args.seconds,
        warmup: args.warmup,
    };
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/nexmark-{stamp}")));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    if cfg!(debug_assertions) {
        eprintln!("sluice: warning: a debug build; figures are only meaningful from `cargo run --release`");
    }
    let bar = ProgressBar::new(config.steps()).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:24}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let results = config.run(&mut |what| {
        if bar.is_hidden() {
            eprintln!(
                "sluice bench [{}/{}] {what}",
                bar.position() + 1,
                bar.length().unwrap_or(0)
            );
        }
        bar.set_message(what);
        bar.inc(1);
    })?;
    bar.finish_and_clear();

    outln!(
        "{:<5} {:<16} {:>12} {:>14} {:>10} {:>9}  {}",
        "query",
        "mode",
        "events/s",
        "events/CPU-s",
        "peak MB",
        "check",
        "p99 ms at each rate"
    );
    for t in &results.throughput {
        let check = results
            .checks
            .iter()
            .find(|c| c.query == t.query && c.mode == t.mode)
            .map_or("-", |c| match c.equal {
                Some(true) => "equal",
                Some(false) => "DIFFERS",
                None => "n/a",
            });
        let p99: Vec<String> = results
            .latency
            .iter()
            .filter(|l| l.query == t.query && l.mode == t.mode)
            .map(|l| l.p99_ms.map_or("-".to_string(), |p99| format!("{p99:.2}")))
            .collect();
        outln!(
            "{:<5} {:<16} {:>12.0} {:>14.0} {:>10.1} {:>9}  {}",
            t.query,
            t.mode.to_string(),
            t.events_per_s,
            t.events_per_cpu_s,
            t.peak_memory_bytes.unwrap_or(0) as f64 / 1e6,
            check,
            p99.join(" ")
        );
    }
    nexmark::write_files(&out, &config, &results)
        .map_err(|e| format!("cannot write results to {}: {e}", out.display()))?;
    let plot = out.join("nexmark-throughput.svg");
    sluice::bench::plot::nexmark_throughput(&plot, &results.throughput, TARGET_PER_CORE)
        .map_err(|e| format!("cannot plot {}: {e}", plot.display()))?;
    outln!("results: {}", out.display());
    let differing = results
        .checks
        .iter()
        .filter(|c| c.equal == Some(false))
        .count();
    if differing > 0 {
        return Err(format!("{differing} query/mode pair(s) differ from the reference").into());
    }
    Ok(())
}
