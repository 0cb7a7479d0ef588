//! # sluice-nexmark
//!
//! [Nexmark](https://github.com/nexmark/nexmark), the field's standard streaming benchmark, on
//! Sluice: an online auction's people, auctions and bids, and the suite's queries q0–q23 over
//! them.
//!
//! - [`generator`]: the reference generator (Flink's), bit for bit, seeded;
//! - [`model`]: the events; [`tables`]: the generator's fixed text; [`random`]: Java's
//!   `SplittableRandom`, which both draw from;
//! - [`source`]: the generator as a source that workers share;
//! - [`table`]: a query's result as a changelog and its final table as CSV;
//! - [`queries`]: one file per query, native and (where the D-Stream API expresses it)
//!   micro-batch;
//! - [`reference`]: every query's answer by a plain loop, what the tests and the benchmark
//!   check the engine against;
//! - [`job`]: running a query, into a final table or a benchmark's sink.

#![warn(missing_docs)]

pub mod generator;
pub mod job;
pub mod model;
pub mod queries;
pub mod random;
pub mod reference;
pub mod source;
pub mod table;
pub mod tables;
