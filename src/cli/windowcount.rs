//! `sluice run windowcount`: word counts per window of the lines' own time, from a file of
//! `<time_ms> word word …` lines, written exactly once per epoch — the windowed job the crash
//! tests kill and resume. With `--disorder-ms`, in event time: the lines are
//! `<arrival_ms> <event_ms> word word …`, read in arrival order, and counted in event-time
//! windows under a watermark `--disorder-ms` behind the highest event time seen.

use std::path::PathBuf;

use clap::Args;
use sluice::engine::checkpoint::Input;
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
    /// Event time: lines are `<arrival_ms> <event_ms> word …`, out of event-time order by at
    /// most this many ms (the watermark's bound); windows are of event time.
    #[arg(long, value_name = "MS")]
    pub disorder_ms: Option<u64>,
    /// With --disorder-ms: the windows' allowed lateness in ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub lateness_ms: u64,
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

/// The event time of an event-time line: its second word, in ms.
fn event_time_of(line: &str) -> Option<Time> {
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The words of a line after its `skip` time fields.
fn words(line: &str, skip: usize) -> impl Iterator<Item = String> + '_ {
    line.split_ascii_whitespace().skip(skip).map(String::from)
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
        "window={} slide={slide} disorder={:?} lateness={}",
        args.window_ms, args.disorder_ms, args.lateness_ms
    );
    if let Some(checkpointing) =
        args.checkpoint
            .checkpointing("windowcount", &fingerprint, Input::file(&args.input)?)
    {
        execution = execution.checkpointing(checkpointing);
    }
    let (output, epoch_ms) = (args.output.clone(), args.epoch_ms);
    let (disorder, lateness) = (args.disorder_ms, args.lateness_ms);
    execute(execution.clone(), move |worker| {
        let job = worker.job();
        worker.dataflow(|scope| {
            let lines = scope.text_file(&file);
            let results = match disorder {
                None => lines
                    .flat_map(|line: String| words(&line, 1).collect::<Vec<_>>())
                    .count_by_key_and_window(spec)
                    .map(|(end, word, count)| format!("{end}\t{word}\t{count}")),
                Some(disorder) => {
                    let watermarks = Watermarks::bounded_out_of_orderness(disorder);
                    let (counts, _late) = lines
                        .flat_map(move |line: String| {
                            let event = event_time_of(&line);
                            if event.is_none() {
                                job.malformed(|| format!("no event time in {line:?}"));
                            }
                            event.map(|at| (at, words(&line, 2).collect::<Vec<_>>()))
                        })
                        .with_event_time(|(at, _)| *at, watermarks)
                        .flat_map(|(at, words)| words.into_iter().map(move |w| (w, at)))
                        .count_by_event_window(spec, lateness);
                    counts.map(|w| format!("{}\t{}\t{}", w.end, w.key, w.count))
                }
            };
            results.write_epochs(&output, epoch_ms);
        });
    })?;
    let skipped = execution.job().malformed_count();
    if skipped > 0 {
        eprintln!("sluice: {skipped} malformed record(s) skipped");
    }
    Ok(())
}
