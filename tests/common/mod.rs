//! Helpers shared by the end-to-end tests: the binary, a plain-loop reference, free ports.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// The `sluice` binary built for these tests.
pub fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

/// Runs `sluice` with `args`, with no status lines.
pub fn run(args: &[&str]) -> Output {
    sluice()
        .args(args)
        .args(["--status-every-ms", "0"])
        .output()
        .expect("the sluice binary runs")
}

/// Word counts by a plain loop: split on ASCII whitespace, count in a map, sorted by word.
pub fn reference_counts(text: &str) -> String {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for word in text.split_ascii_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    counts.iter().map(|(w, c)| format!("{w}\t{c}\n")).collect()
}

/// The contents of a final-counts file.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The stderr of a run, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `command` with `input` on its standard input, capturing its output.
pub fn run_with_stdin(command: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sluice binary runs");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(input)
        .expect("the command reads its input");
    child.wait_with_output().expect("the command ends")
}

/// Runs `command` with the crash injection that aborts after `parts` checkpoint parts have
/// been written, and checks that it did abort.
pub fn abort_after(mut command: Command, parts: usize) {
    let output = command
        .env("SLUICE_TEST_CRASH_AFTER_PARTS", parts.to_string())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the run did not abort");
    assert!(
        stderr(&output).contains("aborting after"),
        "{}",
        stderr(&output)
    );
}

/// Runs `command` (stdin closed, stdout and stderr captured) and waits at most `limit` for it
/// to end; a command still running then is killed and the test fails, naming it.
pub fn output_within(command: &mut Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sluice binary runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("a piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("a piped stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} was still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout read"),
        stderr: stderr.join().expect("stderr read"),
    }
}

/// A child process, killed when dropped (a job or load generator a test started).
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads `child`'s stderr until a line starts with `prefix`, and returns the rest of that line;
/// the rest of stderr is read (and dropped) by a thread, so the child never blocks on it.
pub fn stderr_line(child: &mut std::process::Child, prefix: &str) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let found = loop {
        let line = lines.next().expect("the line comes").unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest.to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    found
}

/// Starts `command` with `--ui 127.0.0.1:PORT` (0: any free port) and no status lines;
/// returns it and the UI's address once it serves.
pub fn with_ui(mut command: Command, port: u16) -> (Running, String) {
    use std::process::Stdio;
    command
        .args([
            "--ui",
            &format!("127.0.0.1:{port}"),
            "--status-every-ms",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let address = stderr_line(&mut child, "sluice: UI at http://");
    (Running(child), address.trim_end_matches('/').to_string())
}

/// Lines `from..from + n` of the default word-count corpus, each ended by a newline.
pub fn corpus_lines(from: u64, n: u64) -> String {
    use sluice::engine::sources::corpus::{Corpus, CorpusSpec};
    let corpus = Corpus::new(CorpusSpec::default());
    (from..from + n).map(|i| corpus.line(i) + "\n").collect()
}

/// Appends `text`'s lines to the event log in `log` (`sluice log append`, no fsync); panics
/// with its stderr if it fails.
pub fn append_to_log(log: &Path, text: &str) {
    let output = run_with_stdin(
        sluice()
            .args(["log", "append", "--fsync", "never"])
            .arg(log),
        text.as_bytes(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

/// A word count of the event log in `log`, checkpointing every 50 ms into `checkpoints` and
/// writing its final counts to `out`, with `flags`; no status lines.
pub fn log_wordcount(log: &Path, checkpoints: &Path, out: &Path, flags: &[&str]) -> Command {
    let mut command = sluice();
    command
        .args(["run", "wordcount", "--status-every-ms", "0"])
        .arg("--log")
        .arg(log)
        .arg("--checkpoint-dir")
        .arg(checkpoints)
        .args(["--checkpoint-every", "50"])
        .arg("--final-counts")
        .arg(out)
        .args(flags);
    command
}

/// The epoch the checkpoint directory's `LATEST` names, if any.
pub fn latest_epoch(checkpoints: &Path) -> Option<u64> {
    std::fs::read_to_string(checkpoints.join("LATEST"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `METHOD path` (no body) to the HTTP server at `address`: the status line and the body.
pub fn http(method: &str, address: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// `run wordcount` over the file `input`, on `workers`, checkpointing into `cp`.
pub fn file_wordcount(input: &Path, cp: &Path, out: &Path, workers: &str) -> Command {
    let mut command = sluice();
    command
        .args(["run", "wordcount", "--status-every-ms", "0"])
        .args(["--workers", workers, "--input"])
        .arg(input)
        .arg("--checkpoint-dir")
        .arg(cp)
        .arg("--final-counts")
        .arg(out);
    command
}

/// Waits (at most 60 s) until `condition` holds, then SIGKILLs `children`: a crash at a point
/// of the run's progress rather than of wall-clock time, which a slow machine may not reach.
/// On time-out, panics with the children's stderr (when piped) and `what` was awaited.
pub fn kill_when(what: &str, children: Vec<std::process::Child>, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        if std::time::Instant::now() > deadline {
            let logs: Vec<String> = children
                .into_iter()
                .map(|mut child| {
                    let _ = child.kill();
                    stderr(&child.wait_with_output().unwrap())
                })
                .collect();
            panic!("no {what} within 60 s: {logs:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for mut child in children {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// A hostfile in `dir` for two processes on loopback, at free ports.
pub fn loopback_hosts(dir: &Path) -> std::path::PathBuf {
    let hosts = dir.join("hosts");
    let text = format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port());
    std::fs::write(&hosts, text).unwrap();
    hosts
}
