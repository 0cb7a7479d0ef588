//! The micro-batch layer's errors, with Spark's messages where Spark has one.
//!
//! A Spark Streaming user searching for a message should find the same words here:
//! `IllegalStateException`s of the context's lifecycle, `requirement failed: ...` checks, and the
//! exceptions a batch can fail with, which `await_termination` rethrows.

/// Errors of a streaming context.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operation not allowed in the context's current state (Spark's `IllegalStateException`).
    #[error("{0}")]
    IllegalState(String),
    /// An invalid argument or graph (Spark's `IllegalArgumentException`, `requirement failed`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The engine failed: a source, a sink, a worker — or a batch (its message says which).
    #[error(transparent)]
    Engine(#[from] sluice_engine::Error),
}

impl Error {
    /// A failed `require(...)` check, worded as Spark words it.
    pub(crate) fn requirement(message: impl std::fmt::Display) -> Self {
        Error::InvalidArgument(format!("requirement failed: {message}"))
    }
}

/// The micro-batch layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
