//! # Sluice
//!
//! A stream-processing engine on timely dataflow: native record-at-a-time streaming and
//! Spark-style micro-batches on one DAG of operators, one benchmark harness to compare them.
//!
//! This crate is the front door: it re-exports the engine ([`engine`], and its [`prelude`]), the
//! micro-batch layer ([`minibatch`]), the serving layer ([`serving`]), the broker connectors ([`connectors`]), the web UI ([`ui`]), the jobs ([`jobs`]), the
//! benchmark harness ([`bench`](mod@bench)), and builds the `sluice` command.

#![warn(missing_docs)]

pub use sluice_bench as bench;
pub use sluice_connectors as connectors;
pub use sluice_engine as engine;
pub use sluice_engine::prelude;
pub use sluice_jobs as jobs;
pub use sluice_minibatch as minibatch;
pub use sluice_nexmark as nexmark;
pub use sluice_serving as serving;
pub use sluice_ui as ui;

/// The programs in the README and the guides, compiled (and the self-contained ones run) as
/// doctests, so that the entry point keeps up with the API.
#[cfg(doctest)]
pub mod docs_programs {
    #[doc = include_str!("../README.md")]
    pub struct Readme;
    #[doc = include_str!("../docs/native.md")]
    pub struct NativePrograms;
    #[doc = include_str!("../docs/minibatch.md")]
    pub struct MinibatchPrograms;
}
