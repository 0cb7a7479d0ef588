//! Checkpoints: durable snapshots of a job's state from which it can resume after a failure.
//!
//! - [`frame`]: the framed, checksummed encoding of every state file (serde + bincode inside
//!   magic, version, length and CRC32), so that damage is detected before decoding;
//! - [`coordinator`]: the job's side — which epochs, what to restore, when to commit;
//! - [`domain`]: which operators see the sources' time and which event time, and how a
//!   checkpoint pairs a cut of one with a cut of the other;
//! - [`store`]: the checkpoint directory — one subdirectory per committed epoch, atomic
//!   commits, a `LATEST` pointer, retention, and recovery that falls back past a damaged
//!   checkpoint.
//!
//! Why not abomonation, which timely's ecosystem once used: it decodes fields at unaligned
//! addresses, undefined behaviour that current Rust's debug assertions abort on. serde with
//! bincode is safe, and every type that crosses timely workers already implements serde.

pub mod coordinator;
pub mod domain;
pub mod frame;
pub mod inputs;
pub mod store;

pub use coordinator::{Checkpointing, Coordinator};
pub use inputs::Input;
pub use store::{Checkpoint, CheckpointDir, EpochReport, Metadata};

use std::path::{Path, PathBuf};

/// What can go wrong with a checkpoint; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A checkpoint file or directory could not be read or written.
    #[error("checkpoint file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is damaged or not what it should be.
    #[error("checkpoint file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// State could not be encoded.
    #[error("cannot encode checkpoint state: {0}")]
    Encode(String),
}

impl CheckpointError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
