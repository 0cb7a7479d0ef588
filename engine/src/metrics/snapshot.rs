//! A point-in-time copy of a process's metrics, serialisable (the JSON API), and mergeable
//! across the processes of a job.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::{BatchInfo, CheckpointStats, OperatorCounters};
use crate::time::Time;

/// Every metric of a process — or of a whole job, once [merged](Snapshot::merge).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Processes merged into this snapshot.
    pub processes: usize,
    /// Worker threads, summed over the processes.
    pub workers: usize,
    /// Seconds since the metrics were created (the longest, merged).
    pub uptime_seconds: f64,
    /// The job clock's time of the snapshot, in ms (the latest, merged).
    pub now_ms: Time,
    /// Every timely operator, by address.
    pub operators: Vec<OperatorSnapshot>,
    /// Every channel (the dataflow graph's edges).
    pub channels: Vec<ChannelSnapshot>,
    /// Every source, by name.
    pub sources: Vec<SourceSnapshot>,
    /// The batch interval, in micro-batch mode.
    pub batch_interval_ms: Option<Time>,
    /// Batches completed so far.
    pub batches_completed: u64,
    /// The most recent batches, oldest first.
    pub batches: Vec<BatchInfo>,
    /// Checkpoints.
    pub checkpoints: CheckpointStats,
    /// The lowest event-time watermark (`None` without event time).
    pub watermark_ms: Option<Time>,
    /// How far the watermark is behind the clock, in seconds.
    pub event_time_lag_seconds: Option<f64>,
    /// Entries held by the windowing and join operators.
    pub state_entries: u64,
    /// Malformed records skipped.
    pub malformed_records: u64,
    /// The latency distributions the job records (end to end, where it measures them).
    #[serde(default)]
    pub latencies: Vec<LatencySummary>,
}

/// A latency distribution's summary.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    /// What is measured (`end-to-end`: from a record's send time to its result).
    pub name: String,
    /// Records measured.
    pub count: u64,
    /// Their mean, in ms.
    pub mean_ms: f64,
    /// The median, in ms.
    pub p50_ms: f64,
    /// The 99th percentile, in ms.
    pub p99_ms: f64,
    /// The 99.9th percentile, in ms.
    pub p999_ms: f64,
    /// The largest, in ms.
    pub max_ms: f64,
}

/// One operator's metrics.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OperatorSnapshot {
    /// Its address in the dataflow (`[dataflow, operator, …]`).
    pub address: Vec<usize>,
    /// Its name.
    pub name: String,
    /// Records taken from its inputs.
    pub records_in: u64,
    /// Records given to its outputs.
    pub records_out: u64,
    /// Seconds scheduled, summed over instances.
    pub busy_seconds: f64,
    /// Seconds with an output channel over the queue bound, summed over instances.
    pub backpressured_seconds: f64,
    /// Entries of state it holds, summed over instances (windowing, join and keyed operators).
    #[serde(default)]
    pub state_entries: u64,
    /// Bytes of its state in the last checkpoint written, summed over instances.
    #[serde(default)]
    pub state_bytes: u64,
    /// Its event-time watermark, the lowest over its instances (event-time operators).
    #[serde(default)]
    pub watermark_ms: Option<Time>,
}

impl OperatorSnapshot {
    pub(super) fn of(address: &[usize], o: &OperatorCounters) -> Self {
        OperatorSnapshot {
            address: address.to_vec(),
            name: super::lock(&o.name).clone(),
            records_in: o.records_in.load(Ordering::Relaxed),
            records_out: o.records_out.load(Ordering::Relaxed),
            busy_seconds: super::nanos_to_seconds(&o.busy_nanos),
            backpressured_seconds: super::nanos_to_seconds(&o.backpressured_nanos),
            state_entries: o.state_entries.load(Ordering::Relaxed),
            state_bytes: 0,
            watermark_ms: None,
        }
    }
}

/// One channel's metrics.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ChannelSnapshot {
    /// The producing operator's address.
    pub source: Vec<usize>,
    /// The consuming operator's address.
    pub target: Vec<usize>,
    /// Records sent into it.
    pub records: u64,
    /// Records sent but not yet taken (between workers of one process).
    pub queued: i64,
}

/// One source's metrics.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceSnapshot {
    /// Its name.
    pub name: String,
    /// Records emitted into the dataflow.
    pub records: u64,
    /// Records its reader has received and not yet emitted.
    #[serde(default)]
    pub backlog: u64,
    /// Seconds it held back (congestion or a rate cap), summed over readers.
    pub backpressured_seconds: f64,
}

impl Snapshot {
    /// Records sent to the operator at `address` and not yet taken.
    pub fn queued_into(&self, address: &[usize]) -> i64 {
        self.channels
            .iter()
            .filter(|c| c.target == address)
            .map(|c| c.queued.max(0))
            .sum()
    }

    /// The job-wide view of several processes' snapshots: counters and times summed, the
    /// clock and uptime the latest, batches joined by batch time (input summed, completion the
    /// latest), the checkpoint the newest committed, the watermark the lowest.
    pub fn merge(parts: Vec<Snapshot>) -> Snapshot {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            return Snapshot::default();
        };
        for part in parts {
            all.processes += part.processes;
            all.workers += part.workers;
            all.uptime_seconds = all.uptime_seconds.max(part.uptime_seconds);
            all.now_ms = all.now_ms.max(part.now_ms);
            all.operators = merge_by(
                all.operators,
                part.operators,
                |o| o.address.clone(),
                |a, b| {
                    a.records_in += b.records_in;
                    a.records_out += b.records_out;
                    a.busy_seconds += b.busy_seconds;
                    a.backpressured_seconds += b.backpressured_seconds;
                },
            );
            let edge = |c: &ChannelSnapshot| (c.source.clone(), c.target.clone());
            all.channels = merge_by(all.channels, part.channels, edge, |a, b| {
                a.records += b.records;
                a.queued += b.queued;
            });
            all.sources = merge_by(
                all.sources,
                part.sources,
                |s| s.name.clone(),
                |a, b| {
                    a.records += b.records;
                    a.backpressured_seconds += b.backpressured_seconds;
                },
            );
            all.batch_interval_ms = all.batch_interval_ms.or(part.batch_interval_ms);
            all.batches_completed = all.batches_completed.min(part.batches_completed);
            all.batches = merge_by(
                all.batches,
                part.batches,
                |b| b.batch_time_ms,
                |a, b| {
                    a.input_records += b.input_records;
                    a.merge_times(b);
                },
            );
            if part.checkpoints.last_epoch_ms > all.checkpoints.last_epoch_ms {
                all.checkpoints = part.checkpoints;
            }
            all.watermark_ms = lowest(all.watermark_ms, part.watermark_ms);
            all.event_time_lag_seconds = all
                .watermark_ms
                .map(|w| all.now_ms.saturating_sub(w) as f64 / 1e3);
            all.state_entries += part.state_entries;
            all.malformed_records += part.malformed_records;
            // Quantiles cannot be merged exactly from summaries: the worse process's stand.
            all.latencies = merge_by(
                all.latencies,
                part.latencies,
                |l| l.name.clone(),
                |a, b| {
                    let count = a.count + b.count;
                    if count > 0 {
                        a.mean_ms = (a.mean_ms * a.count as f64 + b.mean_ms * b.count as f64)
                            / count as f64;
                    }
                    a.count = count;
                    a.p50_ms = a.p50_ms.max(b.p50_ms);
                    a.p99_ms = a.p99_ms.max(b.p99_ms);
                    a.p999_ms = a.p999_ms.max(b.p999_ms);
                    a.max_ms = a.max_ms.max(b.max_ms);
                },
            );
        }
        all
    }
}

/// The lower of two watermarks, either absent.
fn lowest(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Joins two lists by key (the result ordered by key), combining the items both hold.
fn merge_by<T, K: Ord>(
    a: Vec<T>,
    b: Vec<T>,
    key: impl Fn(&T) -> K,
    combine: impl Fn(&mut T, T),
) -> Vec<T> {
    let mut all: BTreeMap<K, T> = BTreeMap::new();
    for item in a.into_iter().chain(b) {
        match all.entry(key(&item)) {
            std::collections::btree_map::Entry::Occupied(mut e) => combine(e.get_mut(), item),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(item);
            }
        }
    }
    all.into_values().collect()
}
