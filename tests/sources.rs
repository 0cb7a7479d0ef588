//! Sources end to end: a socket against a local TCP server, a directory with files moved in.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{read, reference_counts, run};
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
