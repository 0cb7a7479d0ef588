//! Overload: a job fed twice what it can process, through the binary. A slow operator
//! (`--slow-line-us 50`: 20k lines/s) is offered 40k lines/s over TCP.
//!
//! - Micro-batch without rate control: every batch waits for the one before it, and the
//!   scheduling delay grows for as long as the overload lasts.
//! - Micro-batch with `--backpressure` (Spark's PID rate control): the sources admit what the
//!   job processes, the rest waits in the socket, and the delay stays within a few intervals.
//! - Native: the source holds back (the socket pushes back on the sender), memory stays flat,
//!   and the metrics put the pressure at the source and the busy time at the slow operator.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{sluice, Running};
use sluice::bench::overload::rss_mib;
use sluice::engine::metrics::{BatchInfo, Snapshot};

const OFFERED: &str = "40000";
const SECONDS: &str = "6";
const INTERVAL_MS: u64 = 500;

/// One overloaded job at a time: they measure what two cores do.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs word count with `mode` on the overload; its final metrics and its memory each second.
fn overloaded(mode: &[&str], dir: &Path) -> (Snapshot, Vec<f64>) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut loadgen = sluice()
        .args([
            "loadgen",
            "--port",
            "0",
            "--rate",
            OFFERED,
            "--seconds",
            SECONDS,
        ])
        // Few distinct words and no stamps (each would be a word of its own), so that the
        // counts' state is full early: what memory does after that is the job's buffering.
        .args(["--vocab", "1000", "--plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listening = BufReader::new(loadgen.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let server = listening.strip_prefix("listening ").unwrap().to_string();
    let _loadgen = Running(loadgen);
    let out = dir.join(format!("metrics-{}.json", mode.join("")));
    let mut job = Running(
        sluice()
            .args([
                "run",
                "wordcount",
                "--socket",
                &server,
                "--slow-line-us",
                "50",
            ])
            .args([
                "--status-every-ms",
                "0",
                "--metrics-out",
                out.to_str().unwrap(),
            ])
            .args(mode)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut memory = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = job.0.try_wait().unwrap() {
            assert!(status.success(), "{mode:?}: the job failed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{mode:?}: still running after 2 minutes"
        );
        memory.push(rss_mib(job.0.id()));
        std::thread::sleep(Duration::from_secs(1));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    (serde_json::from_str(&text).unwrap(), memory)
}

/// The batches of the overload's first `seconds` (those after are the drain of what was
/// admitted).
fn during(batches: &[BatchInfo], seconds: u64) -> Vec<&BatchInfo> {
    let first = batches.first().map_or(0, |b| b.batch_time_ms);
    batches
        .iter()
        .filter(|b| b.batch_time_ms < first + seconds * 1000)
        .collect()
}

#[test]
fn without_rate_control_batches_fall_behind_and_with_it_they_keep_up() {
    let dir = tempfile::tempdir().unwrap();
    let minibatch = ["--mode", "minibatch", "--batch-ms", "500", "--print", "0"];

    let (behind, _) = overloaded(&minibatch, dir.path());
    let batches = during(&behind.batches, 6);
    let delays: Vec<u64> = batches.iter().map(|b| b.scheduling_delay_ms).collect();
    // Each admission is twice the work of the time it took to process the one before: the
    // delay is soon many intervals, and still seconds when the load stops.
    let (worst, last) = (delays.iter().max().unwrap(), delays.last().unwrap());
    assert!(
        *worst > 8 * INTERVAL_MS && *last > 4 * INTERVAL_MS,
        "without rate control the scheduling delay grows: {delays:?}"
    );

    let mut with = minibatch.to_vec();
    with.push("--backpressure");
    let (controlled, _) = overloaded(&with, dir.path());
    let batches = during(&controlled.batches, 8);
    // After the estimator's first few batches (it starts unlimited, as Spark's does).
    let settled: Vec<u64> = batches
        .iter()
        .skip(4)
        .map(|b| b.scheduling_delay_ms)
        .collect();
    let worst = settled.iter().max().unwrap();
    assert!(
        *worst <= 4 * INTERVAL_MS,
        "with rate control the delay stays within a few intervals: {settled:?}"
    );
    let held: f64 = controlled
        .sources
        .iter()
        .map(|s| s.backpressured_seconds)
        .sum();
    assert!(held > 1.0, "the source held back: {held} s");
}

#[test]
fn natively_the_source_holds_back_and_memory_stays_flat() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, memory) = overloaded(&["--mode", "native"], dir.path());
    // The job runs as long as the sender is held back (12 s for 6 s of load at half speed).
    assert!(memory.len() >= 8, "{memory:?}");
    // From the third second to the last before the end (which gathers the final table).
    let settled = &memory[2..memory.len() - 1];
    let (lo, hi) = settled
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &m| (lo.min(m), hi.max(m)));
    assert!(hi - lo < 32.0, "memory stays flat: {memory:?} MiB");
    let source = snapshot
        .operators
        .iter()
        .find(|o| o.name == "SocketText")
        .unwrap();
    let slow = snapshot.operators.iter().find(|o| o.name == "Map").unwrap();
    assert!(
        source.backpressured_seconds > 3.0,
        "the source was held back most of the run: {source:?}"
    );
    assert!(
        slow.busy_seconds > 6.0,
        "the slow operator was busy: {slow:?}"
    );
    assert!(slow.backpressured_seconds < 1.0, "{slow:?}");
}
