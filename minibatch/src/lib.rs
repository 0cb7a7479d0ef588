//! # sluice-minibatch
//!
//! Spark Streaming's D-Streams on Sluice's timely dataflow: a [`StreamingContext`] with a batch
//! interval, [`DStream`]s with Spark's operations under Spark's names (in Rust case), and
//! [`Batch`] — the RDD analogue that `transform` and `foreach_rdd` receive.
//!
//! **One epoch per batch.** A record's timely timestamp is the end of the batch interval it
//! arrived in. Element-wise operations are the engine's operators and act on each record as it
//! arrives; an operation that needs the whole batch (a reduction, a join, a window, state, an
//! output) waits until the frontier passes the batch time and then runs once, as Spark's job
//! for that batch would. That is the only difference from native mode, and the point of
//! comparing the two.
//!
//! **Semantics are Spark's**, down to the edge cases its own test suites pin (see
//! `minibatch/tests/data/SEMANTICS.md`): which times a windowed stream has batches at, that
//! `updateStateByKey` visits every key in every batch, that `count` says 0 and `reduce` says
//! nothing for an empty batch, the error messages. The `conformance` module runs Spark-derived
//! cases against this crate.
//!
//! ```
//! use std::time::Duration;
//! use sluice_minibatch::testing::run_batches;
//!
//! // Word count per batch and over a sliding window of two batches.
//! let lines = vec![vec!["a b".to_string()], vec!["b c".to_string()]];
//! let out = run_batches(1000, lines, |lines| {
//!     lines
//!         .flat_map(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
//!         .map(|w| (w, 1u64))
//!         .reduce_by_key_and_window(|a, b| a + b, Duration::from_secs(2), Duration::from_secs(1))
//! })
//! .unwrap();
//! let mut second = out[1].clone();
//! second.sort();
//! assert_eq!(second, vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 1)]);
//! ```

#![warn(missing_docs)]

mod batch;
mod batch_clock;
pub mod conformance;
mod context;
mod dstream;
mod each_batch;
mod error;
mod graph;
mod output;
mod pairs;
mod partition;
mod presence;
mod show;
mod sources;
pub mod testing;
mod transform;
mod update_state;
mod window;

pub use batch::{Batch, Cogrouped};
pub use context::{Backpressure, StreamingContext, StreamingContextState};
pub use dstream::DStream;
pub use error::{Error, Result};
pub use graph::Graph;
pub use output::{batch_file_name, format_batch, read_object_files, Slices, DEFAULT_REMEMBER};
pub use pairs::OuterJoined;
pub use partition::Part;
pub use show::Show;
pub use sluice_engine::sources::Spread;
pub use sources::BatchQueue;
pub use update_state::StateUpdate;
