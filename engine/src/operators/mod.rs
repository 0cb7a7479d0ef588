//! Operators on [`Stream`](crate::Stream)s, one concept per file, each an extension trait.
//!
//! - [`stateless`]: map, flat_map, filter, union, inspect — act on each record as it arrives;
//! - [`partition`]: partition by key (hash exchange) and rebalance (round robin);
//! - [`keyed`]: per-key running state — reduce, aggregate, count, update_state_by_key — with a
//!   local pre-aggregation (combiner) before the exchange;
//! - [`last_by_key`]: the last value per key, emitted when the input ends, and gathering to
//!   worker 0;
//! - [`window`]: every window — per-key counts over the stream's timestamps, and event-time
//!   tumbling, sliding, session and count windows with allowed lateness and a late side output;
//! - [`event_time`]: event time from the records, watermarks carried by the frontier; or
//!   processing time;
//! - [`join`]: stream–table joins against a broadcast table, as of each record's time, and
//!   event-time interval and window joins;
//! - [`side_output`]: parsing with an error side output for malformed records.
//!
//! Every stateful one is built on the [checkpointed-operator core](crate::checkpointed).

pub mod event_time;
pub mod join;
pub mod keyed;
pub mod last_by_key;
pub mod partition;
pub mod side_output;
pub mod stateless;
pub mod window;

/// The event-time windows, under the name they have always had: see [`window::event`].
pub use window::event as event_window;
