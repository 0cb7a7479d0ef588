//! Checkpoints as Flink's checkpoint view shows them: how many, how long the last took from
//! its epoch to its commit, how large it was, and how long ago it committed.
//!
//! The checkpoint writer reports each part it writes and each commit (process 0 commits;
//! every process reports the parts it wrote, so sizes are per process and sum when merged).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// The checkpoint metrics a snapshot carries.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CheckpointStats {
    /// Checkpoints committed in this run.
    pub committed: u64,
    /// The epoch of the last committed checkpoint, in ms on the job clock (0: none yet).
    pub last_epoch_ms: Time,
    /// From that epoch's time to its commit, in seconds.
    pub last_duration_seconds: f64,
    /// Bytes written for it by this process (the job's, merged).
    pub last_bytes: u64,
    /// From its commit to the snapshot, in seconds.
    pub age_seconds: f64,
    /// Bytes of checkpoint parts written in this run.
    pub bytes_written: u64,
}

/// What the checkpoint writer reported; see the [module docs](self).
#[derive(Debug, Default)]
pub struct Checkpoints {
    /// Bytes written per epoch not yet committed.
    pending: BTreeMap<Time, u64>,
    committed: u64,
    last: Option<(Time, Time, u64)>,
    bytes_written: u64,
    /// Each operator's last part per instance (by part name), by the operator's address.
    state: BTreeMap<Vec<usize>, BTreeMap<String, u64>>,
}

impl Checkpoints {
    /// A part of `bytes` was written for `epoch` (`None`: a finished instance's last part).
    pub fn part_written(&mut self, epoch: Option<Time>, bytes: u64) {
        self.bytes_written += bytes;
        if let Some(epoch) = epoch {
            *self.pending.entry(epoch).or_default() += bytes;
        }
    }

    /// The instance `part` of the operator at `address` wrote `bytes` of state.
    pub fn state_written(&mut self, address: &[usize], part: &str, bytes: u64) {
        let parts = self.state.entry(address.to_vec()).or_default();
        parts.insert(part.to_string(), bytes);
    }

    /// Bytes of the operator at `address`'s state in its last parts, summed over instances.
    pub fn state_bytes(&self, address: &[usize]) -> u64 {
        self.state
            .get(address)
            .map_or(0, |parts| parts.values().sum())
    }

    /// The checkpoint of `epoch` was committed (by process 0) or marked complete (by the
    /// others) at `now` ms.
    pub fn completed(&mut self, epoch: Time, now: Time) {
        let bytes = self.pending.get(&epoch).copied().unwrap_or(0);
        self.pending = self.pending.split_off(&(epoch + 1));
        self.committed += 1;
        self.last = Some((epoch, now, bytes));
    }

    /// The metrics as of `now` ms.
    pub fn stats(&self, now: Time) -> CheckpointStats {
        let Some((epoch, at, bytes)) = self.last else {
            return CheckpointStats {
                bytes_written: self.bytes_written,
                ..CheckpointStats::default()
            };
        };
        CheckpointStats {
            committed: self.committed,
            last_epoch_ms: epoch,
            last_duration_seconds: at.saturating_sub(epoch) as f64 / 1e3,
            last_bytes: bytes,
            age_seconds: now.saturating_sub(at) as f64 / 1e3,
            bytes_written: self.bytes_written,
        }
    }
}
