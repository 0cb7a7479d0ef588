//! `sluice run windowcount`: word counts per window of the lines' own time, from a file of
//! `<time_ms> word word …` lines, written exactly once per epoch — the windowed job the crash
//! tests kill and resume.

use std::path::PathBuf;

use clap::Args;
use sluice::engine::sources::TextFile;
use sluice::prelude::*;

use super::checkpoint::CheckpointArgs;
use super::cluster::ClusterArgs;

#[derive(Args, Debug)]
pub struct WindowcountArgs {
    /// Lines `<time_ms> word word …`, in ascending time.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Window length in ms of the lines' time.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub window_ms: u64,
    /// Window slide in ms (default: the length: tumbling windows).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub slide_ms: Option<u64>,
    /// Directory of the results: `epoch-<end>-w<worker>.txt` files of `window_end<TAB>word<TAB>count`
    /// lines, one per epoch and worker, each written whole.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Without --checkpoint-dir: the epoch of the output files, in ms of the lines' time.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub epoch_ms: u64,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The time field of a line: its first word, in ms.
fn time_of(line: &str) -> Option<Time> {
    line.split_ascii_whitespace().next()?.parse().ok()
}

pub fn run(args: WindowcountArgs) -> Result<(), Box<dyn std::error::Error>> {
    let file = TextFile::open(&args.input)?.timed_by(time_of);
    let slide = args.slide_ms.unwrap_or(args.window_ms);
    let spec = WindowSpec::sliding(
        std::time::Duration::from_millis(args.window_ms),
        std::time::Duration::from_millis(slide),
    );
    let mut execution = args.cluster.execution();
    let fingerprint = format!(
        "input={} window={} slide={slide}",
        args.input.display(),
        args.window_ms
    );
    if let Some(checkpointing) = args.checkpoint.checkpointing("windowcount", &fingerprint) {
        execution = execution.checkpointing(checkpointing);
    }
    let (output, epoch_ms) = (args.output.clone(), args.epoch_ms);
    execute(execution.clone(), move |worker| {
        worker.dataflow(|scope| {
            scope
                .text_file(&file)
                .flat_map(|line: String| {
                    let words: Vec<String> = line
                        .split_ascii_whitespace()
                        .skip(1)
                        .map(String::from)
                        .collect();
                    words
                })
                .count_by_key_and_window(spec)
                .map(|(end, word, count)| format!("{end}\t{word}\t{count}"))
                .write_epochs(&output, epoch_ms);
        });
    })?;
    let skipped = execution.job().malformed_count();
    if skipped > 0 {
        eprintln!("sluice: {skipped} malformed record(s) skipped");
    }
    Ok(())
}
