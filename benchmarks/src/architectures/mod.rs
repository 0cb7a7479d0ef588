//! Lambda and kappa on one engine: the same log, operators, checkpoints and serving store.
//!
//! - [`kappa`]: one streaming job over the event log maintains a view; reprocessing is a new
//!   version of the job replaying the log from its start into a new version of the view, which
//!   takes over atomically once it has caught up.

pub mod kappa;
