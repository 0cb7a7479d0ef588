//! The cost of a micro-batch: CPU time per batch beyond native mode, on the same paced input.
//!
//! Both modes count the words of the same corpus lines arriving at a fixed, low rate for a few
//! seconds, so the work on records is the same and small; what micro-batch mode adds is the
//! per-batch machinery — a tick per worker, every per-batch operator running once per batch,
//! the frontier passing each batch time. The difference in process CPU time (user + system,
//! all threads), divided by the number of batches, is the per-batch overhead.

use std::time::Instant;

use serde::Serialize;
use sluice_engine::sources::corpus::CorpusSpec;
use sluice_engine::sources::Generator;
use sluice_engine::{Execution, Result};

use sluice_engine::sources::LineSource;
use sluice_jobs::wordcount::{Progress, WordCount};
use sluice_jobs::Mode;

/// Lines per second fed to both modes.
const RATE: f64 = 1000.0;

/// What was measured.
#[derive(Clone, Debug, Serialize)]
pub struct BatchOverhead {
    /// Worker threads.
    pub workers: usize,
    /// Batch interval in ms.
    pub batch_ms: u64,
    /// Seconds of paced input per mode.
    pub seconds: f64,
    /// Batches the micro-batch run went through.
    pub batches: u64,
    /// Process CPU seconds of the native run.
    pub native_cpu_s: f64,
    /// Process CPU seconds of the micro-batch run.
    pub minibatch_cpu_s: f64,
    /// (micro-batch − native) CPU per batch, in ms.
    pub per_batch_ms: f64,
}

/// This process's CPU time so far (user + system, all threads), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0);
    ticks / 100.0 // USER_HZ, 100 on Linux
}

/// Measures the per-batch overhead of `batch_ms` batches on `workers` workers over `seconds`
/// of input at a fixed rate.
pub fn measure(
    workers: usize,
    batch_ms: u64,
    seconds: f64,
    corpus: &CorpusSpec,
) -> Result<BatchOverhead> {
    let lines = (RATE * seconds) as u64;
    let source = LineSource::Generator(Generator::new(corpus.clone()).lines(lines).rate(RATE));
    let timed = |minibatch: bool| -> Result<(f64, f64)> {
        let (cpu, wall) = (cpu_seconds(), Instant::now());
        let execution = Execution::default().workers(workers);
        let mode = match minibatch {
            true => Mode::MicroBatch {
                interval_ms: batch_ms,
            },
            false => Mode::Native,
        };
        WordCount::new(source.clone(), mode)
            .run(execution, &Progress::default())
            .map_err(|e| sluice_engine::Error::Operator(e.to_string()))?;
        Ok((cpu_seconds() - cpu, wall.elapsed().as_secs_f64()))
    };
    let (native_cpu_s, _) = timed(false)?;
    let (minibatch_cpu_s, wall) = timed(true)?;
    let batches = ((wall * 1000.0) / batch_ms as f64).round().max(1.0) as u64;
    Ok(BatchOverhead {
        workers,
        batch_ms,
        seconds,
        batches,
        native_cpu_s,
        minibatch_cpu_s,
        per_batch_ms: (minibatch_cpu_s - native_cpu_s) * 1000.0 / batches as f64,
    })
}
