//! `sluice run windowcount`: word counts per window of the lines' own (event) time, written
//! exactly once per epoch (the job itself is [`sluice::jobs::windowcount`]).

use std::path::PathBuf;

use clap::Args;
use sluice::engine::checkpoint::Input;
use sluice::engine::sources::TextFile;
use sluice::jobs::windowcount::WindowCount;

use super::checkpoint::CheckpointArgs;
use super::cluster::ClusterArgs;
use super::flags;

#[derive(Args, Debug)]
pub struct WindowcountArgs {
    /// Lines `<time_ms> word word …`, in ascending time (a line earlier than the watermark by
    /// more than --lateness-ms is late: dropped, and counted on stderr).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Window length in ms of the lines' time.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = flags::interval_ms())]
    pub window_ms: u64,
    /// Window slide in ms (default: the length: tumbling windows).
    #[arg(long, value_name = "MS", value_parser = flags::interval_ms())]
    pub slide_ms: Option<u64>,
    /// Directory of the results: `epoch-<end>-w<worker>.txt` files of `window_end<TAB>word<TAB>count`
    /// lines, one per epoch and worker, each written whole.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Event time: lines are `<arrival_ms> <event_ms> word …`, out of event-time order by at
    /// most this many ms (the watermark's bound); windows are of event time.
    #[arg(long, value_name = "MS", value_parser = flags::ms_or_zero())]
    pub disorder_ms: Option<u64>,
    /// The windows' allowed lateness in ms: a line this much behind the watermark still
    /// updates its windows.
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = flags::ms_or_zero())]
    pub lateness_ms: u64,
    /// Without --checkpoint-dir: the epoch of the output files, in ms of the lines' time.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = flags::interval_ms())]
    pub epoch_ms: u64,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub fn run(args: WindowcountArgs) -> Result<(), Box<dyn std::error::Error>> {
    let job = WindowCount {
        input: TextFile::open(&args.input)?,
        window_ms: args.window_ms,
        slide_ms: args.slide_ms.unwrap_or(args.window_ms),
        output: args.output.clone(),
        disorder_ms: args.disorder_ms,
        lateness_ms: args.lateness_ms,
        epoch_ms: args.epoch_ms,
    };
    let mut execution = args.cluster.execution();
    if let Some(checkpointing) =
        args.checkpoint
            .checkpointing("windowcount", &job.fingerprint(), Input::file(&args.input)?)
    {
        execution = execution.checkpointing(checkpointing);
    }
    let late = job.run(execution.clone())?;
    let skipped = execution.job().malformed_count();
    if skipped > 0 {
        eprintln!("sluice: {skipped} malformed record(s) skipped");
    }
    if late > 0 {
        eprintln!(
            "sluice: {late} late word(s) dropped (from lines later than the watermark by more \
             than the allowed lateness; see --disorder-ms and --lateness-ms)"
        );
    }
    Ok(())
}
