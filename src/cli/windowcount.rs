//! `sluice run windowcount`: word counts per window of the lines' own (event) time, from a file
//! of `<time_ms> word word …` lines, written exactly once per epoch — the windowed job the
//! crash tests kill and resume. With `--disorder-ms`, the lines are
//! `<arrival_ms> <event_ms> word word …`, read in arrival order.
//!
//! Either way the windows are event-time windows under a watermark `--disorder-ms` (0 without
//! it: the lines are meant to be in time order) behind the highest event time seen, with
//! `--lateness-ms` of allowed lateness. A line out of order by more than that is late: its words
//! go to the late side output, whose size is reported on stderr. (Counting the lines at the
//! time they were read instead put an out-of-order line silently into the window of the
//! latest time before it.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use clap::Args;
use sluice::engine::checkpoint::Input;
use sluice::engine::sources::TextFile;
use sluice::prelude::*;

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

/// The time field of a line: its first word, in ms (the order it is read in).
fn time_of(line: &str) -> Option<Time> {
    time_field(line, 0)
}

/// The line's word `n` as a time in ms.
fn time_field(line: &str, n: usize) -> Option<Time> {
    line.split_ascii_whitespace().nth(n)?.parse().ok()
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
    let lateness = args.lateness_ms;
    // Without --disorder-ms the line's one time is its event time, and it should be in order.
    let (event_field, disorder) = match args.disorder_ms {
        Some(disorder) => (1, disorder),
        None => (0, 0),
    };
    let late = Arc::new(AtomicU64::new(0));
    let late_words = late.clone();
    execute(execution.clone(), move |worker| {
        let job = worker.job();
        let late = late_words.clone();
        worker.dataflow(|scope| {
            let watermarks = Watermarks::bounded_out_of_orderness(disorder);
            let (counts, too_late) = scope
                .text_file(&file)
                .flat_map(move |line: String| {
                    let event = time_field(&line, event_field);
                    if event.is_none() {
                        job.malformed(|| format!("no event time in {line:?}"));
                    }
                    event.map(|at| (at, words(&line, event_field + 1).collect::<Vec<_>>()))
                })
                .with_event_time(|(at, _)| *at, watermarks)
                .flat_map(|(at, words)| words.into_iter().map(move |w| (w, at)))
                .count_by_event_window(spec, lateness);
            too_late.for_each(move |_| {
                late.fetch_add(1, Ordering::Relaxed);
            });
            counts
                .map(|w| format!("{}\t{}\t{}", w.end, w.key, w.count))
                .write_epochs(&output, epoch_ms);
        });
    })?;
    let skipped = execution.job().malformed_count();
    if skipped > 0 {
        eprintln!("sluice: {skipped} malformed record(s) skipped");
    }
    let late = late.load(Ordering::Relaxed);
    if late > 0 {
        eprintln!(
            "sluice: {late} late word(s) dropped (from lines later than the watermark by more \
             than the allowed lateness; see --disorder-ms and --lateness-ms)"
        );
    }
    Ok(())
}
