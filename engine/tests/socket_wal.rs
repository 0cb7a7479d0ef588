//! A socket with a write-ahead log: a checkpointed job that crashes loses nothing the socket
//! delivered, though the server never sends it again.

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::checkpoint::{CheckpointDir, Checkpointing};
use sluice_engine::log::{EventLog, LogConfig, LogReader};
use sluice_engine::prelude::*;
use sluice_engine::sources::Socket;

fn log_len(dir: &std::path::Path) -> usize {
    let Ok(mut reader) = LogReader::open(dir) else {
        return 0;
    };
    std::iter::from_fn(|| reader.read().unwrap()).count()
}

#[test]
fn a_crashed_job_replays_from_the_write_ahead_log_what_the_socket_delivered() {
    let (total, first_part) = (3_000usize, 2_000usize);
    let line = |i: usize| format!("line {i:05}");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    // The server sends each line once: the first part (and then one more line, on cue) on
    // the first connection, the rest on the second, and closes it.
    let (cue, cued) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut first, _) = listener.accept().unwrap();
        for i in 0..first_part - 10 {
            writeln!(first, "{}", line(i)).unwrap();
        }
        cued.recv().unwrap();
        for i in first_part - 10..first_part {
            writeln!(first, "{}", line(i)).unwrap();
        }
        cued.recv().unwrap();
        drop(first);
        let (mut second, _) = listener.accept().unwrap();
        for i in first_part..total {
            writeln!(second, "{}", line(i)).unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (wal, out, checkpoints) = (
        dir.path().join("wal"),
        dir.path().join("out"),
        dir.path().join("checkpoints"),
    );
    let crash = Arc::new(AtomicBool::new(false));
    let run = |crash: Arc<AtomicBool>| {
        let socket = Socket::new(&address)
            .unwrap()
            .end_on_close()
            .write_ahead_log(&wal)
            .unwrap();
        let out = out.clone();
        let execution = Execution::default()
            .workers(2)
            .checkpointing(Checkpointing::new(&checkpoints, 20).program("wal", "v1"));
        execute(execution, move |worker| {
            let crash = crash.clone();
            worker.dataflow(|scope| {
                scope
                    .socket_text(&socket)
                    // Both workers get lines, so both crash (a worker that panics alone
                    // leaves the other waiting).
                    .rebalance()
                    .map(move |line: String| {
                        assert!(!crash.load(Ordering::SeqCst), "crash");
                        line
                    })
                    .append_to_log(&out, LogConfig::default(), 20);
            });
        })
    };
    let first = {
        let crash = crash.clone();
        let run = &run;
        std::thread::scope(|s| {
            let trigger = crash.clone();
            let handle = s.spawn(move || run(trigger));
            // Wait until the first part is logged and a checkpoint has been committed.
            let deadline = Instant::now() + Duration::from_secs(20);
            while (log_len(&wal) < first_part - 10
                || CheckpointDir::open(&checkpoints)
                    .unwrap()
                    .latest()
                    .unwrap()
                    .is_none())
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            crash.store(true, Ordering::SeqCst);
            cue.send(()).unwrap(); // ten more lines: the job crashes on them
            handle.join().unwrap()
        })
    };
    assert!(first.is_err(), "the first run did not crash");
    cue.send(()).unwrap(); // the server closes the first connection; its reader lets go of the log
    let deadline = Instant::now() + Duration::from_secs(10);
    while EventLog::open(&wal).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    run(Arc::new(AtomicBool::new(false))).unwrap();
    server.join().unwrap();

    let mut reader = LogReader::open(&out).unwrap();
    let mut lines: Vec<String> = std::iter::from_fn(|| reader.read().unwrap())
        .map(|r| r.text().unwrap().to_string())
        .collect();
    lines.sort();
    let expected: Vec<String> = (0..total).map(line).collect();
    assert_eq!(lines.len(), expected.len());
    assert_eq!(lines, expected);
    assert_eq!(
        log_len(&wal),
        total,
        "the write-ahead log holds each line once"
    );
}
