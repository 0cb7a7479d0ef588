//! # sluice-nexmark
//!
//! [Nexmark](https://github.com/nexmark/nexmark), the field's standard streaming benchmark, on
//! Sluice: an online auction's people, auctions and bids, and the suite's queries q0–q23 over
//! them.
//!
//! - [`generator`]: the reference generator (Flink's), bit for bit, seeded;
//! - [`model`]: the events; [`tables`]: the generator's fixed text;
//! - [`source`]: the generator as a source that workers share;
//! - [`table`]: a query's result as a changelog and its final table as CSV;
//! - [`queries`]: one file per query, native and (where the D-Stream API expresses it)
//!   micro-batch.

#![warn(missing_docs)]

pub mod generator;
pub mod job;
pub mod model;
pub mod queries;
pub mod source;
pub mod table;
pub mod tables;
