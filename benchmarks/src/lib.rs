//! # sluice-bench
//!
//! Sluice's benchmark harness and the workloads it measures.
//!
//! - [`workloads`]: the jobs themselves (word count), shared with `sluice run`;
//! - [`throughput`]: word count at full speed, from memory and from a file, on 1 and 2 workers,
//!   beside a hand-written single-thread loop measured in the same run (absolute figures on
//!   shared machines drift; the ratio to the loop does not);
//! - [`batch_overhead`]: the CPU cost of one micro-batch beyond native mode, at 10 ms batches;
//! - [`report`]: the table on stdout, JSON and CSV files;
//! - [`machine`]: what the figures were measured on, and peak memory.
//!
//! Every figure comes from a release build, after a warm-up run that is not counted, as the
//! min / median / max of several runs, with the record counts that show nothing was lost.

pub mod batch_overhead;
pub mod demo;
pub mod latency;
pub mod loadgen;
pub mod machine;
pub mod mode;
pub mod plot;
pub mod report;
pub mod stats;
pub mod throughput;
pub mod workloads;
