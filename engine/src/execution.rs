//! Running a job: how many workers and processes, and the context they share.
//!
//! A Sluice job is timely's execution model unchanged: `workers` threads per process, `processes`
//! processes connected over TCP (addresses from a hostfile, one `host:port` per line), this
//! process being number `process`. [`execute`] runs the same per-worker closure on every worker of
//! this process and returns their results, or the first error any operator reported.
//!
//! The [`JobContext`] is how long-running operators learn that the job should stop (Ctrl-C) and
//! how they report an error without panicking: a panicking timely worker leaves the others
//! waiting forever, so operators record the error, release their capabilities and let the
//! dataflow drain instead.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let per_worker = execute(Execution::default().workers(2), |worker| worker.index()).unwrap();
//! assert_eq!(per_worker, vec![0, 1]);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::checkpoint::{Checkpointing, Coordinator};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::stream::Scope;
use crate::time::Time;

/// Timely's worker, re-exported so programs need no timely import.
pub use timely::worker::Worker;

/// The key under which the job context travels in timely's worker configuration.
const CONTEXT_KEY: &str = "sluice.job";
/// How many malformed records are described on stderr before only counting them.
const MALFORMED_REPORTED: u64 = 5;

/// Where and how widely a job runs. Build it with the methods; the default is one worker.
#[derive(Clone, Debug)]
pub struct Execution {
    checkpointing: Option<Checkpointing>,
    workers: usize,
    processes: usize,
    process: usize,
    hostfile: Option<PathBuf>,
    context: JobContext,
}

impl Default for Execution {
    fn default() -> Self {
        Execution {
            checkpointing: None,
            workers: 1,
            processes: 1,
            process: 0,
            hostfile: None,
            context: JobContext::default(),
        }
    }
}

impl Execution {
    /// Checkpoints the job's state, and resumes from the newest checkpoint if there is one
    /// (see [`checkpoint`](crate::checkpoint)).
    pub fn checkpointing(mut self, checkpointing: Checkpointing) -> Self {
        self.checkpointing = Some(checkpointing);
        self
    }

    /// Worker threads in this process.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }
    /// Processes in the job (each with the same number of workers).
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = processes;
        self
    }
    /// This process's index, `0..processes`.
    pub fn process(mut self, process: usize) -> Self {
        self.process = process;
        self
    }
    /// A file with one `host:port` per line, one line per process. Without it, process `i`
    /// listens on `localhost:2101+i`, as in timely.
    pub fn hostfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.hostfile = Some(path.into());
        self
    }
    /// Stamps records with `clock` instead of the wall clock (a [`ManualClock`] in tests).
    ///
    /// [`ManualClock`]: crate::clock::ManualClock
    pub fn clock(mut self, clock: Clock) -> Self {
        self.context.clock = clock;
        self
    }
    /// Wakes idle sources at every multiple of `interval` ms, so that frontiers pass each
    /// boundary promptly (micro-batch mode sets its batch interval here).
    pub fn tick(mut self, interval: Time) -> Self {
        self.context.tick = Some(interval.max(1));
        self
    }
    /// Uses `context` (e.g. one whose shutdown a Ctrl-C handler triggers).
    pub fn context(mut self, context: JobContext) -> Self {
        self.context = context;
        self
    }
    /// The job context the workers will share.
    pub fn job(&self) -> &JobContext {
        &self.context
    }
    /// Worker threads in this process.
    pub fn local_workers(&self) -> usize {
        self.workers
    }
    /// Total workers across all processes.
    pub fn total_workers(&self) -> usize {
        self.workers * self.processes
    }
    /// Whether this process is the one that writes job-wide outputs (process 0).
    pub fn is_leader(&self) -> bool {
        self.process == 0
    }

    /// Checks the numbers and reads the hostfile, naming the flag or file at fault.
    fn timely_config(&self) -> Result<timely::Config> {
        if self.workers == 0 {
            return Err(Error::Config("--workers must be at least 1".into()));
        }
        if self.processes == 0 {
            return Err(Error::Config("--processes must be at least 1".into()));
        }
        if self.process >= self.processes {
            return Err(Error::Config(format!(
                "--process {} is out of range for --processes {} (valid: 0..{})",
                self.process, self.processes, self.processes
            )));
        }
        let communication = if self.processes > 1 {
            let addresses = match &self.hostfile {
                Some(path) => read_hostfile(path, self.processes)?,
                None => (0..self.processes)
                    .map(|i| format!("localhost:{}", 2101 + i))
                    .collect(),
            };
            timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process,
                addresses,
                report: false,
                zerocopy: false,
            }
        } else if self.workers > 1 {
            timely::CommunicationConfig::Process(self.workers)
        } else {
            timely::CommunicationConfig::Thread
        };
        let mut worker = timely::WorkerConfig::default().idle_spin(std::time::Duration::ZERO);
        worker.set(CONTEXT_KEY.to_string(), self.context.clone());
        Ok(timely::Config {
            communication,
            worker,
        })
    }
}

/// Reads `processes` addresses from a hostfile, naming the file and line of any problem.
fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>> {
    let bad = |reason: String| Error::Hostfile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let addresses: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if addresses.len() < processes {
        return Err(bad(format!(
            "it lists {} address(es) but --processes is {processes}",
            addresses.len()
        )));
    }
    for (i, a) in addresses.iter().enumerate().take(processes) {
        if !a.contains(':') {
            return Err(bad(format!("address {}: '{a}' is not host:port", i + 1)));
        }
    }
    Ok(addresses.into_iter().take(processes).collect())
}

/// Runs `work` on every worker of this process and returns each worker's result, in worker order.
///
/// Returns the first error an operator reported through the [`JobContext`], if any.
pub fn execute<T, F>(execution: Execution, work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    let mut execution = execution;
    if let Some(checkpointing) = execution.checkpointing.take() {
        let coordinator = Coordinator::open(
            checkpointing,
            execution.workers,
            execution.processes,
            execution.process,
        )?;
        if let Some(epoch) = coordinator.restored_epoch() {
            eprintln!("sluice: resuming from the checkpoint of epoch {epoch}");
        }
        execution.context.checkpoints = Some(Arc::new(coordinator));
    }
    let config = execution.timely_config()?;
    let context = execution.context.clone();
    let coordinator = context.checkpoints();
    let guards = timely::execute(config, move |worker| {
        let Some(coordinator) = coordinator.clone() else {
            return work(worker);
        };
        record_graph(worker, coordinator.clone());
        let result = work(worker);
        // Deliver the channels logged while building, before any operator runs.
        if let Some(mut registry) = worker.log_register() {
            registry.flush();
            registry.remove("timely");
        }
        result
    })
    .map_err(Error::Startup)?;
    let results: Result<Vec<T>> = guards
        .join()
        .into_iter()
        .map(|result| result.map_err(Error::Worker))
        .collect();
    // Also after a failure: the checkpoint writer must be done before this returns (a job
    // restarted in the same process would otherwise race with it).
    let flushed = context.checkpoints().map_or(Ok(()), |c| c.flush());
    let results = results?;
    flushed?;
    match context.take_error() {
        Some(error) => Err(error),
        None => Ok(results),
    }
}

/// Records the channels of the dataflows `worker` builds into the checkpoint coordinator's
/// graph, from which it knows which operators are in event time (see
/// [`checkpoint::domain`](crate::checkpoint::domain)).
fn record_graph(worker: &mut Worker, coordinator: Arc<Coordinator>) {
    use timely::logging::{TimelyEvent, TimelyEventBuilder};
    let Some(mut registry) = worker.log_register() else {
        return;
    };
    registry.insert::<TimelyEventBuilder, _>("timely", move |_, events| {
        let Some(events) = events else { return };
        for (_, event) in events.iter() {
            if let TimelyEvent::Channels(channel) = event {
                coordinator.operators().graph.add_channel(
                    &channel.scope_addr,
                    channel.source.0,
                    channel.target.0,
                );
            }
        }
    });
}

/// What all workers of a process share: the stop flag, reported errors, malformed-record counts,
/// and the clock sources read.
///
/// Cheap to clone (it is a handle).
#[derive(Clone, Debug, Default)]
pub struct JobContext {
    inner: Arc<Shared>,
    clock: Clock,
    tick: Option<Time>,
    checkpoints: Option<Arc<Coordinator>>,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    aborted: AtomicBool,
    errors: Mutex<Vec<Error>>,
    malformed: AtomicU64,
    /// Each event-time operator's watermark on each local worker, by operator address.
    watermarks: Mutex<BTreeMap<Vec<usize>, BTreeMap<usize, Time>>>,
    /// Entries held by the stateful operators of this process (see [`StateGauge`]).
    state_entries: AtomicU64,
}

impl JobContext {
    /// The context of the job `scope` belongs to (a fresh one outside [`execute`]).
    pub fn of(scope: Scope<'_>) -> JobContext {
        scope
            .worker()
            .config()
            .get::<JobContext>(CONTEXT_KEY)
            .cloned()
            .unwrap_or_default()
    }

    /// The clock sources stamp records with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The job's checkpoint coordinator, if it checkpoints.
    pub fn checkpoints(&self) -> Option<Arc<Coordinator>> {
        self.checkpoints.clone()
    }

    /// The interval at whose multiples idle sources wake, if any (see [`Execution::tick`]).
    pub fn tick(&self) -> Option<Time> {
        self.tick
    }

    /// Asks every source to finish: they emit what they have and release their capabilities.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the job without finishing work in progress: sources stop as with
    /// [`stop`](Self::stop), and outputs that check [`is_aborted`](Self::is_aborted) drop what
    /// they have not written yet (Spark's non-graceful stop, Flink's cancel).
    pub fn abort(&self) {
        self.inner.aborted.store(true, Ordering::SeqCst);
        self.stop();
    }

    /// Whether [`abort`](Self::abort) was called.
    pub fn is_aborted(&self) -> bool {
        self.inner.aborted.load(Ordering::Relaxed)
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// Records an error the job should end with, and stops the job.
    pub fn fail(&self, error: Error) {
        self.inner
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(error);
        self.stop();
    }

    /// Takes the first reported error, if any.
    pub fn take_error(&self) -> Option<Error> {
        let mut errors = self.inner.errors.lock().unwrap_or_else(|e| e.into_inner());
        (!errors.is_empty()).then(|| errors.remove(0))
    }

    /// Counts a malformed record; the first few are described on stderr.
    pub fn malformed(&self, description: impl FnOnce() -> String) {
        let n = self.inner.malformed.fetch_add(1, Ordering::Relaxed);
        if n < MALFORMED_REPORTED {
            eprintln!("sluice: malformed record skipped: {}", description());
        }
    }

    /// How many malformed records this process has skipped.
    pub fn malformed_count(&self) -> u64 {
        self.inner.malformed.load(Ordering::Relaxed)
    }

    /// The process's current event-time watermark: the lowest over every event-time operator
    /// on every local worker whose input is still open (`None` if there is none) — the metric
    /// to watch when windows do not fire.
    pub fn watermark(&self) -> Option<Time> {
        let watermarks = self
            .inner
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        watermarks.values().flat_map(|w| w.values()).min().copied()
    }

    /// How many entries — a window's aggregate for one key, a buffered record, an open session
    /// — the windowing and join operators of this process hold right now. A gauge to watch state
    /// stay bounded on an endless stream: it should rise and fall with the open windows, never
    /// grow with the input.
    pub fn state_entries(&self) -> u64 {
        self.inner.state_entries.load(Ordering::Relaxed)
    }

    /// A gauge through which one operator instance reports its share of
    /// [`state_entries`](Self::state_entries).
    pub(crate) fn state_gauge(&self) -> StateGauge {
        StateGauge {
            job: self.clone(),
            reported: 0,
        }
    }

    /// Records the watermark of the event-time operator at `operator` on `worker` (`None` when
    /// its input has ended), and returns the highest watermark any local worker's instance of
    /// that operator has reached.
    pub(crate) fn publish_watermark(
        &self,
        operator: &[usize],
        worker: usize,
        watermark: Option<Time>,
    ) -> Option<Time> {
        let mut all = self
            .inner
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mine = all.entry(operator.to_vec()).or_default();
        match watermark {
            Some(w) => mine.insert(worker, w),
            None => mine.remove(&worker),
        };
        mine.values().max().copied()
    }
}

/// One operator instance's share of [`JobContext::state_entries`]; withdrawn when dropped.
pub(crate) struct StateGauge {
    job: JobContext,
    reported: u64,
}

impl StateGauge {
    /// Reports that the operator now holds `entries` entries.
    pub(crate) fn set(&mut self, entries: usize) {
        let entries = entries as u64;
        let total = &self.job.inner.state_entries;
        if entries > self.reported {
            total.fetch_add(entries - self.reported, Ordering::Relaxed);
        } else {
            total.fetch_sub(self.reported - entries, Ordering::Relaxed);
        }
        self.reported = entries;
    }
}

impl Drop for StateGauge {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// Sluice's additions to a timely worker.
pub trait WorkerExt {
    /// The job context this worker runs in.
    fn job(&self) -> JobContext;
}

impl WorkerExt for Worker {
    fn job(&self) -> JobContext {
        self.config()
            .get::<JobContext>(CONTEXT_KEY)
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_process_index() {
        let err = Execution::default()
            .processes(2)
            .process(2)
            .timely_config()
            .unwrap_err();
        assert!(err.to_string().contains("--process 2"), "{err}");
    }

    #[test]
    fn hostfile_must_list_every_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "127.0.0.1:2101\n").unwrap();
        let err = read_hostfile(&path, 2).unwrap_err();
        assert!(err.to_string().contains("lists 1 address"), "{err}");
        std::fs::write(&path, "127.0.0.1:2101\n\n# comment\nlocalhost\n").unwrap();
        let err = read_hostfile(&path, 2).unwrap_err();
        assert!(err.to_string().contains("address 2: 'localhost'"), "{err}");
    }

    #[test]
    fn reported_errors_end_the_job() {
        let result = execute(Execution::default().workers(2), |worker| {
            if worker.index() == 1 {
                worker.job().fail(Error::Config("boom".into()));
            }
        });
        assert!(matches!(result, Err(Error::Config(m)) if m == "boom"));
    }
}
