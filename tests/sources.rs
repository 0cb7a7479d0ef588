//! Sources end to end: a socket against a local TCP server, a directory with files moved in.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{read, reference_counts, run};
use sluice::engine::checkpoint::Checkpointing;
use sluice::engine::sinks::read_epochs;
use sluice::engine::sources::Directory;
use sluice::prelude::*;

#[test]
fn socket_source_counts_what_a_local_server_sends_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let sessions = [
        "the quick brown fox\njumps over\n",
        "the lazy dog\nthe end\n",
    ];
    let server = std::thread::spawn(move || {
        // Two connections: the source must reconnect after the first one closes.
        for text in sessions {
            let (mut conn, _) = listener.accept().unwrap();
            for line in text.split_inclusive('\n') {
                conn.write_all(line.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Dropping the listener refuses the next reconnect: the stream then ends.
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("counts");
    let result = run(&[
        "run",
        "wordcount",
        "--socket",
        &address,
        "--workers",
        "2",
        "--retry-window-ms",
        "1500",
        "--final-counts",
        out.to_str().unwrap(),
    ]);
    server.join().unwrap();
    let stderr = common::stderr(&result);
    assert!(result.status.success(), "{stderr}");
    assert_eq!(read(&out), reference_counts(&sessions.concat()));
    assert!(
        stderr.contains("reconnect"),
        "the reconnect is reported on stderr: {stderr}"
    );
}

#[test]
fn directory_source_reads_each_file_moved_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("in");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("before.txt"), "old file ignored\n").unwrap();
    let source = Directory::open(&watched)
        .unwrap()
        .poll_every(Duration::from_millis(20));

    let job = JobContext::default();
    let lines = Collector::new();
    let (sink, context) = (lines.clone(), job.clone());
    let running = std::thread::spawn(move || {
        execute(
            Execution::default().workers(2).context(context),
            move |worker| {
                worker.dataflow(|scope| scope.text_directory(&source).collect_into(&sink));
            },
        )
    });
    // Write elsewhere, then move in: the source must see each file whole, once.
    for (i, text) in ["a b\nc\n", "d\n", "e f g\n"].iter().enumerate() {
        let staging = dir.path().join(format!("staging-{i}"));
        std::fs::write(&staging, text).unwrap();
        std::fs::rename(&staging, watched.join(format!("file-{i}.txt"))).unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    std::fs::write(watched.join(".hidden"), "skipped\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines.len() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100)); // a few more polls: nothing read twice
    job.stop();
    running.join().unwrap().unwrap();
    assert_eq!(
        lines.take(),
        vec!["a b", "c", "d", "e f g"],
        "in modification order, once"
    );
}

/// With checkpoints the directory source replays by modification time: a job aborted after
/// reading some files, restarted after more were moved in while it was down, has written every
/// line exactly once over both runs — those read after its last checkpoint are read again, and
/// the failed run's files past that checkpoint removed, though the restart stamps them anew.
#[test]
fn directory_source_resumes_from_a_checkpoint_without_loss_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("in");
    let (checkpoints, out) = (dir.path().join("cp"), dir.path().join("out"));
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("before.txt"), "there at the first start\n").unwrap();
    let move_in = |i: usize| {
        let staging = dir.path().join(format!("staging-{i}"));
        std::fs::write(&staging, format!("file {i} a\nfile {i} b\n")).unwrap();
        std::fs::rename(&staging, watched.join(format!("file-{i}.txt"))).unwrap();
    };
    let start = |job: JobContext| {
        let source = Directory::open(&watched)
            .unwrap()
            .poll_every(Duration::from_millis(5));
        let execution = Execution::default()
            .workers(2)
            .context(job)
            .checkpointing(Checkpointing::new(&checkpoints, 50).program("directory", "v1"));
        let out = out.clone();
        std::thread::spawn(move || {
            execute(execution, move |worker| {
                worker.dataflow(|scope| scope.text_directory(&source).write_epochs(&out, 50));
            })
        })
    };
    let written = || {
        let mut lines = read_epochs(&out).unwrap_or_default();
        lines.sort();
        lines
    };

    // The first run reads files 0–3 and is aborted 20 ms after the last one arrives: its last
    // checkpoint may or may not hold that file.
    let job = JobContext::default();
    let first = start(job.clone());
    for i in 0..4 {
        std::thread::sleep(Duration::from_millis(70));
        move_in(i);
    }
    std::thread::sleep(Duration::from_millis(20));
    job.abort();
    first.join().unwrap().unwrap();
    assert!(
        checkpoints.join("LATEST").exists(),
        "a checkpoint to resume from"
    );
    // Files 4 and 5 arrive while it is down, 6 and 7 after the restart.
    move_in(4);
    move_in(5);
    let job = JobContext::default();
    let second = start(job.clone());
    std::thread::sleep(Duration::from_millis(100));
    move_in(6);
    move_in(7);
    let deadline = Instant::now() + Duration::from_secs(10);
    while written().len() < 16 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(150)); // a few more epochs: nothing written twice
    job.stop();
    second.join().unwrap().unwrap();

    let mut expected: Vec<String> = (0..8)
        .flat_map(|i| [format!("file {i} a"), format!("file {i} b")])
        .collect();
    expected.sort();
    assert_eq!(written(), expected);
}
