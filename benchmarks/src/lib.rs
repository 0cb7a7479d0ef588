//! # sluice-bench
//!
//! Sluice's benchmark harness and the workloads it measures: native vs micro-batch on the same
//! operators, the same load and the same machine.
//!
//! - [`architectures`]: lambda and kappa on one engine, over the event log and a serving store;
//! - the jobs themselves — word count, grep, top-k, windowed hashtags, the Yahoo Streaming
//!   Benchmark — live in [`sluice_jobs`], shared with `sluice run`, each with a latency probe
//!   for both modes; their [`Mode`](sluice_jobs::Mode) is the control variable;
//! - [`throughput`]: word count at full speed beside a hand-written single-thread loop measured
//!   in the same run;
//! - [`latency`]: latency at fixed open-loop rates, from each input's *scheduled* send time;
//! - [`nexmark`]: the Nexmark queries in every mode: throughput per core, latency, memory, and
//!   a check against the plain-loop reference;
//! - [`loadgen`]: the open-loop TCP load generator any engine can be measured with;
//! - [`batch_overhead`]: the CPU cost of one micro-batch beyond native mode, at 10 ms batches;
//! - [`checkpoint_cost`]: what checkpoints cost — snapshot speed and size, throughput, recovery;
//! - [`report`], [`plot`], [`stats`]: the table, JSON and CSV files, SVG plots, and summaries;
//! - [`demo`]: the teaching view, both modes side by side on a slow input;
//! - [`machine`]: what the figures were measured on, and peak memory.
//!
//! Every figure comes from a release build, after a warm-up that is not counted, as the
//! min / median / max of several runs, with the record counts that show nothing was lost.

#![warn(missing_docs)]

pub mod architectures;
pub mod batch_overhead;
pub mod broker_server;
pub mod checkpoint_cost;
pub mod demo;
pub mod latency;
pub mod loadgen;
pub mod machine;
pub mod nexmark;
pub mod overload;
pub mod plot;
pub mod report;
pub mod rescale_cost;
pub mod stats;
pub mod throughput;
