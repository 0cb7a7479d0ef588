//! # sluice-jobs
//!
//! The one home of every job Sluice runs: each job's dataflow is built here, once, and run by
//! `sluice run`, by `sluice bench` and by the demo alike, so that what is measured is what users
//! run. A job is a plain description (its source, its [`Mode`], its parameters) with a `run`
//! method; the command line only parses flags into a description and prints what `run` returns.
//!
//! - [`wordcount`]: the running count of every word, natively or in micro-batches;
//! - [`windowcount`]: word counts per event-time window, written exactly once per epoch;
//! - [`hashtags`]: the D-Streams paper's windowed hashtag counts over [`tweets`];
//! - [`grep`], [`topk`], [`ysb`]: the benchmark's other timed jobs, named by [`Workload`];
//! - [`probe`]: lines stamped with their send time, and the probe that measures their latency;
//! - [`mode`]: native, or micro-batch with its interval;
//! - [`result_file`]: result files, checked before a job starts and written whole.

#![warn(missing_docs)]

pub mod grep;
pub mod hashtags;
pub mod mode;
pub mod probe;
pub mod result_file;
pub mod topk;
pub mod tweets;
pub mod windowcount;
pub mod wordcount;
pub mod workload;
pub mod ysb;

pub use mode::Mode;
pub use workload::Workload;
