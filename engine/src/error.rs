//! The engine's one error type.
//!
//! Every message names the thing the user controls (a path, an address, a flag, a record) so
//! that the CLI can print it as one line and exit non-zero, never panic.

use std::path::PathBuf;

/// Errors a Sluice job can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory, as the user named it.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file, as the user named it.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// A socket source could not connect within its retry window.
    #[error("cannot connect to {address}: {reason} (gave up after {waited_ms} ms of retries)")]
    Connect {
        /// The `host:port` the source tried.
        address: String,
        /// The last connection error.
        reason: String,
        /// How long the source kept retrying before giving up, in ms.
        waited_ms: u64,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The hostfile for a multi-process run is missing or malformed.
    #[error("bad hostfile {path}: {reason}")]
    Hostfile {
        /// The hostfile.
        path: PathBuf,
        /// What is wrong with it (naming the line, where there is one).
        reason: String,
    },
    /// Timely could not start the workers (e.g. a peer address could not be bound).
    #[error("cannot start workers: {0}")]
    Startup(String),
    /// An operator failed while running; the message says which and why.
    #[error("{0}")]
    Operator(String),
    /// A checkpoint could not be written or restored; the message names the file.
    #[error("{0}")]
    Checkpoint(String),
    /// An event log is damaged, locked or misused; the message names its file and offset.
    #[error("event log {path}: {reason}")]
    Log {
        /// The log's directory, or the file in it that is at fault.
        path: PathBuf,
        /// What is wrong, with the offset where there is one.
        reason: String,
    },
    /// A worker thread panicked; the message is the panic's.
    #[error("worker failed: {0}")]
    Worker(String),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
