//! Windowcount: word counts per window of the lines' own (event) time, from a file of
//! `<time_ms> word word …` lines, written exactly once per epoch — the windowed job the crash
//! tests kill and resume. With a disorder bound, the lines are `<arrival_ms> <event_ms> word …`,
//! read in arrival order.
//!
//! Either way the windows are event-time windows under a watermark `disorder_ms` (0 without
//! it: the lines are meant to be in time order) behind the highest event time seen, with
//! `lateness_ms` of allowed lateness. A line out of order by more than that is late: its words
//! go to the late side output, whose size [`WindowCount::run`] returns. (Counting the lines at
//! the time they were read instead put an out-of-order line silently into the window of the
//! latest time before it.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_engine::sources::TextFile;

/// A windowcount job: what it reads, its windows, and where its results go.
#[derive(Clone, Debug)]
pub struct WindowCount {
    /// The input file (opened, so that a missing file fails before anything else).
    pub input: TextFile,
    /// Window length in ms of the lines' time.
    pub window_ms: Time,
    /// Window slide in ms (the length for tumbling windows).
    pub slide_ms: Time,
    /// Directory of the results: `epoch-<end>-w<worker>.txt` files of
    /// `window_end<TAB>word<TAB>count` lines, one per epoch and worker, each written whole.
    pub output: PathBuf,
    /// `Some(bound)`: lines are `<arrival_ms> <event_ms> word …`, out of event-time order by
    /// at most `bound` ms; `None`: a line's one time is its event time, in order.
    pub disorder_ms: Option<Time>,
    /// The windows' allowed lateness in ms.
    pub lateness_ms: Time,
    /// Without checkpoints: the epoch of the output files, in ms of the lines' time.
    pub epoch_ms: Time,
}

impl WindowCount {
    /// What decides the result besides the input: a checkpoint taken under other settings is
    /// never restored into this job.
    pub fn fingerprint(&self) -> String {
        format!(
            "window={} slide={} disorder={:?} lateness={}",
            self.window_ms, self.slide_ms, self.disorder_ms, self.lateness_ms
        )
    }

    /// Runs the job, writing each epoch's window counts under [`output`](Self::output); returns
    /// how many words were too late for every window (in this process).
    pub fn run(&self, execution: Execution) -> Result<u64> {
        let file = self.input.clone().timed_by(time_of);
        let spec = WindowSpec::sliding(
            Duration::from_millis(self.window_ms),
            Duration::from_millis(self.slide_ms),
        );
        let (output, epoch_ms, lateness) = (self.output.clone(), self.epoch_ms, self.lateness_ms);
        // Without a disorder bound the line's one time is its event time, and it should be in
        // order.
        let (event_field, disorder) = match self.disorder_ms {
            Some(disorder) => (1, disorder),
            None => (0, 0),
        };
        let late = Arc::new(AtomicU64::new(0));
        let late_words = late.clone();
        execute(execution, move |worker| {
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
        Ok(late.load(Ordering::Relaxed))
    }
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
