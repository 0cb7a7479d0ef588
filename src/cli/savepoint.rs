//! `sluice savepoint create`: asks a running job for a savepoint and waits until it is there.
//!
//! The job takes it (see `sluice_engine::checkpoint::savepoint`); this command only asks —
//! with SIGUSR1, or SIGUSR2 to stop the job with it — and watches the job's checkpoint
//! directory for the new `savepoints/savepoint-E`, whose path it prints: what
//! `--from-savepoint` takes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Subcommand;
use sluice::engine::checkpoint::CheckpointDir;
use sluice::engine::Error;

use super::flags;
use super::out::outln;

/// Savepoint commands.
#[derive(Subcommand, Debug)]
pub enum SavepointCommand {
    /// Ask the running job PID for a savepoint and print its path once it is written.
    Create {
        /// The job's process id (process 0's, for a job of several processes).
        #[arg(long, value_parser = clap::value_parser!(i32).range(2..))]
        pid: i32,
        /// The job's --checkpoint-dir, where the savepoint appears under savepoints/.
        #[arg(long, value_name = "DIR")]
        checkpoint_dir: PathBuf,
        /// Stop the job gracefully, with a savepoint of its last checkpoint (which covers
        /// everything it read); without it the job goes on.
        #[arg(long)]
        stop: bool,
        /// How long to wait for the savepoint, in seconds.
        #[arg(long, default_value_t = 120, value_parser = flags::int(1, 86_400))]
        timeout_secs: u64,
    },
}

pub fn savepoint(command: SavepointCommand) -> Result<(), Box<dyn std::error::Error>> {
    let SavepointCommand::Create {
        pid,
        checkpoint_dir,
        stop,
        timeout_secs,
    } = command;
    if !checkpoint_dir.is_dir() {
        return Err(format!(
            "--checkpoint-dir {}: no such directory",
            checkpoint_dir.display()
        )
        .into());
    }
    let store =
        CheckpointDir::open(&checkpoint_dir).map_err(|e| Error::Checkpoint(e.to_string()))?;
    let savepoints = || -> Result<BTreeSet<PathBuf>, Error> {
        let found = store
            .savepoint_dirs()
            .map_err(|e| Error::Checkpoint(e.to_string()))?;
        Ok(found.into_iter().map(|(_, path)| path).collect())
    };
    let before = savepoints()?;
    let signal = if stop { libc::SIGUSR2 } else { libc::SIGUSR1 };
    // SAFETY: kill(2) with a checked positive pid only sends a signal.
    if unsafe { libc::kill(pid, signal) } != 0 {
        let reason = std::io::Error::last_os_error();
        return Err(format!("--pid {pid}: cannot signal it ({reason})").into());
    }
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    loop {
        if let Some(new) = savepoints()?.difference(&before).next() {
            outln!("{}", new.display());
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no savepoint appeared in {} within {timeout_secs} s: is {pid} the job's \
                 process 0, checkpointing into {}?",
                store.savepoints().display(),
                checkpoint_dir.display()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
