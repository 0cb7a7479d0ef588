//! # sluice-engine
//!
//! Sluice's engine: one program is one [timely dataflow](https://docs.rs/timely) of long-running
//! operators, one instance per worker. This crate gives that DAG a small stream API of its own.
//!
//! Its modules are floors, each using only those below it (see `docs/architecture.md`; the
//! workspace test `layers` fails on an import cycle), from the top:
//!
//! - [`execution`]: workers, processes and hostfiles — [`execute`];
//! - [`operators`]: stateless transforms, partitioning, per-key state with pre-aggregation,
//!   event time, windows, joins and side outputs for malformed records — extension traits on
//!   [`Stream`], as timely's own are;
//! - [`sources`]: the corpus generator, text files, a directory monitor, a TCP socket client, the
//!   event log and an in-memory queue — each a [`Source`](sources::Source) that native streams
//!   and DStreams are built from, a long-running operator woken by an activator, never a busy loop;
//! - [`sinks`]: print, text files, exactly-once epoch files, collect, the event log, and
//!   HdrHistogram latency recording;
//! - [`rate`]: rate control for micro-batches (Spark's PID back pressure);
//! - [`checkpointed`]: the checkpointed-operator core every stateful operator is built on, and
//!   [`keyed_state`], the keyed state it snapshots;
//! - [`job`]: the [`JobContext`], the one handle through which an operator reaches its job
//!   (shutdown, errors, watermarks, state gauge, clock, checkpoints, metrics);
//! - [`stream`]: timely's stream over millisecond timestamps;
//! - [`log`]: the durable event log — replayable input, write-ahead log, lambda/kappa's master data;
//! - [`metrics`]: what the job is doing — per operator, source, batch and checkpoint — read
//!   from timely's event log and the layers that know it, as Prometheus text or a snapshot;
//! - [`checkpoint`]: the checkpoint directory and its protocol: coordinator, writer, framed,
//!   checksummed state files;
//! - [`durable`]: committing a file or a directory atomically and durably, for every layer.
//!
//! In native mode a record is processed the moment it arrives; its timely timestamp is its time
//! in milliseconds ([`Time`]). The micro-batch layer (`sluice-minibatch`) rounds that time up to a
//! batch interval and reuses these same operators.
//!
//! ```
//! use sluice_engine::prelude::*;
//!
//! let counts = Collector::new();
//! let sink = counts.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     let queue = (worker.index() == 0).then(|| vec!["a b", "b"]);
//!     worker.dataflow(|scope| {
//!         scope
//!             .iterator_source(queue.into_iter().flatten().map(String::from))
//!             .count_keys_with(|line: String, keys| {
//!                 line.split_ascii_whitespace().for_each(|w| keys.add(w, 1))
//!             })
//!             .last_by_key()
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let mut counts = counts.take();
//! counts.sort();
//! assert_eq!(counts, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
//! ```

#![warn(missing_docs)]

pub mod checkpoint;
pub mod checkpointed;
pub mod clock;
pub mod durable;
pub mod error;
pub mod execution;
pub mod hash;
pub mod job;
pub mod keyed_state;
pub mod log;
pub mod metrics;
pub mod operators;
pub mod rate;
pub mod sinks;
pub mod sources;
pub mod stream;
pub mod testing;
pub mod time;

pub use error::{Error, Result};
pub use execution::{execute, Execution};
pub use job::JobContext;
pub use stream::{Scope, Stream};
pub use time::Time;

/// Escape hatch: the timely crate itself, for custom operators.
pub use timely;

/// Everything an ordinary program needs, with no timely imports.
pub mod prelude {
    pub use crate::checkpointed::Uid;
    pub use crate::execution::{execute, Execution, Worker};
    pub use crate::job::{JobContext, WorkerExt};
    pub use crate::operators::event_time::{EventTime, Watermarks};
    pub use crate::operators::join::{IntervalJoin, TableJoin, WindowJoin};
    pub use crate::operators::keyed::{Combiner, Keyed, KeyedCount, KeysWith};
    pub use crate::operators::last_by_key::{Gather, LastByKey};
    pub use crate::operators::partition::Partition;
    pub use crate::operators::side_output::TryMap;
    pub use crate::operators::stateless::Stateless;
    pub use crate::operators::window::event::{
        CoGroupWindows, CountWindows, EventWindowAggregates, EventWindows, ProcessWindows,
        SessionAggregates, SessionWindows, TopKPerWindow, WindowAggregate, WindowCount,
    };
    pub use crate::operators::window::{WindowSpec, Windowed};
    pub use crate::sinks::{Collector, LatencyRecorder, Sinks};
    pub use crate::sources::{Queue, Source, Sources};
    pub use crate::stream::{Scope, Stream};
    pub use crate::time::Time;
    pub use crate::{Error, Result};
}
