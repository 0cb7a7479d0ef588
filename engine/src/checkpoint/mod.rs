//! Checkpoints: durable snapshots of a job's state from which it can resume after a failure.
//!
//! - [`frame`]: the framed, checksummed encoding of every state file (serde + MessagePack
//!   with named fields inside magic, version, length and CRC32), so that damage is detected
//!   before decoding and a state type may evolve;
//! - [`config`]: what a job asks of checkpointing ([`Checkpointing`]), and which checkpoints it
//!   may resume from;
//! - [`coordinator`]: the job's side — which epochs, what to restore, where parts go;
//! - [`writer`]: the per-process writer thread and the commit protocol, with event-time cuts;
//! - [`part`]: what each part is the state of ([`PartKind`]) and its file name;
//! - [`registry`]: the checkpointed instances, their names, and the dataflow graph that says
//!   their domains;
//! - [`savepoint`]: checkpoints kept on request, to upgrade, rescale or go back from;
//! - [`rescale`]: how state saved by one number of workers divides among another;
//! - [`crash`]: the hook that lets tests kill a job in the middle of a checkpoint;
//! - [`domain`]: which operators see the sources' time and which event time, and how a
//!   checkpoint pairs a cut of one with a cut of the other;
//! - [`store`]: the checkpoint directory — one subdirectory per committed epoch, atomic
//!   commits, a `LATEST` pointer, retention, and recovery that falls back past a damaged
//!   checkpoint.
//!
//! Why not abomonation, which timely's ecosystem once used: it decodes fields at unaligned
//! addresses, undefined behaviour that current Rust's debug assertions abort on. serde
//! is safe, and every type that crosses timely workers already implements it.

pub mod config;
pub mod coordinator;
pub mod crash;
pub mod domain;
pub mod frame;
pub mod inputs;
pub mod part;
mod protocol;
pub mod registry;
pub mod rescale;
pub mod savepoint;
pub mod store;
pub mod writer;

pub use config::Checkpointing;
pub use coordinator::Coordinator;
pub use crash::CRASH_AFTER_PARTS;
pub use inputs::Input;
pub use part::{PartKind, PartOf};
pub use rescale::{Rescale, Share};
pub use savepoint::SavepointTrigger;
pub use store::{Checkpoint, CheckpointDir, EpochReport, Metadata, OperatorState};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::Error;

/// What can go wrong with a checkpoint; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A checkpoint file or directory could not be read or written.
    #[error("checkpoint file {path}: {source}")]
    Io {
        /// The checkpoint file or directory.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is damaged or not what it should be.
    #[error("checkpoint file {path} is corrupt: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it (a checksum, a length, a missing part...).
        reason: String,
    },
    /// A checkpoint file is intact but its state does not fit the program's type: the
    /// program changed it incompatibly (see [`frame`]).
    #[error("checkpoint file {path} holds state this program's type does not fit ({reason}); the program changed it incompatibly: resume it with the type it had, or start afresh")]
    Incompatible {
        /// The file (named after its operator and worker).
        path: PathBuf,
        /// Where and how it does not fit: the field's path and what was found.
        reason: String,
    },
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

/// The job's error for a checkpoint error.
fn checkpoint_error(e: CheckpointError) -> Error {
    Error::Checkpoint(e.to_string())
}

/// Locks `mutex`, also if a panicking thread poisoned it: the checkpoint's shared state stays
/// consistent between statements, and the job reports the panic itself.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
