//! Operators on [`Stream`](crate::Stream)s, one concept per file, each an extension trait.
//!
//! - [`stateless`]: map, flat_map, filter, union, inspect — act on each record as it arrives;
//! - [`partition`]: partition by key (hash exchange) and rebalance (round robin);
//! - [`keyed`]: per-key running state — reduce, aggregate, count, update_state_by_key — with a
//!   local pre-aggregation (combiner) before the exchange;
//! - [`table`]: the last value per key, emitted when the input ends, and gathering to worker 0;
//! - [`window`]: per-key counts over sliding and tumbling windows, closed by the frontier;
//! - [`event_time`]: event time from the records, watermarks carried by the frontier; or
//!   processing time;
//! - [`event_window`]: event-time tumbling, sliding, session and count windows with allowed
//!   lateness and a late side output; incremental aggregates, full-window functions, top-k;
//! - [`join`]: stream–table joins against a broadcast table, as of each record's time, and
//!   event-time interval and window joins;
//! - [`side_output`]: parsing with an error side output for malformed records.

pub mod event_time;
pub mod event_window;
pub mod join;
pub mod keyed;
pub mod partition;
pub mod side_output;
pub mod stateless;
pub mod table;
pub mod window;
