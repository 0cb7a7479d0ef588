//! What savepoints and rescaling cost: the time to keep a checkpoint of a large keyed state as
//! a savepoint, and to restore that state into the same or another number of workers.
//!
//! The state is word count's — `keys` words with a count — in a committed checkpoint of one
//! operator, its keys divided among the old workers by key group as a running job divides
//! them. A restore is what a restarted job's workers do, each on its own thread: open the
//! checkpoint (checking every part's frame), read the parts whose key groups overlap its own,
//! keep its keys, and build its hash map.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sluice_engine::checkpoint::{CheckpointDir, Checkpointing, Coordinator, Metadata};
use sluice_engine::clock::Clock;
use sluice_engine::hash::{groups_of, worker_of};
use sluice_engine::keyed_state::KeyedState;
use sluice_engine::metrics::Metrics;

use crate::stats::Spread;

/// The epoch of the checkpoints written.
const EPOCH: u64 = 1000;

/// What to measure.
#[derive(Clone, Debug, Serialize)]
pub struct RescaleBenchConfig {
    /// The state sizes, in keys.
    pub keys: Vec<usize>,
    /// Runs per figure.
    pub runs: usize,
    /// Where checkpoints and savepoints are written.
    pub scratch: PathBuf,
}

/// The figures for one state size.
#[derive(Clone, Debug, Serialize)]
pub struct RescaleFigures {
    /// Keys in the state.
    pub keys: usize,
    /// Bytes of the checkpoint's parts (two workers').
    pub checkpoint_bytes: u64,
    /// Keeping that checkpoint as a savepoint (check, copy, fsync, rename), ms.
    pub savepoint_ms: Spread,
    /// Restoring it, ms, per change of workers ("2 → 1" etc.).
    pub restore_ms: Vec<(String, Spread)>,
}

/// Measures every size; `step(what)` is called before each.
pub fn measure(
    config: &RescaleBenchConfig,
    mut step: impl FnMut(&str),
) -> Result<Vec<RescaleFigures>, String> {
    let mut figures = Vec::new();
    for &keys in &config.keys {
        step(&format!("{keys} keys: checkpoints of 1 and 2 workers"));
        let state: Vec<(String, u64)> = (0..keys).map(|i| (format!("w{i}"), i as u64)).collect();
        let dir = |workers: usize| {
            config
                .scratch
                .join(format!("{keys}-keys-{workers}-workers"))
        };
        let mut checkpoint_bytes = 0;
        for workers in [1, 2] {
            checkpoint_bytes = checkpoint(&dir(workers), workers, &state)?;
        }
        step(&format!("{keys} keys: savepoints"));
        let mut savepoint = Vec::new();
        for _ in 0..config.runs.max(1) {
            let store = CheckpointDir::open(dir(2)).map_err(|e| e.to_string())?;
            std::fs::remove_dir_all(store.savepoints()).ok();
            let started = Instant::now();
            store.save_point(EPOCH).map_err(|e| e.to_string())?;
            savepoint.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let mut restore_ms = Vec::new();
        for (then, now) in [(1, 1), (2, 2), (1, 2), (2, 1)] {
            step(&format!("{keys} keys: restore {then} → {now} workers"));
            let mut took = Vec::new();
            for _ in 0..config.runs.max(1) {
                took.push(restore(&dir(then), now, keys)?);
            }
            restore_ms.push((format!("{then} → {now}"), Spread::of(&took)));
        }
        for workers in [1, 2] {
            std::fs::remove_dir_all(dir(workers)).ok();
        }
        figures.push(RescaleFigures {
            keys,
            checkpoint_bytes,
            savepoint_ms: Spread::of(&savepoint),
            restore_ms,
        });
    }
    Ok(figures)
}

/// Writes a committed checkpoint of `state` over `workers`; the bytes of its parts.
fn checkpoint(dir: &Path, workers: usize, state: &[(String, u64)]) -> Result<u64, String> {
    std::fs::remove_dir_all(dir).ok();
    let store = CheckpointDir::open(dir).map_err(|e| e.to_string())?;
    let mut bytes = 0;
    for worker in 0..workers {
        let part: Vec<&(String, u64)> = state
            .iter()
            .filter(|(word, _)| worker_of(word.as_str(), workers) == worker as u64)
            .collect();
        bytes += store
            .write_part(EPOCH, &format!("counts-w{worker}"), &part)
            .map_err(|e| e.to_string())?;
    }
    let mut metadata = Metadata::new("rescale-bench", "", EPOCH);
    metadata.operators = vec!["counts".into()];
    metadata.workers = workers;
    store.commit(metadata).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Restores the checkpoint in `dir` into `now` workers, one thread each; ms until all have
/// their state.
fn restore(dir: &Path, now: usize, keys: usize) -> Result<f64, String> {
    let started = Instant::now();
    let coordinator = Coordinator::open(
        Checkpointing::new(dir, 100).program("rescale-bench", ""),
        (now, 1, 0),
        Metrics::default(),
        Clock::default(),
    )
    .map_err(|e| e.to_string())?;
    let restored: Result<Vec<usize>, String> = std::thread::scope(|threads| {
        let coordinator = &coordinator;
        let handles: Vec<_> = (0..now)
            .map(|worker| {
                threads.spawn(move || {
                    let image: Vec<(String, u64)> = coordinator
                        .restore_keyed(&format!("counts-w{worker}"), groups_of(worker, now))
                        .map_err(|e| e.to_string())?
                        .ok_or("the checkpoint has no counts")?;
                    let mut state = KeyedState::new();
                    state.restore(image);
                    Ok::<usize, String>(state.len())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a restoring thread panicked".to_string())?
            })
            .collect()
    });
    let took = started.elapsed().as_secs_f64() * 1e3;
    coordinator.flush(true).map_err(|e| e.to_string())?;
    let restored: usize = restored?.iter().sum();
    if restored != keys {
        return Err(format!("restored {restored} keys of {keys}"));
    }
    Ok(took)
}
