//! Micro-batches as Spark's Streaming tab shows them.
//!
//! Batch `t` collects what arrives in `[t - interval, t)` and completes when every output has
//! passed `t`. Spark runs one batch's jobs at a time, so a batch waits for the one before it;
//! Sluice's batches flow through one pipelined dataflow, and their times are read the same way
//! so that the numbers mean what a Spark user expects:
//!
//! - **scheduling delay**: from the batch time to when it could start, the later of its time
//!   and the previous batch's completion (Spark: submitted → first job started);
//! - **processing time**: from then to its completion;
//! - **total delay**: from the batch time to its completion, their sum.
//!
//! A job keeping up has a total delay under the interval and no scheduling delay; one falling
//! behind sees the scheduling delay grow batch after batch — what rate control
//! ([`rate`](crate::rate)) is for.
//!
//! ```
//! use sluice_engine::metrics::Batches;
//! let mut batches = Batches::default();
//! batches.start(1000, 1000); // batches of 1 s from batch time 1000
//! batches.input(1000, 5);
//! assert!(batches.completed_through(Some(1000), 900).is_empty()); // nothing complete yet
//! batches.completed_through(Some(2000), 1300); // batch 1000 done at 1300
//! batches.completed_through(Some(3000), 2600); // batch 2000 done at 2600
//! let [first, second] = batches.recent().try_into().unwrap();
//! assert_eq!((first.input_records, first.total_delay_ms), (5, 300));
//! assert_eq!((second.scheduling_delay_ms, second.processing_time_ms), (0, 600));
//! ```

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// Completed batches kept for the UI's table and charts.
pub const RECENT_BATCHES: usize = 1000;

/// One completed batch.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct BatchInfo {
    /// The batch time (the end of the interval it collects), in ms on the job clock.
    pub batch_time_ms: Time,
    /// Records the sources admitted into it.
    pub input_records: u64,
    /// From the batch time until it could start (see the [module docs](self)).
    pub scheduling_delay_ms: Time,
    /// From its start until it completed.
    pub processing_time_ms: Time,
    /// From the batch time until it completed.
    pub total_delay_ms: Time,
}

impl BatchInfo {
    /// The same batch as seen by another process: the job's batch completes when the last
    /// process completes it.
    pub fn merge_times(&mut self, other: BatchInfo) {
        self.total_delay_ms = self.total_delay_ms.max(other.total_delay_ms);
        self.scheduling_delay_ms = self.scheduling_delay_ms.max(other.scheduling_delay_ms);
        self.processing_time_ms = self.total_delay_ms - self.scheduling_delay_ms;
    }
}

/// The batches of a micro-batch job; see the [module docs](self).
#[derive(Debug, Default)]
pub struct Batches {
    interval: Option<Time>,
    /// Input records of batches not complete yet.
    open: BTreeMap<Time, u64>,
    /// The first batch not complete yet, once started.
    next: Option<Time>,
    /// When the last batch completed.
    last_completed_at: Option<Time>,
    completed: u64,
    recent: VecDeque<BatchInfo>,
}

impl Batches {
    /// The job runs in batches of `interval` ms from batch time `first`.
    pub fn start(&mut self, first: Time, interval: Time) {
        self.interval = Some(interval.max(1));
        self.next.get_or_insert(first);
    }

    /// The batch interval, if the job runs in batches.
    pub fn interval(&self) -> Option<Time> {
        self.interval
    }

    /// Counts `records` admitted into batch `batch`.
    pub fn input(&mut self, batch: Time, records: u64) {
        *self.open.entry(batch).or_default() += records;
    }

    /// The outputs' frontier is `through` (`None`: the job is over) at `now` ms: every batch
    /// before it is complete. Returns the batches this completes — each once, so every worker
    /// may report the frontier.
    pub fn completed_through(&mut self, through: Option<Time>, now: Time) -> Vec<BatchInfo> {
        let Some(interval) = self.interval else {
            return Vec::new();
        };
        let through = match through {
            Some(t) => t,
            None => match self.open.keys().next_back() {
                Some(&last) => last + 1,
                None => return Vec::new(),
            },
        };
        let before = self.completed;
        let Some(mut batch) = self.next else {
            return Vec::new();
        };
        while batch < through {
            let start = self.last_completed_at.map_or(batch, |c| c.max(batch));
            let now = now.max(start);
            self.recent.push_back(BatchInfo {
                batch_time_ms: batch,
                input_records: self.open.remove(&batch).unwrap_or(0),
                scheduling_delay_ms: start - batch,
                processing_time_ms: now - start,
                total_delay_ms: now - batch,
            });
            if self.recent.len() > RECENT_BATCHES {
                self.recent.pop_front();
            }
            self.completed += 1;
            self.last_completed_at = Some(now);
            batch += interval;
        }
        self.next = Some(batch);
        // Input counted into batches that had completed already (a late count) is dropped.
        self.open = self.open.split_off(&batch);
        let fresh = (self.completed - before) as usize;
        self.recent
            .iter()
            .skip(self.recent.len().saturating_sub(fresh))
            .cloned()
            .collect()
    }

    /// Batches completed so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// The most recent completed batches, oldest first.
    pub fn recent(&self) -> Vec<BatchInfo> {
        self.recent.iter().cloned().collect()
    }
}
