//! Joins, one kind per file:
//! - [`table`]: a stream with a table as of each record's time (a temporal join against a
//!   static or slowly changing table broadcast to every worker);
//! - [`interval`]: two event-time streams, each left record with the right records of its key
//!   within a time interval of it;
//! - [`window`]: two event-time streams, the records of a key that fall in the same window.
//!
//! Each has an inner and a (left) outer variant; the event-time joins give the same results for
//! any arrival order within the watermark's bound and any worker count.

pub mod interval;
pub mod table;
pub mod window;

pub use interval::IntervalJoin;
pub use table::TableJoin;
pub use window::WindowJoin;
