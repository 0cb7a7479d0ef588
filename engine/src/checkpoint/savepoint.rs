//! Savepoints: checkpoints a person asked for, kept until they delete them.
//!
//! A savepoint is a committed checkpoint copied into `DIR/savepoints/savepoint-E` (see
//! [`CheckpointDir::save_point`](super::CheckpointDir::save_point)), which retention never
//! prunes: the state to upgrade a program from, to rescale from, or to go back to (Flink's
//! savepoints). It is as consistent as any checkpoint — it *is* one — so taking it costs a
//! copy of the files, not a pause of the job.
//!
//! A running job is asked for one through
//! [`JobContext::savepoint`](crate::job::JobContext::savepoint): of the newest checkpoint it
//! committed — the job's state as of that epoch, durable already, so the savepoint is there at
//! once even while the job is idle — or, before its first, of the next; or, when it is asked
//! to stop with a savepoint, of its final one, whose state covers everything it read. The
//! checkpoint writer takes them, in order with its commits ([`SavepointTrigger`] holds a
//! request that must wait for one). A job resumes from one with
//! [`Checkpointing::from_savepoint`](super::Checkpointing::from_savepoint).
//!
//! ```
//! use sluice_engine::checkpoint::SavepointTrigger;
//! let trigger = SavepointTrigger::default();
//! trigger.at_next_checkpoint();
//! assert!(trigger.take_next());
//! assert!(!trigger.take_next(), "one request, one savepoint");
//! ```

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const NONE: u8 = 0;
const NEXT: u8 = 1;
const AT_END: u8 = 2;

/// Where a savepoint request waits for the checkpoint writer (cheap to clone: a handle).
#[derive(Clone, Debug, Default)]
pub struct SavepointTrigger(Arc<AtomicU8>);

impl SavepointTrigger {
    /// Asks for a savepoint of the next checkpoint committed.
    pub fn at_next_checkpoint(&self) {
        let _ = self
            .0
            .compare_exchange(NONE, NEXT, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Asks for a savepoint of the job's last checkpoint, taken as it stops.
    pub fn at_end(&self) {
        self.0.store(AT_END, Ordering::SeqCst);
    }

    /// Whether a savepoint of the checkpoint just committed is wanted (and the request done).
    pub fn take_next(&self) -> bool {
        self.0
            .compare_exchange(NEXT, NONE, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Whether any savepoint is still wanted as the job ends (and the request done).
    pub fn take_any(&self) -> bool {
        self.0.swap(NONE, Ordering::SeqCst) != NONE
    }
}
