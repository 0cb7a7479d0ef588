//! A crash-test hook: the writer thread aborts the process after a set number of parts, so
//! that tests can kill a job in the middle of a checkpoint.

/// The environment variable that makes a process abort after writing that many checkpoint
/// parts once a checkpoint exists (committed by this run, or restored), so that tests can
/// kill a job in the middle of a checkpoint and know there is one to resume from.
pub const CRASH_AFTER_PARTS: &str = "SLUICE_TEST_CRASH_AFTER_PARTS";

/// Counts the parts written once a checkpoint exists, and aborts at the set number.
#[derive(Debug)]
pub(super) struct CrashHook {
    after: Option<usize>,
    written: usize,
}

impl CrashHook {
    /// The hook as [`CRASH_AFTER_PARTS`] sets it (inert if unset).
    pub(super) fn from_env() -> Self {
        CrashHook {
            after: std::env::var(CRASH_AFTER_PARTS)
                .ok()
                .and_then(|v| v.parse().ok()),
            written: 0,
        }
    }

    /// A part has been written; `counts` once a checkpoint exists. Aborts the process when
    /// the set number is reached.
    pub(super) fn part_written(&mut self, counts: bool) {
        if counts {
            self.written += 1;
        }
        if self.after == Some(self.written) {
            eprintln!(
                "sluice: aborting after {} checkpoint parts ({CRASH_AFTER_PARTS})",
                self.written
            );
            std::process::abort();
        }
    }
}
