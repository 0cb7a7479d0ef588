//! Keyed event-time windows with allowed lateness and a late side output (Flink's model).
//!
//! The input is `(key, event time, value)` records on a stream stamped by
//! [`with_event_time`](crate::operators::event_time::EventTime::with_event_time), so a record's timestamp
//! is `max(event time, watermark)`. For each window `[start, end)` containing its event time, a
//! record is:
//! - **on time** if its timestamp is before `end`: it counts, and the window's result is
//!   emitted once, when the frontier (the watermark) reaches `end`, at time `end`;
//! - **late but allowed** if its timestamp is before `end + lateness`: it counts, and if the
//!   window has already fired, an updated result is emitted at once, marked
//!   [`update`](WindowAggregate::update) so that a sink can tell it from the first firing (an
//!   update replaces the earlier result for that key and window);
//! - **too late** otherwise. A record too late for *every* window it belongs to goes to the late
//!   side output, which the caller can consume and count; nothing is dropped silently.
//!
//! A window's state is freed when the frontier passes `end + lateness`, so state stays bounded
//! on an endless stream ([`JobContext::state_entries`](crate::JobContext::state_entries) shows
//! it). Whether a record is late is decided by its own timestamp, not by when it happened to be
//! processed, so the final result of every window does not depend on arrival order within the
//! lateness, nor on the number of workers.
//!
//! The window kinds and functions, one file each:
//! - [`aggregate`]: tumbling and sliding windows with an incremental aggregate (count is one);
//! - [`process`]: a full-window function over all the window's records, and the co-group of two
//!   streams per window that [window joins](crate::operators::join::WindowJoin) are built on;
//! - [`session`]: session windows (a gap of inactivity closes them; merging), counted or
//!   aggregated;
//! - [`count`]: count windows — every `slide` records of a key, in event-time order;
//! - [`top_k`](mod@top_k): the `k` largest counts of each window, across keys.
//!
//! **Non-keyed windows** (Flink's `windowAll`) are keyed windows with the key `()`: all records
//! meet on one worker, as `windowAll` runs with parallelism 1. **Processing-time windows** are
//! these same windows over
//! [`with_processing_time`](crate::operators::event_time::EventTime::with_processing_time), which pairs
//! each record with its arrival time.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_time::{EventTime, Watermarks};
//! use sluice_engine::operators::event_window::EventWindows;
//! let (counts, late) = (Collector::new(), Collector::new());
//! let (c, l) = (counts.clone(), late.clone());
//! execute(Execution::default(), move |worker| {
//!     worker.dataflow(|scope| {
//!         let clicks = vec![("a", 100u64), ("a", 1500), ("a", 300), ("b", 2500), ("a", 50)];
//!         let (windows, too_late) = scope
//!             .iterator_source(clicks.into_iter().map(|(k, t)| (k.to_string(), t)))
//!             .with_event_time(|(_, t)| *t, Watermarks::ascending())
//!             .count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 1000);
//!         windows.map(|w| (w.end, w.key, w.count, w.update)).collect_into(&c);
//!         too_late.collect_into(&l);
//!     });
//! })
//! .unwrap();
//! // "a"@300 arrives after the watermark passed 1000, but within the lateness: it counts (in
//! // the first firing if the window has not fired yet when it is processed, else as an update).
//! let final_a = counts.take().into_iter().filter(|c| c.0 == 1000 && c.1 == "a").map(|c| c.2).max();
//! assert_eq!(final_a, Some(2));
//! // "a"@50 arrives when the watermark is 2500 ≥ 1000 + 1000: too late.
//! assert_eq!(late.take(), vec![("a".to_string(), 50)]);
//! ```

pub mod aggregate;
pub mod count;
pub mod process;
pub mod session;
pub mod top_k;

pub use aggregate::{EventWindowAggregates, EventWindows};
pub use count::CountWindows;
pub use process::{CoGroupWindows, ProcessWindows};
pub use session::{SessionAggregates, SessionWindows};
pub use top_k::{top_k, TopKPerWindow};

use serde::{Deserialize, Serialize};

use crate::stream::Stream;
use crate::time::Time;

/// One window's result for one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowAggregate<K, A> {
    /// The window's end (exclusive); its results are emitted at this time.
    pub end: Time,
    /// The window's start (inclusive).
    pub start: Time,
    /// The key it is for.
    pub key: K,
    /// The aggregate of the window's records for the key.
    pub value: A,
    /// `false` for the window's first firing, `true` for a later update caused by a late record.
    pub update: bool,
}

/// One window's count for one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowCount<K> {
    /// The window's end (exclusive); its results are emitted at this time.
    pub end: Time,
    /// The window's start (inclusive).
    pub start: Time,
    /// The key it is for.
    pub key: K,
    /// How many of the window's records have the key.
    pub count: u64,
    /// `false` for the window's first firing, `true` for a later update caused by a late record.
    pub update: bool,
}

impl<K> From<WindowAggregate<K, u64>> for WindowCount<K> {
    fn from(w: WindowAggregate<K, u64>) -> Self {
        WindowCount {
            end: w.end,
            start: w.start,
            key: w.key,
            count: w.value,
            update: w.update,
        }
    }
}

/// The records too late for all their windows: `(key, event time, value)`.
pub type Late<'scope, K, V> = Stream<'scope, (K, Time, V)>;
