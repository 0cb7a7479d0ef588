//! What checkpoints cost: how fast a large keyed state encodes and decodes, how big a snapshot
//! is and how long it takes to write durably, word count's throughput with and without
//! checkpoints, and how long a job takes from a restart to its first new output.
//!
//! The state is word count's: a `KeyedState<String, u64>` of `keys` distinct words, from a
//! corpus whose vocabulary is that large and flat enough that every word appears.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sluice_engine::checkpoint::{frame, CheckpointDir, Checkpointing, Metadata};
use sluice_engine::keyed_state::KeyedState;
use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::CorpusSpec;
use sluice_engine::sources::Generator;

use crate::stats::Spread;
use sluice_engine::sources::LineSource;
use sluice_jobs::wordcount::{Progress, WordCount};
use sluice_jobs::Mode;

/// What to measure.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointBenchConfig {
    /// Distinct keys in the state.
    pub keys: usize,
    /// Lines per throughput run.
    pub lines: u64,
    /// Timely workers each run uses.
    pub workers: usize,
    /// Runs per figure (the median is reported with the spread); for throughput, rounds of
    /// one run per interval.
    pub runs: usize,
    /// Checkpoint intervals to measure throughput at, ms.
    pub intervals_ms: Vec<u64>,
    /// Where checkpoints are written.
    pub scratch: PathBuf,
}

/// The figures.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointFigures {
    /// What was measured, so the figures say what they are of.
    pub config: CheckpointBenchConfig,
    /// Bytes of one snapshot of the state (one frame).
    pub snapshot_bytes: u64,
    /// Encoding and decoding speed of that snapshot, MB/s.
    pub encode_mb_per_sec: Spread,
    /// Decoding speed of that snapshot, MB/s (the restore side of the same frame).
    pub decode_mb_per_sec: Spread,
    /// Writing it durably (temporary file, fsync, rename) and committing an epoch, ms.
    pub write_and_commit_ms: Spread,
    /// Word count, words/s, without checkpoints and at each interval.
    pub throughput: Vec<ThroughputWithCheckpoints>,
    /// From the abort of a running job to the first output of the job that restores its last
    /// checkpoint, ms.
    pub recovery_ms: Spread,
}

/// Word count's throughput at one checkpoint interval (none: no checkpoints).
#[derive(Clone, Debug, Serialize)]
pub struct ThroughputWithCheckpoints {
    /// The checkpoint interval, ms; `None` for the run without checkpoints.
    pub interval_ms: Option<u64>,
    /// Words counted per second.
    pub words_per_sec: Spread,
    /// Throughput relative to the same round's run without checkpoints (1.0 = no cost).
    pub relative: Spread,
    /// Checkpoints committed per run (median).
    pub checkpoints: f64,
}

/// A corpus with `keys` distinct words, all of which appear in a few hundred thousand lines.
fn corpus(keys: usize) -> CorpusSpec {
    CorpusSpec {
        vocab: keys,
        skew: 0.3,
        ..CorpusSpec::default()
    }
}

/// Measures everything; `step(what)` is called before each part.
pub fn measure(
    config: &CheckpointBenchConfig,
    mut step: impl FnMut(&str),
) -> Result<CheckpointFigures, String> {
    let spec = corpus(config.keys);
    step("snapshot encode / decode / write");
    let mut state: KeyedState<String, u64> = KeyedState::new();
    for i in 0..config.keys {
        state.insert(format!("w{i}-{}", i * 7919 % 1000), i as u64);
    }
    let (mut encode, mut decode, mut write) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    let store = CheckpointDir::open(config.scratch.join("snapshots"))
        .map_err(|e| e.to_string())?
        .retain(1);
    for run in 0..config.runs.max(1) {
        let started = Instant::now();
        let encoded = frame::encode(&state).map_err(|e| e.to_string())?;
        encode.push(mb_per_sec(encoded.len(), started.elapsed()));
        bytes = encoded.len() as u64;
        let started = Instant::now();
        let decoded: Vec<(String, u64)> =
            frame::decode(&encoded, Path::new("memory")).map_err(|e| e.to_string())?;
        decode.push(mb_per_sec(encoded.len(), started.elapsed()));
        if decoded.len() != config.keys {
            return Err(format!("decoded {} keys of {}", decoded.len(), config.keys));
        }
        let started = Instant::now();
        let epoch = run as u64 + 1;
        store
            .write_part_frame(epoch, "state-w0", &encoded)
            .and_then(|()| store.commit(Metadata::new("bench", "", epoch)))
            .map_err(|e| e.to_string())?;
        write.push(started.elapsed().as_secs_f64() * 1e3);
    }
    std::fs::remove_dir_all(config.scratch.join("snapshots")).ok();

    let throughput = throughput(config, &spec, &mut step)?;

    step("recovery: restore the state and emit the first output");
    let mut recovery = Vec::new();
    for run in 0..config.runs.max(1) {
        recovery.push(recovery_ms(config, &spec, run)?);
    }
    Ok(CheckpointFigures {
        config: config.clone(),
        snapshot_bytes: bytes,
        encode_mb_per_sec: Spread::of(&encode),
        decode_mb_per_sec: Spread::of(&decode),
        write_and_commit_ms: Spread::of(&write),
        throughput,
        recovery_ms: Spread::of(&recovery),
    })
}

/// Word count's throughput without checkpoints and at each interval, in rounds: each round runs
/// every configuration once, in an order that rotates from round to round, and each rate is
/// compared with the round's own rate without checkpoints. On a shared machine throughput
/// drifts by more than the cost being measured; pairing the runs cancels the drift.
fn throughput(
    config: &CheckpointBenchConfig,
    spec: &CorpusSpec,
    step: &mut impl FnMut(&str),
) -> Result<Vec<ThroughputWithCheckpoints>, String> {
    let intervals: Vec<Option<u64>> = std::iter::once(None)
        .chain(config.intervals_ms.iter().copied().map(Some))
        .collect();
    let rounds = config.runs.max(1);
    let mut rates = vec![Vec::new(); intervals.len()];
    let mut commits = vec![Vec::new(); intervals.len()];
    for round in 0..rounds {
        for i in (0..intervals.len()).map(|i| (i + round) % intervals.len()) {
            let interval = intervals[i];
            step(&match interval {
                None => format!(
                    "round {}/{rounds}: word count without checkpoints",
                    round + 1
                ),
                Some(ms) => format!(
                    "round {}/{rounds}: word count with checkpoints every {ms} ms",
                    round + 1
                ),
            });
            let dir = config
                .scratch
                .join(format!("wordcount-{interval:?}-{round}"));
            let mut execution = Execution::default().workers(config.workers);
            if let Some(ms) = interval {
                execution = execution.checkpointing(Checkpointing::new(&dir, ms).retain(1000));
            }
            let source =
                LineSource::Generator(Generator::new(spec.clone()).in_memory(config.lines));
            let words = spec.words_per_line as f64 * config.lines as f64;
            let started = Instant::now();
            let table = WordCount::new(source, Mode::Native)
                .run(execution, &Progress::default())
                .map_err(|e| e.to_string())?;
            rates[i].push(words / started.elapsed().as_secs_f64());
            if table.len() < config.keys / 2 {
                return Err(format!("only {} distinct words", table.len()));
            }
            let epochs = CheckpointDir::open(&dir)
                .and_then(|d| d.epochs())
                .map_or(0, |e| e.len());
            commits[i].push(epochs as f64);
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    let baseline = rates[0].clone();
    Ok(intervals
        .into_iter()
        .zip(rates)
        .zip(commits)
        .map(|((interval_ms, rates), commits)| {
            let paired: Vec<f64> = rates.iter().zip(&baseline).map(|(r, b)| r / b).collect();
            ThroughputWithCheckpoints {
                interval_ms,
                words_per_sec: Spread::of(&rates),
                relative: Spread::of(&paired),
                checkpoints: Spread::of(&commits).median,
            }
        })
        .collect())
}

fn mb_per_sec(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64().max(1e-9)
}

/// A word count is aborted once its checkpoints hold the whole vocabulary; a new job then
/// restores the last one and goes on: the time from the abort to the new job's first output.
/// That takes in the aborted job's teardown, the checkpoint's reading and decoding, and the new
/// job's start — all of a crash's recovery but the process's own restart.
fn recovery_ms(
    config: &CheckpointBenchConfig,
    spec: &CorpusSpec,
    run: usize,
) -> Result<f64, String> {
    let dir = config.scratch.join(format!("recovery-{run}"));
    std::fs::remove_dir_all(&dir).ok();
    let job = |execution: Execution, first: Arc<Mutex<Option<Instant>>>| {
        let generator = Generator::new(spec.clone())
            .lines(config.lines * 10)
            .rate(config.lines as f64);
        execute(execution, move |worker| {
            let (generator, first) = (generator.clone(), first.clone());
            worker.dataflow(|scope| {
                scope
                    .generate(&generator)
                    .count_keys_with(|line: String, words| {
                        line.split_ascii_whitespace().for_each(|w| words.add(w, 1))
                    })
                    .for_each(move |_| {
                        first.lock().unwrap().get_or_insert_with(Instant::now);
                    });
            });
        })
        .map_err(|e| e.to_string())
    };
    let checkpointing = || Checkpointing::new(&dir, 100).program("recovery", "bench");
    // First run: 1.5 s of input, then an abort — a crash as far as the checkpoints go: nothing
    // more is committed, and the restart resumes from the last commit before it.
    let execution = Execution::default()
        .workers(config.workers)
        .checkpointing(checkpointing());
    let killer = execution.job().clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        killer.abort();
        Instant::now()
    });
    job(execution, Arc::new(Mutex::new(None)))?;
    let killed = timer.join().map_err(|_| "the abort timer panicked")?;
    // Second run: restore, then the first output.
    let execution = Execution::default()
        .workers(config.workers)
        .checkpointing(checkpointing());
    let stopper = execution.job().clone();
    let first = Arc::new(Mutex::new(None));
    let watcher = {
        let first = first.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while first.lock().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            stopper.stop();
        })
    };
    job(execution, first.clone())?;
    watcher.join().ok();
    std::fs::remove_dir_all(&dir).ok();
    let first = first
        .lock()
        .unwrap()
        .ok_or("the restored job emitted nothing")?;
    Ok((first - killed).as_secs_f64() * 1e3)
}
