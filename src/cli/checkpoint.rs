//! `sluice checkpoint inspect DIR`: what a checkpoint directory holds, and whether it is whole.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sluice::bench::checkpoint_cost::{measure, CheckpointBenchConfig};
use sluice::engine::checkpoint::{
    CheckpointDir, CheckpointError, Checkpointing, EpochReport, Input,
};
use sluice::engine::Error;

use super::flags;
use super::out::outln;

/// The checkpoint flags of a job.
#[derive(Args, Debug, Clone)]
pub struct CheckpointArgs {
    /// Checkpoint the job's state into DIR and resume from the newest valid checkpoint there:
    /// after a crash, the same command continues where the checkpoint was taken, and the
    /// outputs are those of a run without the crash.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// With --checkpoint-dir: take a checkpoint every MS of stream time.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = flags::interval_ms(), requires = "checkpoint_dir")]
    pub checkpoint_every: u64,
    /// With --checkpoint-dir: start afresh even if DIR holds another program's checkpoint.
    #[arg(long, requires = "checkpoint_dir")]
    pub discard_checkpoint: bool,
    /// With --checkpoint-dir: resume even if the checkpoint holds state of operators this
    /// program no longer has, dropping that state (without it, such a restore is refused).
    #[arg(long, requires = "checkpoint_dir")]
    pub allow_non_restored_state: bool,
    /// With --checkpoint-dir: resume from the savepoint at PATH (a `savepoints/savepoint-E`
    /// directory, or any committed `epoch-E`) instead of DIR's newest checkpoint.
    #[arg(
        long,
        value_name = "PATH",
        requires = "checkpoint_dir",
        conflicts_with = "discard_checkpoint"
    )]
    pub from_savepoint: Option<PathBuf>,
}

impl CheckpointArgs {
    /// The checkpoint settings for `program`, whose result is decided by `fingerprint` (its
    /// options) and `input` (what it reads), if checkpoints were asked for.
    pub fn checkpointing(
        &self,
        program: &str,
        fingerprint: &str,
        input: Input,
    ) -> Option<Checkpointing> {
        let dir = self.checkpoint_dir.as_ref()?;
        let checkpointing = Checkpointing::new(dir, self.checkpoint_every)
            .program(program, fingerprint)
            .input("input", input)
            .discard_existing(self.discard_checkpoint)
            .allow_non_restored_state(self.allow_non_restored_state);
        Some(match &self.from_savepoint {
            Some(savepoint) => checkpointing.from_savepoint(savepoint),
            None => checkpointing,
        })
    }
}

/// Checkpoint directory commands.
#[derive(Subcommand, Debug)]
pub enum CheckpointCommand {
    /// List the committed epochs: size, parts, operators, and whether every file checks out.
    Inspect {
        /// The checkpoint directory (as given to --checkpoint-dir).
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Measure what checkpoints cost: snapshot encode/decode speed, size and write time on a
    /// large keyed state, word count's throughput with checkpoints, and recovery time.
    Bench {
        /// Distinct keys in the state.
        #[arg(long, default_value_t = 100_000, value_parser = flags::count(1, flags::MAX_ITEMS))]
        keys: usize,
        /// Lines per throughput run.
        #[arg(long, default_value_t = 5_000_000, value_parser = flags::int(1, flags::MAX_LINES))]
        lines: u64,
        #[arg(long, default_value_t = 2, value_parser = flags::workers())]
        workers: usize,
        /// Runs per figure.
        #[arg(long, default_value_t = 5, value_parser = flags::count(1, flags::MAX_RUNS))]
        runs: usize,
        /// Checkpoint intervals to measure throughput at, ms, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,100", value_parser = flags::interval_ms())]
        intervals: Vec<u64>,
        /// Where to write checkpoint.json (and scratch checkpoints).
        #[arg(long, value_name = "DIR", default_value = "results/checkpoints")]
        out: PathBuf,
    },
    /// Measure savepoints and rescaling: the time to keep a large keyed state's checkpoint as
    /// a savepoint, and to restore it into 1 and 2 workers from 1 and 2.
    BenchRescale {
        /// State sizes in keys, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100000,1000000", value_parser = flags::count(1, flags::MAX_ITEMS))]
        keys: Vec<usize>,
        /// Runs per figure.
        #[arg(long, default_value_t = 5, value_parser = flags::count(1, flags::MAX_RUNS))]
        runs: usize,
        /// Where to write rescale.json (and scratch checkpoints).
        #[arg(long, value_name = "DIR", default_value = "results/rescale")]
        out: PathBuf,
    },
}

pub fn checkpoint(command: CheckpointCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        CheckpointCommand::Inspect { dir, json } => inspect(dir, json),
        CheckpointCommand::BenchRescale { keys, runs, out } => bench_rescale(keys, runs, out),
        CheckpointCommand::Bench {
            keys,
            lines,
            workers,
            runs,
            intervals,
            out,
        } => bench(CheckpointBenchConfig {
            keys,
            lines,
            workers,
            runs,
            intervals_ms: intervals,
            scratch: out,
        }),
    }
}

fn bench(config: CheckpointBenchConfig) -> Result<(), Box<dyn std::error::Error>> {
    if cfg!(debug_assertions) {
        eprintln!("sluice: warning: a debug build; figures are only meaningful from `cargo run --release`");
    }
    std::fs::create_dir_all(&config.scratch)
        .map_err(|e| format!("cannot create {}: {e}", config.scratch.display()))?;
    let figures = measure(&config, |what| eprintln!("sluice checkpoint bench: {what}"))?;
    let m = |s: &sluice::bench::stats::Spread| format!("{:.1}/{:.1}/{:.1}", s.min, s.median, s.max);
    outln!(
        "state of {} keys: snapshot {} bytes; encode {} MB/s, decode {} MB/s (min/median/max); \
         write + commit {} ms",
        config.keys,
        figures.snapshot_bytes,
        m(&figures.encode_mb_per_sec),
        m(&figures.decode_mb_per_sec),
        m(&figures.write_and_commit_ms)
    );
    for t in &figures.throughput {
        let interval = t
            .interval_ms
            .map_or("no checkpoints".to_string(), |ms| format!("every {ms} ms"));
        outln!(
            "word count, {} workers, {interval}: {} words/s ({:.1}% of the same round without \
             checkpoints, min/median/max {}; {} checkpoints)",
            config.workers,
            sluice::bench::report::si(t.words_per_sec.median),
            t.relative.median * 100.0,
            percent(&t.relative),
            t.checkpoints
        );
    }
    outln!(
        "recovery, abort to the restarted job's first output with {} keys restored: {} ms",
        config.keys,
        m(&figures.recovery_ms)
    );
    let path = config.scratch.join("checkpoint.json");
    std::fs::write(&path, serde_json::to_string_pretty(&figures)?)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    outln!("results: {}", path.display());
    Ok(())
}

fn bench_rescale(
    keys: Vec<usize>,
    runs: usize,
    out: PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    use sluice::bench::rescale_cost::{measure, RescaleBenchConfig};
    if cfg!(debug_assertions) {
        eprintln!("sluice: warning: a debug build; figures are only meaningful from `cargo run --release`");
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let config = RescaleBenchConfig {
        keys,
        runs,
        scratch: out.clone(),
    };
    let figures = measure(&config, |what| {
        eprintln!("sluice checkpoint bench-rescale: {what}")
    })?;
    let m = |s: &sluice::bench::stats::Spread| format!("{:.1}/{:.1}/{:.1}", s.min, s.median, s.max);
    for f in &figures {
        outln!(
            "{} keys: checkpoint {} bytes; savepoint {} ms (min/median/max)",
            f.keys,
            f.checkpoint_bytes,
            m(&f.savepoint_ms)
        );
        for (change, took) in &f.restore_ms {
            outln!("  restore {change} workers: {} ms", m(took));
        }
    }
    let path = out.join("rescale.json");
    let json = serde_json::json!({ "config": config, "figures": figures });
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    outln!("results: {}", path.display());
    Ok(())
}

/// A spread of ratios as percentages.
fn percent(s: &sluice::bench::stats::Spread) -> String {
    format!(
        "{:.1}/{:.1}/{:.1}%",
        s.min * 1e2,
        s.median * 1e2,
        s.max * 1e2
    )
}

fn inspect(dir: PathBuf, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    if !dir.is_dir() {
        return Err(Error::Read {
            path: dir,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        }
        .into());
    }
    let store = CheckpointDir::open(&dir).map_err(|e| Error::Checkpoint(e.to_string()))?;
    let checked = |reports: Result<Vec<EpochReport>, _>| {
        reports.map_err(|e: CheckpointError| Error::Checkpoint(e.to_string()))
    };
    let checkpoints = checked(store.inspect())?;
    let savepoints = checked(store.inspect_savepoints())?;
    let unusable = !checkpoints.is_empty() && checkpoints.iter().all(|r| r.problem.is_some());
    let verdict = || -> Result<(), Box<dyn std::error::Error>> {
        if unusable {
            Err(format!(
                "no usable checkpoint in {}: every epoch is damaged (a run resumes only with --discard-checkpoint)",
                dir.display()
            )
            .into())
        } else {
            Ok(())
        }
    };
    if json {
        let listing = serde_json::json!({ "checkpoints": checkpoints, "savepoints": savepoints });
        outln!("{}", serde_json::to_string_pretty(&listing)?);
        return verdict();
    }
    if checkpoints.is_empty() && savepoints.is_empty() {
        outln!("{}: no committed checkpoint", dir.display());
        return Ok(());
    }
    let table = |title: &str, reports: &[EpochReport]| {
        outln!("{title}");
        outln!(
            "{:>14}  {:>6}  {:>10}  {:>5}  {:>7}  {:>8}  status",
            "epoch",
            "latest",
            "bytes",
            "parts",
            "workers",
            "version"
        );
        for r in reports {
            let status = match (&r.problem, &r.holds) {
                (Some(problem), _) => problem.clone(),
                (None, Some(holds)) => {
                    let holds: Vec<String> = holds.iter().map(usize::to_string).collect();
                    format!(
                        "ok (process {}'s parts; the others' are in their own directories)",
                        holds.join(", ")
                    )
                }
                (None, None) => "ok".to_string(),
            };
            let latest = if r.latest { "*" } else { "" };
            let version = if r.version.is_empty() {
                "-"
            } else {
                &r.version
            };
            outln!(
                "{:>14}  {:>6}  {:>10}  {:>5}  {:>7}  {version:>8}  {status}",
                r.epoch,
                latest,
                r.bytes,
                r.parts,
                format!("{}x{}", r.processes, r.workers / r.processes.max(1))
            );
        }
    };
    if !checkpoints.is_empty() {
        table("checkpoints:", &checkpoints);
    }
    if !savepoints.is_empty() {
        table("savepoints (never pruned):", &savepoints);
        for s in &savepoints {
            outln!("  {}", s.path.display());
        }
    }
    let newest = checkpoints
        .iter()
        .chain(&savepoints)
        .filter(|r| r.problem.is_none())
        .max_by_key(|r| r.epoch);
    if let Some(newest) = newest {
        outln!("operators of epoch {} (state bytes, parts):", newest.epoch);
        for s in &newest.state {
            outln!("  {:<32} {:>10}  {:>3}", s.operator, s.bytes, s.parts);
        }
        let groups: Vec<String> = newest
            .key_groups
            .iter()
            .enumerate()
            .map(|(worker, groups)| format!("w{worker} {}..{}", groups.start, groups.end))
            .collect();
        outln!(
            "key groups (of {}) by worker: {}",
            sluice::engine::hash::KEY_GROUPS,
            groups.join(", ")
        );
        outln!("inputs:    {}", newest.inputs.join(", "));
    }
    verdict()
}
