//! Word-count throughput: how many words per second per worker the native engine counts at full
//! speed, beside a hand-written single-thread loop over the same lines, measured in the same run.
//!
//! The engine runs natively and, on the file source, in micro-batches at each configured
//! interval (the same counting per batch, summed), so the two modes are compared on the same
//! input in the same run.
//!
//! The engine's figure is end to end: from building the dataflow to the final table on worker 0,
//! with the source, the pre-aggregation, the exchange, the keyed state and the running updates
//! all included. The hand loop is the ceiling: one thread, a fast hash map keyed by borrowed
//! words, no allocation per word, no output. Every run checks that the final table holds exactly
//! the number of words fed in.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sluice_engine::hash::new_map;
use sluice_engine::sources::corpus::CorpusSpec;
use sluice_engine::sources::{Generator, TextFile};
use sluice_engine::{Execution, Result};

use crate::machine::{peak_memory_bytes, reset_peak_memory};
use crate::stats::Spread;
use sluice_engine::sources::LineSource;
use sluice_jobs::wordcount::{Progress, WordCount};
use sluice_jobs::Mode;

/// What to measure.
#[derive(Clone, Debug)]
pub struct ThroughputConfig {
    /// Lines of the shared corpus per run.
    pub lines: u64,
    /// Measured runs per configuration (after one warm-up run).
    pub runs: usize,
    /// Worker counts to measure.
    pub workers: Vec<usize>,
    /// Modes to measure: native runs on memory and on the file, micro-batch on the file.
    pub modes: Vec<Mode>,
    /// The corpus.
    pub corpus: CorpusSpec,
    /// Where to write the corpus file for the file-source runs.
    pub scratch: PathBuf,
}

/// One configuration's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// "engine" or "hand loop".
    pub system: String,
    /// The engine's mode (none for the hand loop).
    pub mode: Option<Mode>,
    /// "memory" or "file".
    pub source: String,
    /// Timely workers (1 for the hand loop).
    pub workers: usize,
    /// Words fed in per run.
    pub words_in: u64,
    /// Words the final table counted: equal to `words_in`, or something was lost.
    pub words_out: u64,
    /// Seconds per measured run.
    pub seconds: Vec<f64>,
    /// Words per second: min, median, max over the runs.
    pub words_per_sec: Spread,
    /// Median words per second divided by the worker count.
    pub words_per_sec_per_worker: f64,
    /// Median throughput as a fraction of the hand loop's.
    pub of_hand_loop: f64,
    /// Peak resident memory of the process during these runs, in MiB.
    pub peak_memory_mib: Option<f64>,
}

impl ThroughputConfig {
    /// How many timed runs (warm-ups included) [`measure`] makes: the hand loop, then per
    /// worker count native on memory and file, and each micro-batch interval on file.
    pub fn total_runs(&self) -> usize {
        let per_workers: usize = self.modes.iter().map(|m| Self::sources(*m).len()).sum();
        (1 + per_workers * self.workers.len()) * (self.runs.max(1) + 1)
    }
    /// The sources `mode` is measured on.
    fn sources(mode: Mode) -> &'static [&'static str] {
        match mode {
            Mode::Native => &["memory", "file"],
            Mode::MicroBatch { .. } => &["file"], // one source suffices to compare the modes
        }
    }
}

/// The hand-written reference: counts the words of `lines` on one thread; returns the word
/// total and the number of distinct words.
pub fn hand_loop(lines: &[String]) -> (u64, usize) {
    let mut counts = new_map::<&str, u64>();
    let mut words = 0;
    for line in lines {
        for word in line.split_ascii_whitespace() {
            *counts.entry(word).or_default() += 1;
            words += 1;
        }
    }
    (words, counts.len())
}

/// Runs every configuration, calling `progress` with a status line before each run.
pub fn measure(
    config: &ThroughputConfig,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Measurement>> {
    let generator = Generator::new(config.corpus.clone()).in_memory(config.lines);
    let lines = generator.lines_in_memory().unwrap_or_default();
    let words_in = (config.lines * config.corpus.words_per_line as u64) as f64;

    // The ceiling, on the same lines.
    let mut results = Vec::new();
    let hand = repeat(config.runs, |run| {
        progress(&format!("hand loop, run {run}"));
        let start = Instant::now();
        let (words, _) = hand_loop(std::hint::black_box(lines));
        Ok((words, start.elapsed().as_secs_f64()))
    })?;
    let hand_median = Spread::of(&rates(words_in, &hand.1)).median;
    results.push(measurement(
        None,
        "memory",
        1,
        words_in as u64,
        hand,
        hand_median,
    ));

    let path = config.scratch.join("corpus.txt");
    write_corpus(&path, lines)?;
    let file = TextFile::open(&path)?;
    let sources = [
        ("memory", LineSource::Generator(generator)),
        ("file", LineSource::File(file)),
    ];
    for (name, source) in sources {
        for &workers in &config.workers {
            for &mode in &config.modes {
                if !ThroughputConfig::sources(mode).contains(&name) {
                    continue;
                }
                reset_peak_memory();
                let runs = repeat(config.runs, |run| {
                    progress(&format!(
                        "max throughput: {mode}, {name}, {workers} worker(s), run {run}"
                    ));
                    let start = Instant::now();
                    let table = run_wordcount(mode, workers, source.clone())?;
                    let seconds = start.elapsed().as_secs_f64();
                    Ok((table.iter().map(|(_, c)| c).sum(), seconds))
                })?;
                results.push(measurement(
                    Some(mode),
                    name,
                    workers,
                    words_in as u64,
                    runs,
                    hand_median,
                ));
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(results)
}

/// Word count's final table over `source` on `workers` workers in `mode`.
fn run_wordcount(mode: Mode, workers: usize, source: LineSource) -> Result<Vec<(String, u64)>> {
    let execution = Execution::default().workers(workers);
    WordCount::new(source, mode)
        .run(execution, &Progress::default())
        .map_err(|e| sluice_engine::Error::Operator(e.to_string()))
}

/// One warm-up run, then `runs` measured ones: (words counted by the last run, seconds per run).
fn repeat(
    runs: usize,
    mut run: impl FnMut(String) -> Result<(u64, f64)>,
) -> Result<(u64, Vec<f64>)> {
    run("warm-up".into())?;
    let mut seconds = Vec::new();
    let mut words = 0;
    for i in 1..=runs.max(1) {
        let (w, s) = run(format!("{i}/{}", runs.max(1)))?;
        words = w;
        seconds.push(s);
    }
    Ok((words, seconds))
}

fn rates(words: f64, seconds: &[f64]) -> Vec<f64> {
    seconds.iter().map(|s| words / s).collect()
}

fn measurement(
    mode: Option<Mode>,
    source: &str,
    workers: usize,
    words_in: u64,
    (words_out, seconds): (u64, Vec<f64>),
    hand_median: f64,
) -> Measurement {
    let spread = Spread::of(&rates(words_in as f64, &seconds));
    Measurement {
        system: mode.map_or("hand loop", |_| "engine").into(),
        mode,
        source: source.into(),
        workers,
        words_in,
        words_out,
        seconds,
        words_per_sec: spread,
        words_per_sec_per_worker: spread.median / workers as f64,
        of_hand_loop: spread.median / hand_median,
        peak_memory_mib: peak_memory_bytes().map(|b| b as f64 / (1 << 20) as f64),
    }
}

fn write_corpus(path: &std::path::Path, lines: &[String]) -> Result<()> {
    use std::io::Write;
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    write().map_err(|source| sluice_engine::Error::Write {
        path: path.to_path_buf(),
        source,
    })
}
