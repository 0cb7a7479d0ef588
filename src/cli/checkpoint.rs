//! `sluice checkpoint inspect DIR`: what a checkpoint directory holds, and whether it is whole.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sluice::engine::checkpoint::{CheckpointDir, Checkpointing};
use sluice::engine::Error;

/// The checkpoint flags of a job.
#[derive(Args, Debug, Clone)]
pub struct CheckpointArgs {
    /// Checkpoint the job's state into DIR and resume from the newest valid checkpoint there:
    /// after a crash, the same command continues where the checkpoint was taken, and the
    /// outputs are those of a run without the crash.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// With --checkpoint-dir: take a checkpoint every MS of stream time.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
    /// With --checkpoint-dir: start afresh even if DIR holds another program's checkpoint.
    #[arg(long)]
    pub discard_checkpoint: bool,
}

impl CheckpointArgs {
    /// The checkpoint settings for `program`, whose result is decided by `fingerprint` (its
    /// input and options), if checkpoints were asked for.
    pub fn checkpointing(&self, program: &str, fingerprint: &str) -> Option<Checkpointing> {
        let dir = self.checkpoint_dir.as_ref()?;
        Some(
            Checkpointing::new(dir, self.checkpoint_every)
                .program(program, fingerprint)
                .discard_existing(self.discard_checkpoint),
        )
    }
}

/// Checkpoint directory commands.
#[derive(Subcommand, Debug)]
pub enum CheckpointCommand {
    /// List the committed epochs: size, parts, operators, and whether every file checks out.
    Inspect {
        /// The checkpoint directory (as given to --checkpoint-dir).
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn checkpoint(command: CheckpointCommand) -> Result<(), Box<dyn std::error::Error>> {
    let CheckpointCommand::Inspect { dir, json } = command;
    if !dir.is_dir() {
        return Err(Error::Read {
            path: dir,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        }
        .into());
    }
    let store = CheckpointDir::open(&dir).map_err(|e| Error::Checkpoint(e.to_string()))?;
    let reports = store
        .inspect()
        .map_err(|e| Error::Checkpoint(e.to_string()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    if reports.is_empty() {
        println!("{}: no committed checkpoint", dir.display());
        return Ok(());
    }
    println!(
        "{:>14}  {:>6}  {:>10}  {:>5}  status",
        "epoch", "latest", "bytes", "parts"
    );
    for r in &reports {
        let status = r.problem.as_deref().unwrap_or("ok");
        let latest = if r.latest { "*" } else { "" };
        println!(
            "{:>14}  {:>6}  {:>10}  {:>5}  {status}",
            r.epoch, latest, r.bytes, r.parts
        );
    }
    if let Some(newest) = reports.iter().rev().find(|r| r.problem.is_none()) {
        println!("operators: {}", newest.operators.join(", "));
    }
    Ok(())
}
