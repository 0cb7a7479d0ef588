//! The teaching view: the same word count in native mode and in micro-batches, side by side, on
//! a slow input, with a timeline of every arrival and every output. The two dataflows are the
//! jobs crate's ([`wordcount::timed_updates`], [`wordcount::timed_batch_counts`]); this module
//! feeds them and draws the timeline.
//!
//! A small server sends each line (generated a few per second, or typed on stdin) to two jobs at
//! once, stamped with its send time: a native job, which updates a word's count the moment the
//! line arrives, and a micro-batch job, whose counts appear only when the batch the line fell
//! into closes. The timeline makes the discretization visible: native outputs follow their
//! arrivals within a fraction of a millisecond; batch outputs come in steps, each line waiting
//! for the end of its interval. The run ends with both modes' latency.

use std::io::{BufRead, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::{Corpus, CorpusSpec};
use sluice_engine::sources::stamped::stamp;
use sluice_engine::sources::Socket;
use sluice_engine::time::now_nanos;
use sluice_minibatch::StreamingContext;

use crate::stats::Percentiles;
use sluice_jobs::probe::Probe;
use sluice_jobs::wordcount;

/// Where the demo's lines come from.
pub enum DemoInput {
    /// `lines_per_sec` lines of `corpus` for `seconds`.
    Generated {
        /// The corpus the lines are drawn from.
        corpus: CorpusSpec,
        /// Lines sent per second (a few, so that a person can follow the timeline).
        lines_per_sec: f64,
        /// How long lines are sent, in seconds.
        seconds: f64,
    },
    /// Lines read from a reader (stdin) until it ends.
    Typed(Box<dyn BufRead + Send>),
}

/// What the demo measured.
pub struct DemoSummary {
    /// Lines sent to both jobs.
    pub lines: u64,
    /// Native mode's latency, from a line's send time to its output, in ms.
    pub native: Percentiles,
    /// Micro-batch mode's latency, from a line's send time to its output, in ms.
    pub minibatch: Percentiles,
    /// The final counts of each mode, sorted by word (they must agree).
    pub native_counts: Vec<(String, u64)>,
    /// The final counts of micro-batch mode, sorted by word.
    pub minibatch_counts: Vec<(String, u64)>,
}

/// A line of the timeline: when (since the start), who, what.
struct Timeline {
    start_nanos: u64,
    out: mpsc::Sender<String>,
}

impl Timeline {
    fn at(&self, nanos: u64, who: &str, what: impl std::fmt::Display) {
        let since = nanos.saturating_sub(self.start_nanos) as f64 / 1e9;
        let _ = self.out.send(format!("[{since:>7.3} s] {who:<11} {what}"));
    }
    /// A micro-batch output line for the batch ending at `end_ms` (Unix ms).
    fn batch(&self, end_ms: Time, what: String) {
        let now = now_nanos();
        let end = end_ms * 1_000_000;
        let early = if now < end {
            " (the input ended: the last batch closes early)"
        } else {
            ""
        };
        let since = end.saturating_sub(self.start_nanos) as f64 / 1e9;
        self.at(
            now,
            "micro-batch",
            format!("batch ending {since:.3} s: {what}{early}"),
        );
    }
    fn clone_sender(&self) -> Timeline {
        Timeline {
            start_nanos: self.start_nanos,
            out: self.out.clone(),
        }
    }
}

/// Runs the demo with `batch_ms` batches, writing the timeline to `out` as it happens. Setting
/// `stop` ends the input after the line being sent (a typed input, when its next line comes):
/// both jobs then drain and the summary covers what was sent. The native job runs in
/// `jobs.0`, the micro-batch one in `jobs.1` (so that a UI can show each), and each reports
/// its latencies there.
pub fn run(
    input: DemoInput,
    batch_ms: u64,
    jobs: (JobContext, JobContext),
    stop: &Arc<AtomicBool>,
    out: &mut (dyn Write + Send),
) -> std::result::Result<DemoSummary, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let socket = Socket::new(&address)
        .map_err(|e| e.to_string())?
        .end_on_close();
    let (tx, rx) = mpsc::channel::<String>();
    let timeline = Timeline {
        start_nanos: now_nanos(),
        out: tx,
    };
    let (native_probe, batch_probe) = (Probe::new(0), Probe::new(0));
    native_probe.recorder().report_to(&jobs.0, "end-to-end");
    batch_probe.recorder().report_to(&jobs.1, "end-to-end");
    let (native_job, batch_job) = jobs;
    let (native_counts, batch_counts) = (Collector::new(), Collector::new());

    let native =
        {
            let (socket, probe, timeline) = (
                socket.clone(),
                native_probe.clone(),
                timeline.clone_sender(),
            );
            let counts = native_counts.clone();
            std::thread::spawn(move || {
                execute(Execution::default().context(native_job), move |worker| {
                    let (probe, counts) = (probe.clone(), counts.clone());
                    let timeline = timeline.clone_sender();
                    worker.dataflow(|scope| {
                        let lines = scope
                            .socket_text(&socket)
                            .flat_map(probe.parse(&JobContext::of(scope)));
                        let printed =
                            wordcount::timed_updates(lines).inspect(move |(word, count, sent)| {
                                let now = now_nanos();
                                let waited = now.saturating_sub(*sent) as f64 / 1e6;
                                timeline.at(
                            now,
                            "native",
                            format!("{word} = {count}   ({waited:.2} ms after its line was sent)"),
                        );
                            });
                        printed
                            .clone()
                            .map(|(word, count, _)| (word, count))
                            .last_by_key()
                            .collect_into(&counts);
                        probe.native(printed.map(|(_, _, sent)| sent));
                    });
                })
                .map_err(|e| e.to_string())
            })
        };

    let minibatch = {
        let (probe, timeline) = (batch_probe.clone(), timeline.clone_sender());
        let counts = batch_counts.clone();
        std::thread::spawn(move || -> std::result::Result<(), String> {
            let execution = Execution::default().context(batch_job);
            let mut ssc = StreamingContext::new(execution, Duration::from_millis(batch_ms));
            ssc.define(move |graph| {
                let lines = graph.source(&socket).flat_map(probe.parse(graph.job()));
                let batch = wordcount::timed_batch_counts(&lines);
                let timeline_counts = timeline.clone_sender();
                batch.foreach_rdd(move |rdd| {
                    let mut counts: Vec<_> = rdd.iter().cloned().collect();
                    counts.sort();
                    if !counts.is_empty() {
                        let shown: Vec<String> =
                            counts.iter().map(|(w, c)| format!("{w} +{c}")).collect();
                        timeline_counts.batch(rdd.time(), shown.join(", "));
                    }
                });
                let timeline_waits = timeline.clone_sender();
                lines.foreach_rdd(move |rdd| {
                    let now = now_nanos();
                    let waits: Vec<String> = rdd
                        .iter()
                        .map(|(sent, _)| format!("{:.0}", now.saturating_sub(*sent) as f64 / 1e6))
                        .collect();
                    if !waits.is_empty() {
                        let what =
                            format!("its {} line(s) waited {} ms", waits.len(), waits.join(", "));
                        timeline_waits.batch(rdd.time(), what);
                    }
                });
                batch
                    .tagged()
                    .clone()
                    .map(|(_, wc)| wc)
                    .reduce_by_key(|a, b| a + b)
                    .last_by_key()
                    .gather()
                    .collect_into(&counts);
                probe.minibatch(&lines.map(|(sent, _)| (sent, 1)), &batch.map(|(_, c)| c));
            })
            .map_err(|e| e.to_string())?;
            ssc.start().map_err(|e| e.to_string())?;
            ssc.await_termination().map_err(|e| e.to_string())
        })
    };

    // Both jobs connect; then the lines go to both, stamped with their send time.
    let connections: Vec<TcpStream> = (0..2)
        .map(|_| listener.accept().map(|(s, _)| s))
        .collect::<std::io::Result<_>>()
        .map_err(|e| format!("the demo's jobs did not connect: {e}"))?;
    let sender = {
        let (timeline, stop) = (timeline.clone_sender(), stop.clone());
        std::thread::spawn(move || send_lines(input, connections, &timeline, &stop))
    };
    drop(timeline);
    for line in rx {
        let _ = writeln!(out, "{line}");
    }
    let lines = sender.join().map_err(|_| "the demo's sender failed")??;
    native.join().map_err(|_| "the native job panicked")??;
    minibatch
        .join()
        .map_err(|_| "the micro-batch job panicked")??;
    let sorted = |c: &Collector<(String, u64)>| {
        let mut v = c.take();
        v.sort();
        v
    };
    let percentiles = |p: &Probe| -> Percentiles {
        let h: Histogram<u64> = p.recorder().snapshot();
        Percentiles::of(&h)
    };
    Ok(DemoSummary {
        lines,
        native: percentiles(&native_probe),
        minibatch: percentiles(&batch_probe),
        native_counts: sorted(&native_counts),
        minibatch_counts: sorted(&batch_counts),
    })
}

/// Sends the input to every connection; returns how many lines were sent.
fn send_lines(
    input: DemoInput,
    mut connections: Vec<TcpStream>,
    timeline: &Timeline,
    stop: &AtomicBool,
) -> std::result::Result<u64, String> {
    let stopped = || stop.load(Ordering::Relaxed);
    let mut send = |line: &str| -> std::result::Result<(), String> {
        let sent = now_nanos();
        timeline.at(sent, "arrives", format!("\"{line}\""));
        let wire = stamp(sent, line) + "\n";
        for c in &mut connections {
            c.write_all(wire.as_bytes()).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let mut lines = 0;
    match input {
        DemoInput::Generated {
            corpus,
            lines_per_sec,
            seconds,
        } => {
            let corpus = Corpus::new(corpus);
            let start = Instant::now();
            let total = (lines_per_sec * seconds).round() as u64;
            for i in 0..total {
                let due = Duration::from_secs_f64(i as f64 / lines_per_sec);
                // Wait in short steps, so that a stop does not wait out a slow rate.
                while !stopped() && start.elapsed() < due {
                    std::thread::sleep(
                        due.saturating_sub(start.elapsed())
                            .min(Duration::from_millis(50)),
                    );
                }
                if stopped() {
                    break;
                }
                send(&corpus.line(i))?;
                lines += 1;
            }
        }
        DemoInput::Typed(reader) => {
            for line in reader.lines() {
                if stopped() {
                    break;
                }
                let line = line.map_err(|e| format!("reading stdin: {e}"))?;
                send(&line)?;
                lines += 1;
            }
        }
    }
    Ok(lines) // dropping the connections ends both jobs' input
}
