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
