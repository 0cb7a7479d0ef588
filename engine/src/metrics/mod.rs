//! What a running job is doing, cheap enough to leave on: the instrument panel behind `/metrics`
//! and the web UI.
//!
//! A process keeps one [`Metrics`] (in its [`JobContext`](crate::job::JobContext)); its parts
//! are fed by the layers that know them, and read by anyone as a [`Snapshot`]:
//!
//! - **operators and channels**: every timely operator's records in and out, its busy time, the
//!   records queued at its inputs and the time it spent back-pressured — all read from timely's
//!   own event log ([`operators`]), so no operator is written to be measured;
//! - **sources**: records admitted, and the time a source held back because the dataflow was
//!   congested or its rate was capped ([`SourceCounters`]);
//! - **batches** (micro-batch mode): each batch's input records, scheduling delay, processing
//!   time and total delay, with Spark's definitions ([`batches`]);
//! - **checkpoints**: each committed checkpoint's duration and size, and the age of the last
//!   ([`checkpoints`]).
//!
//! Counters only grow and gauges are read as they are, so a reader computes rates from two
//! snapshots (Prometheus does: `rate(sluice_operator_busy_seconds_total[1m])` is Flink's
//! `busyTimeMsPerSecond` / 1000 summed over the operator's instances). Time counters are summed
//! over the process's workers: divide by [`Snapshot::workers`] for one instance's share.
//!
//! Back pressure needs a definition in timely, whose channels never block: an operator is
//! *back-pressured* while one of its output channels holds more than [`QUEUE_BOUND`] records
//! its consumer has not taken yet, as a Flink task is while its output buffers are full. The
//! same bound is what native sources wait on (see
//! [`driver`](crate::sources::driver)), so a slow operator shows as busy, the operators feeding
//! it as back-pressured, and the sources as held back — and memory stays flat.
//!
//! ```
//! use sluice_engine::prelude::*;
//!
//! let job = JobContext::default();
//! let counts = Collector::new();
//! let sink = counts.clone();
//! execute(Execution::default().context(job.clone()), move |worker| {
//!     worker.dataflow(|scope| {
//!         scope.iterator_source(0..1000u64).map(|x| x * 2).collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let snapshot = job.snapshot();
//! let map = snapshot.operators.iter().find(|o| o.name == "Map").unwrap();
//! assert_eq!((map.records_in, map.records_out), (1000, 1000));
//! ```

pub mod batches;
pub mod checkpoints;
pub mod operators;
pub mod prometheus;
mod snapshot;

pub use batches::{BatchInfo, Batches};
pub use checkpoints::{CheckpointStats, Checkpoints};
pub use snapshot::{ChannelSnapshot, LatencySummary, OperatorSnapshot, Snapshot, SourceSnapshot};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Records a channel may hold, not yet taken by its consumer, before its producer counts as
/// back-pressured and native sources wait (see the [module docs](self)). Large enough that a
/// burst passes, small enough that a few of them fit in memory many times over.
pub const QUEUE_BOUND: i64 = 1 << 18;

/// One process's metrics; see the [module docs](self). Cheap to clone (a handle).
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            inner: Arc::new(Registry {
                started: Instant::now(),
                operators: Mutex::default(),
                channels: Mutex::default(),
                sources: Mutex::default(),
                batches: Mutex::default(),
                checkpoints: Mutex::default(),
                latencies: Mutex::default(),
                congested: AtomicBool::new(false),
            }),
        }
    }
}

#[derive(Debug)]
struct Registry {
    started: Instant,
    /// By address, shared by the operator's instances on every local worker.
    operators: Mutex<BTreeMap<Vec<usize>, Arc<OperatorCounters>>>,
    /// By channel identifier (the same on every worker: dataflows are built alike).
    channels: Mutex<BTreeMap<usize, Arc<ChannelCounters>>>,
    sources: Mutex<BTreeMap<String, Arc<SourceCounters>>>,
    batches: Mutex<Batches>,
    checkpoints: Mutex<Checkpoints>,
    /// The latency distributions the job records, read when a snapshot is taken.
    latencies: Mutex<Vec<LatencyReader>>,
    /// Whether some channel holds more than [`QUEUE_BOUND`] records, as of the last look.
    congested: AtomicBool,
}

/// Reads a latency distribution the job records (see [`Metrics::record_latency`]).
struct LatencyReader(Box<dyn Fn() -> LatencySummary + Send + Sync>);

impl std::fmt::Debug for LatencyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LatencyReader")
    }
}

/// One operator's counters, summed over its instances on this process's workers.
#[derive(Debug, Default)]
pub struct OperatorCounters {
    /// Its name, as given to timely.
    pub name: Mutex<String>,
    /// Records taken from its inputs.
    pub records_in: AtomicU64,
    /// Records given to its outputs (once per output, however many consumers).
    pub records_out: AtomicU64,
    /// Nanoseconds spent scheduled (running).
    pub busy_nanos: AtomicU64,
    /// Nanoseconds during which an output channel held more than [`QUEUE_BOUND`] records.
    pub backpressured_nanos: AtomicU64,
    /// Entries of state it holds (windows, buffered records, sessions), summed over instances.
    pub state_entries: AtomicU64,
}

/// One channel's counters.
#[derive(Debug)]
pub struct ChannelCounters {
    /// The operator that produces into it (address).
    pub source: Vec<usize>,
    /// The operator that consumes from it (address).
    pub target: Vec<usize>,
    /// Records sent into it.
    pub records: AtomicU64,
    /// Records sent but not yet received, between this process's workers.
    pub queued: AtomicI64,
}

/// One source's counters, summed over its readers on this process's workers.
#[derive(Debug, Default)]
pub struct SourceCounters {
    /// Records the source emitted into the dataflow.
    pub records: AtomicU64,
    /// Records its reader thread has handed over (for a source read by one): those not yet
    /// emitted are its backlog.
    pub handed: AtomicU64,
    /// Nanoseconds the source held back: the dataflow was congested, its rate capped, or its
    /// reader thread waited for room to hand lines over.
    pub backpressured_nanos: AtomicU64,
    /// The addresses of the operators that read it, whose back-pressured time it adds to.
    operators: Mutex<Vec<Vec<usize>>>,
    /// Since when (ns after [`SourceCounters::clock`]) a reader thread has been waiting to
    /// hand over, 0 if none is: a long wait counts before it ends.
    pub(crate) waiting_since: AtomicU64,
    clock: OnceInstant,
}

/// An instant fixed on first use: what `waiting_since` counts from.
#[derive(Debug, Default)]
struct OnceInstant(std::sync::OnceLock<Instant>);

impl OnceInstant {
    fn nanos(&self) -> u64 {
        (self.0.get_or_init(Instant::now).elapsed().as_nanos() as u64).max(1)
    }
}

impl SourceCounters {
    /// The source is read by the operator at `address`.
    pub fn read_at(&self, address: &[usize]) {
        let mut operators = lock(&self.operators);
        if !operators.iter().any(|a| a == address) {
            operators.push(address.to_vec());
        }
    }

    /// Nanoseconds since this source's clock started (at least 1: 0 means "not waiting").
    pub(crate) fn clock_nanos(&self) -> u64 {
        self.clock.nanos()
    }

    /// Seconds held back so far, a wait in progress included.
    pub fn held_seconds(&self) -> f64 {
        let since = self.waiting_since.load(Ordering::Relaxed);
        let waiting = match since {
            0 => 0,
            since => self.clock.nanos().saturating_sub(since),
        };
        (self.backpressured_nanos.load(Ordering::Relaxed) + waiting) as f64 / 1e9
    }
}

impl Metrics {
    /// The counters of the operator at `address`, created empty if new.
    pub fn operator(&self, address: &[usize]) -> Arc<OperatorCounters> {
        let mut operators = lock(&self.inner.operators);
        operators.entry(address.to_vec()).or_default().clone()
    }

    /// The counters of channel `id`, from the operator at `source` to the one at `target`.
    pub fn channel(&self, id: usize, source: &[usize], target: &[usize]) -> Arc<ChannelCounters> {
        let mut channels = lock(&self.inner.channels);
        channels
            .entry(id)
            .or_insert_with(|| {
                Arc::new(ChannelCounters {
                    source: source.to_vec(),
                    target: target.to_vec(),
                    records: AtomicU64::new(0),
                    queued: AtomicI64::new(0),
                })
            })
            .clone()
    }

    /// The counters of the source named `name`, created empty if new.
    pub fn source(&self, name: &str) -> Arc<SourceCounters> {
        let mut sources = lock(&self.inner.sources);
        sources.entry(name.to_string()).or_default().clone()
    }

    /// Whether some channel of this process holds more than [`QUEUE_BOUND`] records: native
    /// sources wait while it does.
    pub fn is_congested(&self) -> bool {
        self.inner.congested.load(Ordering::Relaxed)
    }

    /// Looks at every channel's queue: sets [`is_congested`](Self::is_congested), and returns
    /// the producers of the channels over the bound (to charge back-pressured time to).
    pub(crate) fn congested_producers(&self) -> Vec<Vec<usize>> {
        let channels = lock(&self.inner.channels);
        let over: Vec<Vec<usize>> = channels
            .values()
            .filter(|c| c.queued.load(Ordering::Relaxed) > QUEUE_BOUND)
            .map(|c| c.source.clone())
            .collect();
        self.inner
            .congested
            .store(!over.is_empty(), Ordering::Relaxed);
        over
    }

    /// The micro-batch record (see [`batches`]).
    pub fn batches(&self) -> MutexGuard<'_, Batches> {
        lock(&self.inner.batches)
    }

    /// Adds a latency distribution the job records — a sink's
    /// [`LatencyRecorder`](crate::sinks::LatencyRecorder), through its `report_to` — read by
    /// `read` whenever a snapshot is taken.
    pub fn record_latency(&self, read: impl Fn() -> LatencySummary + Send + Sync + 'static) {
        lock(&self.inner.latencies).push(LatencyReader(Box::new(read)));
    }

    /// The checkpoint record (see [`checkpoints`]).
    pub fn checkpoints(&self) -> MutexGuard<'_, Checkpoints> {
        lock(&self.inner.checkpoints)
    }

    /// Everything, as of now; the job-wide gauges (watermark, state) are left for the
    /// [`JobContext`](crate::job::JobContext) to fill in.
    pub fn snapshot(&self, now_ms: crate::time::Time) -> Snapshot {
        let mut operators = lock(&self.inner.operators)
            .iter()
            .map(|(address, o)| OperatorSnapshot::of(address, o))
            .collect::<Vec<_>>();
        // A source operator is back-pressured while its source holds back.
        for source in lock(&self.inner.sources).values() {
            let held = source.held_seconds();
            for address in lock(&source.operators).iter() {
                if let Some(o) = operators.iter_mut().find(|o| &o.address == address) {
                    o.backpressured_seconds += held;
                }
            }
        }
        let channels = lock(&self.inner.channels)
            .values()
            .map(|c| ChannelSnapshot {
                source: c.source.clone(),
                target: c.target.clone(),
                records: c.records.load(Ordering::Relaxed),
                queued: c.queued.load(Ordering::Relaxed),
            })
            .collect();
        let sources = lock(&self.inner.sources)
            .iter()
            .map(|(name, s)| {
                let records = s.records.load(Ordering::Relaxed);
                SourceSnapshot {
                    name: name.clone(),
                    records,
                    backlog: s.handed.load(Ordering::Relaxed).saturating_sub(records),
                    backpressured_seconds: s.held_seconds(),
                }
            })
            .collect();
        let (batches, batch_interval_ms, batches_completed) = {
            let batches = self.batches();
            (batches.recent(), batches.interval(), batches.completed())
        };
        let checkpoints = {
            let checkpoints = self.checkpoints();
            for operator in &mut operators {
                operator.state_bytes = checkpoints.state_bytes(&operator.address);
            }
            checkpoints.stats(now_ms)
        };
        let latencies = lock(&self.inner.latencies)
            .iter()
            .map(|r| (r.0)())
            .collect();
        Snapshot {
            uptime_seconds: self.inner.started.elapsed().as_secs_f64(),
            latencies,
            now_ms,
            operators,
            channels,
            sources,
            batches,
            batch_interval_ms,
            batches_completed,
            checkpoints,
            ..Snapshot::default()
        }
    }
}

fn nanos_to_seconds(counter: &AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64 / 1e9
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
