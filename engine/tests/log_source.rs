//! The event log as a source and a sink, against plain loops over what was appended: every
//! record once on 1 and 2 workers, windows over log time, start/end offsets, a job following
//! a growing log, and a checkpointed log-to-log job stopped part-way and resumed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sluice_engine::checkpoint::Checkpointing;
use sluice_engine::log::{EventLog, Fsync, LogConfig, LogReader};
use sluice_engine::prelude::*;
use sluice_engine::sources::LogSource;

fn config() -> LogConfig {
    LogConfig::default()
        .fsync(Fsync::Never)
        .segment_bytes(64 << 10)
}

/// A log of `n` records `"<i> k<i mod 7>"` at time `i / 10` ms.
fn fill(dir: &Path, n: u64) {
    let mut log = EventLog::open_with(dir, config()).unwrap();
    log.append_all((0..n).map(|i| (i / 10, format!("{i} k{}", i % 7))))
        .unwrap();
}

fn lines_of(source: &LogSource, workers: usize) -> Vec<String> {
    let out = Collector::new();
    let sink = out.clone();
    let source = source.clone();
    execute(Execution::default().workers(workers), move |worker| {
        worker.dataflow(|scope| scope.event_log(&source).collect_into(&sink));
    })
    .unwrap();
    let mut lines = out.take();
    lines.sort_by_key(|line| line.split(' ').next().unwrap().parse::<u64>().unwrap());
    lines
}

fn expected(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| format!("{i} k{}", i % 7)).collect()
}

#[test]
fn every_record_once_from_any_start_to_any_end_on_one_and_two_workers() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 20_000);
    let log = LogSource::open(dir.path()).unwrap();
    for workers in [1, 2] {
        assert_eq!(lines_of(&log, workers), expected(0..20_000));
        assert_eq!(
            lines_of(&log.clone().from_offset(1234).until(5678), workers),
            expected(1234..5678)
        );
        // Time 500 ms: record 5000 is the first at or after it.
        assert_eq!(
            lines_of(&log.clone().from_time(500), workers),
            expected(5000..20_000)
        );
        assert_eq!(
            lines_of(&log.clone().arrival_time(), workers),
            expected(0..20_000)
        );
    }
}

#[test]
fn windows_over_log_time_equal_a_plain_loop() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 20_000);
    let log = LogSource::open(dir.path()).unwrap();
    let mut reference: BTreeMap<(Time, String), u64> = BTreeMap::new();
    for i in 0..20_000u64 {
        let end = (i / 10 / 100 + 1) * 100;
        *reference.entry((end, format!("k{}", i % 7))).or_default() += 1;
    }
    for workers in [1, 2] {
        let out = Collector::new();
        let (sink, log) = (out.clone(), log.clone());
        execute(Execution::default().workers(workers), move |worker| {
            worker.dataflow(|scope| {
                scope
                    .event_log(&log)
                    .map(|line: String| line.split(' ').nth(1).unwrap().to_string())
                    .count_by_key_and_window(WindowSpec::tumbling(Duration::from_millis(100)))
                    .collect_into(&sink);
            });
        })
        .unwrap();
        let got: BTreeMap<(Time, String), u64> = out
            .take()
            .into_iter()
            .map(|(end, key, n)| ((end, key), n))
            .collect();
        assert_eq!(got, reference, "{workers} workers");
    }
}

/// A job following the log sees what a writer appends while it runs, then stops.
#[test]
fn a_following_job_sees_records_appended_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 100);
    let source = LogSource::open(dir.path()).unwrap().follow();
    let out = Collector::new();
    let sink = out.clone();
    let execution = Execution::default().workers(2);
    let job = execution.job().clone();
    let running = std::thread::spawn(move || {
        execute(execution, move |worker| {
            worker.dataflow(|scope| scope.event_log(&source).collect_into(&sink));
        })
    });
    let path = dir.path().to_path_buf();
    let mut log = EventLog::open_with(&path, config()).unwrap();
    for i in 100..3_000u64 {
        log.append(i / 10, format!("{i} k{}", i % 7).as_bytes())
            .unwrap();
        if i % 300 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while out.len() < 3_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    job.stop();
    running.join().unwrap().unwrap();
    let mut lines = out.take();
    lines.sort_by_key(|line| line.split(' ').next().unwrap().parse::<u64>().unwrap());
    assert_eq!(lines, expected(0..3_000));
}

/// Reads a log back as its lines.
fn read_log(dir: &Path) -> Vec<String> {
    let mut reader = LogReader::open(dir).unwrap();
    std::iter::from_fn(|| reader.read().unwrap())
        .map(|r| r.text().unwrap().to_string())
        .collect()
}

/// A checkpointed job from one log to another crashes part-way (a panic) and is run again: the
/// second run resumes at the source offsets of the checkpoint, and the sink skips what the
/// first run appended after it, so the output log holds every record exactly once.
#[test]
fn a_log_to_log_job_crashed_part_way_appends_every_record_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (input, n) = (dir.path().join("in"), 50_000u64);
    fill(&input, n);
    for (k, stop_at) in [500u64, 9_000, 17_000, 30_000, 45_000]
        .into_iter()
        .enumerate()
    {
        let (output, checkpoints) = (
            dir.path().join(format!("out-{k}")),
            dir.path().join(format!("cp-{k}")),
        );
        let run = |stop_at: Option<u64>| {
            let source = LogSource::open(&input).unwrap();
            let output = output.clone();
            let execution = Execution::default()
                .workers(2)
                .checkpointing(Checkpointing::new(&checkpoints, 50).program("log-to-log", "v1"));
            execute(execution, move |worker| {
                worker.dataflow(|scope| {
                    let mut seen = 0;
                    scope
                        .event_log(&source)
                        .map(move |line: String| {
                            seen += 1;
                            if stop_at.is_some_and(|at| seen == at / 2) {
                                panic!("crash");
                            }
                            line.to_uppercase()
                        })
                        .append_to_log(&output, config(), 50);
                });
            })
        };
        assert!(run(Some(stop_at)).is_err(), "the first run did not crash");
        let first = read_log(&output).len() as u64;
        assert!(first < n, "the first run appended everything ({first})");
        run(None).unwrap();
        let mut lines = read_log(&output);
        assert_eq!(
            lines.len() as u64,
            n,
            "stopped at {stop_at}: {first} after the first run"
        );
        lines.sort_by_key(|line| line.split(' ').next().unwrap().parse::<u64>().unwrap());
        let upper: Vec<String> = expected(0..n).iter().map(|l| l.to_uppercase()).collect();
        assert_eq!(lines, upper);
    }
}

#[test]
fn a_directory_that_is_not_a_log_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let error = LogSource::open(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains(&dir.path().display().to_string()) && error.contains("not an event log"),
        "{error}"
    );
}
