//! `sluice log` from the shell: appends killed mid-stream and repaired, a `tail --follow` in
//! one process seeing what `append` in another writes, and damage reported with its offset.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run_with_stdin, sluice, stderr};

fn append(dir: &Path, lines: &str) -> std::process::Output {
    run_with_stdin(sluice().args(["log", "append"]).arg(dir), lines.as_bytes())
}

fn tail(dir: &Path) -> Vec<String> {
    let output = sluice().args(["log", "tail"]).arg(dir).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn segment(dir: &Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

/// An appender SIGKILLed while lines stream in keeps a prefix of them; a crash that tore the
/// last record (here: the file cut short) is repaired by the next append, which says so.
#[test]
fn a_killed_append_keeps_a_prefix_and_a_torn_tail_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = sluice()
        .args(["log", "append"])
        .arg(&log)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..1_000_000 {
            if writeln!(stdin, "event {i}").is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log.join("00000000000000000000.log").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();
    writer.join().unwrap();

    let kept = tail(&log);
    assert!(!kept.is_empty());
    for (i, line) in kept.iter().enumerate() {
        assert_eq!(line, &format!("event {i}"), "not a prefix");
    }
    // Tear the last record.
    let segment = segment(&log);
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let output = append(&log, "after the crash\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cut off a torn record"),
        "{}",
        stderr(&output)
    );
    let repaired = tail(&log);
    assert_eq!(repaired.len(), kept.len());
    assert_eq!(&repaired[..kept.len() - 1], &kept[..kept.len() - 1]);
    assert_eq!(repaired.last().unwrap(), "after the crash");
}

/// `tail --follow` in one process prints what `append`s in others write, in order.
#[test]
fn a_follower_in_another_process_sees_every_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    append(&log, "first\n");
    let mut follower = sluice()
        .args(["log", "tail", "--follow", "--offsets"])
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    for batch in 0..3 {
        let text: String = (0..100)
            .map(|i| format!("batch {batch} line {i}\n"))
            .collect();
        assert!(append(&log, &text).status.success());
    }
    let mut seen = Vec::new();
    for _ in 0..301 {
        seen.push(lines.next().unwrap().unwrap());
    }
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert!(seen[0].starts_with("0\t") && seen[0].ends_with("\tfirst"));
    for (k, line) in seen[1..].iter().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], (k + 1).to_string());
        assert_eq!(fields[2], format!("batch {} line {}", k / 100, k % 100));
    }
}

#[test]
fn damage_is_reported_by_info_and_tail_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let text: String = (0..50).map(|i| format!("record number {i}\n")).collect();
    assert!(append(&log, &text).status.success());
    let segment = segment(&log);
    let mut bytes = std::fs::read(&segment).unwrap();
    let start: usize = (0..20)
        .map(|i| 24 + format!("record number {i}").len())
        .sum();
    bytes[start + 30] ^= 1; // inside record 20's payload
    std::fs::write(&segment, bytes).unwrap();
    for args in [&["log", "info"][..], &["log", "tail"][..]] {
        let output = sluice().args(args).arg(&log).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let message = stderr(&output);
        assert!(
            message.contains("offset 20") && message.contains("00000000000000000000.log"),
            "{args:?}: {message}"
        );
        assert!(!message.contains("panicked"), "{message}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["log", "tail", "/no/such/log"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("/no/such/log"));
}

/// `GET path` on `address`: the status and the body.
fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1)?.to_string();
    Some((status, body))
}

/// A running `sluice serve`.
struct Served {
    child: std::process::Child,
    address: String,
}

impl Served {
    /// `sluice serve --log LOG` with `extra` flags, once it has said where it serves.
    fn start(log: &Path, extra: &[&str]) -> Served {
        let address = format!("127.0.0.1:{}", common::free_port());
        let mut child = sluice()
            .args(["serve", "--log"])
            .arg(log)
            .args(["--address", &address])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let first = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .next()
            .unwrap()
            .unwrap();
        assert!(
            first.contains(&format!("http://{address}/views/wordcount/KEY")),
            "{first}"
        );
        Served { child, address }
    }

    /// Waits until `word`'s count is `count`.
    fn wait_for(&self, word: &str, count: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = http_get(&self.address, &format!("/views/wordcount/{word}"));
            if let Some((200, body)) = &answer {
                let value: serde_json::Value = serde_json::from_str(body).unwrap();
                if value["value"] == count {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "{word}: {answer:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C; the server must exit successfully.
    fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

/// `sluice serve`: the kappa word-count view of a log over HTTP, following appends.
#[test]
fn serve_answers_the_view_of_the_log_and_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    assert!(append(&log, "to be or not to be\n").status.success());
    let server = Served::start(&log, &[]);
    server.wait_for("to", 2);
    server.wait_for("be", 2);
    assert!(append(&log, "to do\n").status.success());
    server.wait_for("to", 3);
    server.wait_for("do", 1);
    assert_eq!(
        http_get(&server.address, "/views/wordcount/absent")
            .unwrap()
            .0,
        404
    );
    server.stop();
}

/// Two logs in one directory, served one after the other with the default checkpoint
/// directory: each has its own checkpoint, so each answers its own counts — also when served
/// again, resuming it.
#[test]
fn serve_keeps_a_checkpoint_per_log() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(append(&a, "apple apple apple\n").status.success());
    assert!(append(&b, "berry\nberry\n").status.success());
    for (log, word, count) in [(&a, "apple", 3), (&b, "berry", 2), (&a, "apple", 3)] {
        let server = Served::start(log, &[]);
        server.wait_for(word, count);
        server.stop();
    }
}

/// `sluice serve` over `log` that must refuse to start: its error, naming both.
fn serve_refused(log: &Path) -> String {
    let output = sluice()
        .args(["serve", "--address", "127.0.0.1:0", "--log"])
        .arg(log)
        .output()
        .unwrap();
    assert!(!output.status.success(), "served {}", log.display());
    let message = stderr(&output);
    let checkpoints = log.join("checkpoints-wordcount");
    for part in [
        log.display().to_string(),
        checkpoints.display().to_string(),
        "--discard-checkpoint".into(),
    ] {
        assert!(message.contains(&part), "{part} not in: {message}");
    }
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    message
}

/// A checkpoint copied from another log, or one past the end of a log made anew in its place,
/// is refused at start with one line naming log, checkpoint and the way out; with
/// `--discard-checkpoint` the log is served from its start.
#[test]
fn serve_refuses_a_checkpoint_of_another_log_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(append(&a, "apple\napple\napple\n").status.success());
    assert!(append(&b, "berry\n").status.success());
    let server = Served::start(&a, &[]);
    server.wait_for("apple", 3);
    server.stop();

    let copy = Command::new("cp")
        .arg("-a")
        .arg(a.join("checkpoints-wordcount"))
        .arg(&b)
        .status()
        .unwrap();
    assert!(copy.success());
    let message = serve_refused(&b);
    assert!(message.contains("another log"), "{message}");
    let server = Served::start(&b, &["--discard-checkpoint"]);
    server.wait_for("berry", 1);
    server.stop();

    // `a` made anew, shorter, with its old checkpoint beside.
    for entry in std::fs::read_dir(&a).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(path).unwrap();
        }
    }
    assert!(append(&a, "apple\n").status.success());
    let message = serve_refused(&a);
    assert!(message.contains("past the log's end"), "{message}");
}

#[test]
fn serve_names_a_bad_store() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    assert!(append(&log, "x\n").status.success());
    let output = sluice()
        .args(["serve", "--serving", "redis://127.0.0.1:1", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("redis://127.0.0.1:1"),
        "{}",
        stderr(&output)
    );
}
