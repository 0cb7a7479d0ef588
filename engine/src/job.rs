//! The job an operator runs in: the one handle through which it reaches everything job-wide.
//!
//! A long-running operator needs a few things beyond its inputs: to learn that the job should
//! stop (Ctrl-C) or was aborted, to report an error without panicking, to count malformed
//! records, to publish its event-time watermark, to report how much state it holds, to read the
//! clock and the batch tick, and to reach the checkpoint coordinator. All of them live in one
//! typed handle, the [`JobContext`], shared by every worker of a process.
//!
//! Why errors go through it: a panicking timely worker leaves the others waiting forever, so
//! operators record the error, release their capabilities and let the dataflow drain instead.
//!
//! [`execute`](crate::execution::execute) puts the context into timely's worker configuration;
//! an operator gets it back with [`JobContext::of`] (from its scope) and a program with
//! [`WorkerExt::job`] (from its worker). Outside `execute` both give a fresh context, so that
//! operators also run in a bare timely dataflow.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let job = JobContext::default();
//! let stopped = execute(Execution::default().context(job.clone()), |worker| {
//!     worker.job().stop();
//!     worker.job().is_stopped()
//! })
//! .unwrap();
//! assert_eq!(stopped, vec![true]);
//! assert!(job.is_stopped());
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use timely::worker::Worker;

use crate::checkpoint::Coordinator;
use crate::clock::Clock;
use crate::error::Error;
use crate::metrics::{Metrics, OperatorCounters, Snapshot};
use crate::rate::RateLimit;
use crate::stream::Scope;
use crate::time::Time;

/// The key under which the job context travels in timely's worker configuration.
const CONTEXT_KEY: &str = "sluice.job";
/// How many malformed records are described on stderr before only counting them.
const MALFORMED_REPORTED: u64 = 5;

/// What all workers of a process share: the stop flag, reported errors, malformed-record counts,
/// the watermark registry, the state gauge, the clock and tick sources read, and the checkpoint
/// coordinator — the one handle through which an operator reaches its job (see the
/// [module docs](self)).
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
    after_job: AfterJob,
    metrics: Metrics,
    rate_limit: RateLimit,
    /// Worker threads of this process, once executing.
    workers: AtomicU64,
    /// The checkpoint coordinator, once executing with checkpoints: for handles made before.
    coordinator: Mutex<Option<Arc<Coordinator>>>,
}

/// Work left for when the workers are done (see [`JobContext::after_job`]).
type Hook = Box<dyn FnOnce() -> Result<(), Error> + Send>;

/// The [`Hook`]s given so far.
#[derive(Default)]
struct AfterJob(Mutex<Vec<Hook>>);

impl std::fmt::Debug for AfterJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |hooks| hooks.len());
        write!(f, "AfterJob({n})")
    }
}

impl JobContext {
    /// The context of the job `scope` belongs to (a fresh one outside
    /// [`execute`](crate::execution::execute)).
    pub fn of(scope: Scope<'_>) -> JobContext {
        JobContext::in_config(scope.worker().config())
    }

    /// Puts this context into a worker configuration, where [`of`](Self::of) and
    /// [`WorkerExt::job`] find it.
    pub(crate) fn install(&self, config: &mut timely::WorkerConfig) {
        config.set(CONTEXT_KEY.to_string(), self.clone());
    }

    /// The context [`install`](Self::install)ed in `config`, or a fresh one.
    fn in_config(config: &timely::WorkerConfig) -> JobContext {
        config
            .get::<JobContext>(CONTEXT_KEY)
            .cloned()
            .unwrap_or_default()
    }

    /// Stamps records with `clock` (see [`Execution::clock`](crate::execution::Execution::clock)).
    pub(crate) fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Wakes idle sources at every multiple of `interval` ms (see
    /// [`Execution::tick`](crate::execution::Execution::tick)).
    pub(crate) fn set_tick(&mut self, interval: Time) {
        self.tick = Some(interval);
    }

    /// Gives the job's operators `coordinator` to checkpoint through.
    pub(crate) fn set_checkpoints(&mut self, coordinator: Arc<Coordinator>) {
        *self
            .inner
            .coordinator
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(coordinator.clone());
        self.checkpoints = Some(coordinator);
    }

    /// Asks the running job for a savepoint (see
    /// [`savepoint`](crate::checkpoint::savepoint)): of the newest checkpoint it committed
    /// (the next, before its first), or, with `stop`, of its last, as it stops gracefully
    /// (Flink's stop-with-savepoint). An error if it takes no checkpoints, or from a process
    /// other than 0.
    pub fn savepoint(&self, stop: bool) -> Result<(), Error> {
        let coordinator = self
            .inner
            .coordinator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let coordinator = coordinator.ok_or_else(|| {
            Error::Config(
                "the job takes no checkpoints, so no savepoint: give it a checkpoint directory"
                    .into(),
            )
        })?;
        coordinator.request_savepoint(stop)?;
        if stop {
            self.stop();
        }
        Ok(())
    }

    /// This process's metrics, for the layers that feed them (see
    /// [`metrics`](crate::metrics)).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Everything this process measured, as of now: the [`metrics`](Self::metrics) with the
    /// job-wide gauges (watermark, state entries, malformed records).
    pub fn snapshot(&self) -> Snapshot {
        let now = self.clock.now_ms();
        let mut snapshot = self.inner.metrics.snapshot(now);
        snapshot.processes = 1;
        snapshot.workers = self.inner.workers.load(Ordering::Relaxed) as usize;
        snapshot.watermark_ms = self.watermark();
        snapshot.event_time_lag_seconds = snapshot
            .watermark_ms
            .map(|w| now.saturating_sub(w) as f64 / 1e3);
        snapshot.state_entries = self.state_entries();
        snapshot.malformed_records = self.malformed_count();
        let watermarks = self
            .inner
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for operator in &mut snapshot.operators {
            if let Some(instances) = watermarks.get(&operator.address) {
                operator.watermark_ms = instances.values().min().copied();
            }
        }
        snapshot
    }

    /// The rate this process's sources may admit in micro-batches (unlimited unless rate
    /// control sets it; see [`rate`](crate::rate)).
    pub fn rate_limit(&self) -> &RateLimit {
        &self.inner.rate_limit
    }

    /// Runs on `workers` worker threads in this process.
    pub(crate) fn set_workers(&self, workers: usize) {
        self.inner.workers.store(workers as u64, Ordering::Relaxed);
    }

    /// The clock sources stamp records with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The job's checkpoint coordinator, if it checkpoints.
    pub fn checkpoints(&self) -> Option<Arc<Coordinator>> {
        self.checkpoints.clone()
    }

    /// The interval at whose multiples idle sources wake, if any (see
    /// [`Execution::tick`](crate::execution::Execution::tick)).
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

    /// Ends the job with an error found while its dataflow is built — a name given twice, a
    /// checkpoint that does not fit the program: aborted, so that it takes no checkpoint
    /// that would replace the one it could not restore.
    pub fn refuse(&self, error: Error) {
        self.inner.aborted.store(true, Ordering::SeqCst);
        self.fail(error);
    }

    /// Runs `work` once this process's workers have finished and its checkpoints are written —
    /// after a failure too. A sink that publishes only committed output publishes the rest
    /// there: the job's last checkpoint is committed only once every operator has ended.
    pub fn after_job(&self, work: impl FnOnce() -> Result<(), Error> + Send + 'static) {
        let mut hooks = self
            .inner
            .after_job
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        hooks.push(Box::new(work));
    }

    /// Runs the work given to [`after_job`](Self::after_job), in order; the first error.
    pub(crate) fn run_after_job(&self) -> Result<(), Error> {
        let hooks = std::mem::take(
            &mut *self
                .inner
                .after_job
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let mut first = Ok(());
        for hook in hooks {
            let result = hook();
            if first.is_ok() {
                first = result;
            }
        }
        first
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

    /// A gauge through which one instance of the operator at `address` reports its share of
    /// [`state_entries`](Self::state_entries) (and of the operator's, in the metrics).
    pub(crate) fn state_gauge(&self, address: &[usize]) -> StateGauge {
        StateGauge {
            job: self.clone(),
            operator: self.inner.metrics.operator(address),
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
    operator: Arc<OperatorCounters>,
    reported: u64,
}

impl StateGauge {
    /// Reports that the operator now holds `entries` entries.
    pub(crate) fn set(&mut self, entries: usize) {
        let entries = entries as u64;
        for total in [&self.job.inner.state_entries, &self.operator.state_entries] {
            if entries > self.reported {
                total.fetch_add(entries - self.reported, Ordering::Relaxed);
            } else {
                total.fetch_sub(self.reported - entries, Ordering::Relaxed);
            }
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
        JobContext::in_config(self.config())
    }
}
