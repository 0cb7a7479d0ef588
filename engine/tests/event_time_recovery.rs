//! Event-time operators resume from checkpoints: a job following an event log as it is
//! appended — records out of event-time order, re-stamped by `with_event_time`, into session
//! windows, count windows, top-k of tumbling windows, a temporal table join and an interval join, each written
//! exactly once per epoch —
//! is aborted part-way (Spark's non-graceful stop: the drain writes nothing) and run again with
//! the same checkpoint directory. What the two runs wrote together, and the stamps
//! `with_event_time` gave, equal what one failure-free run gives, on 1 and 2 workers, aborted
//! at several points.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_engine::checkpoint::Checkpointing;
use sluice_engine::log::{EventLog, Fsync, LogConfig};
use sluice_engine::prelude::*;
use sluice_engine::sinks::read_epochs;
use sluice_engine::sources::corpus::SplitMix64;
use sluice_engine::sources::LogSource;

const EVENTS: u64 = 6_000;
const DISORDER: Time = 40;

/// `key event_ms` lines at their arrival times, in arrival order: event `i` happens at `i / 4`
/// ms (with gaps every 500 events, so sessions close) and arrives up to `DISORDER` ms later.
fn events() -> Vec<(Time, String)> {
    let mut events: Vec<(Time, String)> = (0..EVENTS)
        .map(|i| {
            let event = i / 4 + (i / 500) * 100;
            let delay = SplitMix64::at(3, i).next_u64() % DISORDER;
            (event + delay, format!("k{} {event}", i % 7))
        })
        .collect();
    events.sort();
    events
}

/// A new event log at `path` to which a thread appends the events, 100 every 10 ms, so that a
/// job following it moves through time (and checkpoints) as they come — slowly enough (0.6 s
/// in all) that a checkpoint is committed while they still come, on a loaded machine too.
fn appended_log(path: &Path) -> std::thread::JoinHandle<()> {
    let mut log = EventLog::open_with(path, LogConfig::default().fsync(Fsync::Never)).unwrap();
    std::thread::spawn(move || {
        for chunk in events().chunks(100) {
            log.append_all(chunk.iter().cloned()).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
    })
}

fn parse(line: &str) -> (String, Time) {
    let (key, time) = line.split_once(' ').unwrap();
    (key.to_string(), time.parse().unwrap())
}

/// Runs the job into `out`; with `abort_after`, the job aborts at the first record read after
/// that many once a checkpoint has been committed (so that there is one to resume from however
/// the machine's load spaces reads and checkpoints); returns whether it aborted.
fn run(
    log: &Path,
    checkpoints: &Path,
    out: &Path,
    workers: usize,
    abort_after: Option<u64>,
) -> bool {
    run_with(log, checkpoints, out, (workers, true), abort_after)
}

/// [`run`], with the temporal table join only if `table_join` (its state, a copy of the
/// table on each worker, is refused on a change of workers).
fn run_with(
    log: &Path,
    checkpoints: &Path,
    out: &Path,
    (workers, table_join): (usize, bool),
    abort_after: Option<u64>,
) -> bool {
    let aborted = Arc::new(AtomicU64::new(0));
    let latest = checkpoints.join("LATEST");
    let execution = Execution::default()
        .workers(workers)
        .checkpointing(Checkpointing::new(checkpoints, 50).program("event-time-recovery", "v1"));
    let read = Arc::new(AtomicU64::new(0));
    let source = LogSource::open(log).unwrap().follow().until(EVENTS);
    let out = out.to_path_buf();
    let aborts = aborted.clone();
    execute(execution, move |worker| {
        let (job, read) = (worker.job(), read.clone());
        let (aborted, latest) = (aborts.clone(), latest.clone());
        worker.dataflow(|scope| {
            let events = scope
                .event_log(&source)
                .inspect(move |_| {
                    let n = read.fetch_add(1, Ordering::SeqCst) + 1;
                    if abort_after.is_some_and(|after| n >= after)
                        && latest.exists()
                        && aborted.fetch_add(1, Ordering::SeqCst) == 0
                    {
                        job.abort();
                    }
                })
                .map(|line: String| parse(&line))
                .with_event_time(|(_, t)| *t, Watermarks::bounded_out_of_orderness(DISORDER));
            // What `with_event_time` forwards, with its stamps: the same after a restore.
            events
                .clone()
                .with_processing_time()
                .map(|(stamp, (key, t))| format!("stamp {stamp} {key} {t}"))
                .write_epochs(out.join("stamps"), 20);
            let (sessions, _) = events.clone().count_by_session(30, 0);
            sessions
                .map(|s| format!("session {} {} {} {}", s.key, s.start, s.end, s.count))
                .write_epochs(out.join("sessions"), 20);
            let (counted, _) = events
                .clone()
                .map(|(key, t)| (key, t, t))
                .window_by_count(5, 3);
            counted
                .map(|w| format!("count {} {} {:?}", w.key, w.end, w.value))
                .write_epochs(out.join("counts"), 20);
            // A temporal table join: each event with the time of k0's latest event by then.
            if table_join {
                let table = events
                    .clone()
                    .filter(|(key, _)| key == "k0")
                    .map(|(_, t)| ("latest k0".to_string(), Some(t)));
                events
                    .clone()
                    .left_join_table(
                        table,
                        |_| "latest k0".to_string(),
                        |(key, t), latest| format!("join {key} {t} {latest:?}"),
                    )
                    .write_epochs(out.join("joins"), 20);
            }
            // An outer interval join: each event with the k0 events of its time's parity from
            // 3 ms before it to 2 ms after it, or alone.
            let k0 = events
                .clone()
                .filter(|(key, _)| key == "k0")
                .map(|(_, t)| (t % 2, t, t));
            events
                .clone()
                .map(|(key, t)| (t % 2, t, key))
                .interval_join(k0, -3, 2, true, |_, key, k0| {
                    key.clone() + &format!(" {k0:?}")
                })
                .with_processing_time()
                .map(|(stamp, joined)| format!("interval {stamp} {joined}"))
                .write_epochs(out.join("intervals"), 20);
            let (windows, _) =
                events.count_by_event_window(WindowSpec::tumbling(Duration::from_millis(50)), 0);
            windows
                .top_k_per_window(2, 0)
                .map(|w| format!("top {} {:?}", w.end, w.value))
                .write_epochs(out.join("top"), 20);
        });
    })
    .unwrap();
    aborted.load(Ordering::SeqCst) > 0
}

/// Every line written under `out`, sorted.
fn written(out: &Path) -> Vec<String> {
    written_of(
        out,
        &["sessions", "counts", "top", "stamps", "joins", "intervals"],
    )
}

/// The lines written under `out` by the outputs `kinds`, sorted.
fn written_of(out: &Path, kinds: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = kinds
        .iter()
        .flat_map(|kind| read_epochs(&out.join(kind)).unwrap())
        .collect();
    lines.sort();
    lines
}

#[test]
fn aborted_event_time_windows_resume_to_the_failure_free_result() {
    let dir = tempfile::tempdir().unwrap();
    for workers in [1, 2] {
        let clean = dir.path().join(format!("clean-{workers}"));
        let appender = appended_log(&clean.join("log"));
        run(
            &clean.join("log"),
            &clean.join("cp"),
            &clean.join("out"),
            workers,
            None,
        );
        appender.join().unwrap();
        let expected = written(&clean.join("out"));
        assert!(expected.iter().any(|l| l.starts_with("session")));
        assert!(expected.iter().any(|l| l.starts_with("count")));
        assert!(expected.iter().any(|l| l.starts_with("top")));
        assert!(expected
            .iter()
            .any(|l| l.starts_with("join") && l.contains("Some")));
        for partner in ["Some", "None"] {
            assert!(expected
                .iter()
                .any(|l| l.starts_with("interval") && l.contains(partner)));
        }
        for abort_after in [2_000, 3_500, 5_000] {
            let base = dir.path().join(format!("run-{workers}-{abort_after}"));
            let (log, checkpoints, out) = (base.join("log"), base.join("cp"), base.join("out"));
            let appender = appended_log(&log);
            let aborted = run(&log, &checkpoints, &out, workers, Some(abort_after));
            appender.join().unwrap();
            assert!(
                aborted && checkpoints.join("LATEST").exists(),
                "{workers} workers, abort after {abort_after}: no abort after a checkpoint"
            );
            run(&log, &checkpoints, &out, workers, None);
            let got = written(&out);
            assert!(
                got == expected,
                "{workers} workers, abort after {abort_after}: {} lines, expected {}; first difference {:?}",
                got.len(),
                expected.len(),
                got.iter().zip(&expected).find(|(g, e)| g != e)
            );
        }
    }
}

/// The same operators but the table join, aborted part-way and resumed on another number of
/// workers (2 → 1 and 1 → 2): sessions, count windows, top-k, the interval join and
/// `with_event_time` are divided among the new workers (see `checkpoint::rescale`), and what
/// the two runs wrote together equals a failure-free run's. (No event is late, whatever the
/// workers: each arrives within the watermark's bound, so a failure-free run writes the same on
/// 1 and 2 workers.)
#[test]
fn aborted_event_time_windows_resume_on_another_number_of_workers() {
    let kinds = ["sessions", "counts", "top", "stamps", "intervals"];
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    let appender = appended_log(&clean.join("log"));
    let (log, cp, out) = (clean.join("log"), clean.join("cp"), clean.join("out"));
    run_with(&log, &cp, &out, (2, false), None);
    appender.join().unwrap();
    let expected = written_of(&out, &kinds);
    assert!(expected.iter().any(|l| l.starts_with("top")));
    assert!(expected.iter().any(|l| l.starts_with("interval")));
    for (before, after, abort_after) in [(2, 1, 2_500), (1, 2, 3_500), (2, 1, 4_500)] {
        let base = dir
            .path()
            .join(format!("run-{before}-{after}-{abort_after}"));
        let (log, checkpoints, out) = (base.join("log"), base.join("cp"), base.join("out"));
        let appender = appended_log(&log);
        let aborted = run_with(&log, &checkpoints, &out, (before, false), Some(abort_after));
        appender.join().unwrap();
        assert!(
            aborted && checkpoints.join("LATEST").exists(),
            "{before} workers, abort after {abort_after}: no abort after a checkpoint"
        );
        run_with(&log, &checkpoints, &out, (after, false), None);
        let got = written_of(&out, &kinds);
        assert!(
            got == expected,
            "{before} → {after} workers, abort after {abort_after}: {} lines, expected {}; first difference {:?}",
            got.len(),
            expected.len(),
            got.iter().zip(&expected).find(|(g, e)| g != e)
        );
    }
}
