//! `sluice checkpoint inspect DIR`: what a checkpoint directory holds, and whether it is whole.

use std::path::PathBuf;

use clap::Subcommand;
use sluice::engine::checkpoint::CheckpointDir;
use sluice::engine::Error;

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
