//! Savepoints through the binary: `sluice savepoint create` asks a running word count for one
//! (and then for one as it stops), `checkpoint inspect` lists them, and a run resumed from
//! either with `--from-savepoint` — also by a changed program — ends with the plain loop's
//! counts over the whole log.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    append_to_log, corpus_lines, http, latest_epoch, log_wordcount, read, reference_counts, sluice,
    stderr, stderr_line, Running,
};

/// A test's event log, checkpoint directory and final counts, in a temporary directory.
struct Job {
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
    cp: std::path::PathBuf,
    out: std::path::PathBuf,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let (log, cp, out) = (
            dir.path().join("log"),
            dir.path().join("cp"),
            dir.path().join("counts"),
        );
        Job {
            _dir: dir,
            log,
            cp,
            out,
        }
    }

    /// A word count on 2 workers following the log, once it has committed a checkpoint.
    fn follow(&self) -> Running {
        let job = log_wordcount(
            &self.log,
            &self.cp,
            &self.out,
            &["--workers", "2", "--follow"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let job = Running(job);
        wait_for("a checkpoint", || latest_epoch(&self.cp).is_some());
        job
    }

    /// The word count on 2 workers to the end of the log from the savepoint `from`, with
    /// `flags`.
    fn resume(&self, from: &Path, flags: &[&str]) -> Output {
        log_wordcount(&self.log, &self.cp, &self.out, &["--workers", "2"])
            .args(flags)
            .arg("--from-savepoint")
            .arg(from)
            .output()
            .unwrap()
    }
}

/// `sluice savepoint create` for the job `pid`: the savepoint's path.
fn savepoint(pid: u32, cp: &Path, stop: bool) -> String {
    let mut command = sluice();
    command
        .args(["savepoint", "create", "--pid", &pid.to_string()])
        .arg("--checkpoint-dir")
        .arg(cp);
    if stop {
        command.arg("--stop");
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn savepoints_of_a_running_job_resume_to_the_plain_loops_counts() {
    let files = Job::new();
    let (first, second) = (corpus_lines(0, 3000), corpus_lines(3000, 3000));
    append_to_log(&files.log, &first);
    let mut job = files.follow();
    let cp = &files.cp;

    // A savepoint while it runs: it goes on.
    let going_on = savepoint(job.0.id(), cp, false);
    assert!(
        Path::new(&going_on).join("metadata.json").exists(),
        "{going_on}"
    );
    assert!(job.0.try_wait().unwrap().is_none(), "the job stopped");
    append_to_log(&files.log, &second);

    // A savepoint as it stops: of its last checkpoint, which covers everything it read.
    let at_stop = savepoint(job.0.id(), cp, true);
    let status = job.0.wait().unwrap();
    assert!(status.success(), "stop with savepoint: {status:?}");
    assert_ne!(going_on, at_stop);

    let inspect = sluice()
        .args(["checkpoint", "inspect"])
        .arg(cp)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    assert!(listing.contains("savepoints (never pruned)"), "{listing}");
    assert!(
        listing.contains(&going_on) && listing.contains(&at_stop),
        "{listing}"
    );
    assert!(listing.contains("source-EventLog"), "{listing}");
    assert!(
        listing.contains("key groups (of 32768) by worker: w0 0..16384, w1 16384..32768"),
        "{listing}"
    );

    // Either savepoint, resumed (to the end of the log, not following), gives the whole
    // log's counts: what was read after it is read again, and only once.
    let everything = reference_counts(&(first + &second));
    for from in [&going_on, &at_stop, &going_on] {
        let output = files.resume(Path::new(from), &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("resuming from the checkpoint of epoch"),
            "{}",
            stderr(&output)
        );
        assert_eq!(read(&files.out), everything, "from {from}");
    }
    // The savepoints outlived the rolling checkpoints since.
    assert!(Path::new(&going_on).exists() && Path::new(&at_stop).exists());
}

#[test]
fn a_changed_program_resumes_from_a_savepoint() {
    let files = Job::new();
    let (first, second) = (corpus_lines(0, 2000), corpus_lines(2000, 2000));
    append_to_log(&files.log, &first);
    let mut job = files.follow();
    let saved = savepoint(job.0.id(), &files.cp, true);
    assert!(job.0.wait().unwrap().success());
    append_to_log(&files.log, &second);
    // Another function on every line (a slow one), the same counts.
    let output = files.resume(Path::new(&saved), &["--slow-line-us", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(&files.out), reference_counts(&(first + &second)));
}

#[test]
fn savepoint_create_names_what_it_cannot_reach() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--pid", "999999999", "--checkpoint-dir", "."],
            "--pid 999999999",
        ),
        (&["--pid", "0", "--checkpoint-dir", "."], "--pid"),
        (&["--pid", "-5", "--checkpoint-dir", "."], "--pid"),
        (
            &["--pid", "2", "--checkpoint-dir", "/no/such/dir"],
            "/no/such/dir",
        ),
    ];
    for (args, named) in cases {
        let output = sluice()
            .args(["savepoint", "create"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let error = stderr(&output);
        assert!(!output.status.success(), "{args:?}");
        assert!(error.contains(named), "{args:?}: {error}");
        assert!(!error.contains("panicked"), "{args:?}: {error}");
    }
    // A job that takes no checkpoints says so, and goes on.
    let mut job = Running(
        sluice()
            .args([
                "run",
                "wordcount",
                "--socket",
                "127.0.0.1:9",
                "--ui",
                "127.0.0.1:0",
            ])
            .args(["--status-every-ms", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(job.0.stderr.take().unwrap()).lines();
    let mut line_starting = |prefix: &str| loop {
        let line = lines.next().expect("the line comes").unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest.to_string();
        }
    };
    // Serving its UI, it has its signal handlers.
    line_starting("sluice: UI at");
    let output = sluice()
        .args(["savepoint", "create", "--pid", &job.0.id().to_string()])
        .arg("--checkpoint-dir")
        .arg(dir.path())
        .args(["--timeout-secs", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no savepoint appeared"),
        "{}",
        stderr(&output)
    );
    let said = line_starting("sluice: no savepoint: ");
    assert!(said.contains("no checkpoints"), "{said}");
    assert!(job.0.try_wait().unwrap().is_none(), "the job stopped");
}

#[test]
fn a_damaged_or_missing_savepoint_is_refused_naming_it() {
    let files = Job::new();
    append_to_log(&files.log, &corpus_lines(0, 500));
    let mut job = files.follow();
    let saved = savepoint(job.0.id(), &files.cp, true);
    assert!(job.0.wait().unwrap().success());
    let missing = files.cp.join("no-such-savepoint");
    let output = files.resume(&missing, &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&output)
    );
    // A flipped byte in a part: refused, naming the file, not fallen back from.
    let part = std::fs::read_dir(&saved)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("KeyedState"))
        .expect("a keyed state part");
    let mut bytes = std::fs::read(&part).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&part, bytes).unwrap();
    let output = files.resume(Path::new(&saved), &[]);
    let error = stderr(&output);
    assert!(!output.status.success(), "{error}");
    assert!(error.contains(part.to_str().unwrap()), "{error}");
    assert!(!error.contains("panicked"), "{error}");
}

/// The UI's API takes savepoints too: `POST /api/savepoint` while the job goes on, then
/// `POST /api/stop-with-savepoint`; a job without checkpoints answers 409, saying why.
#[test]
fn the_ui_takes_a_savepoint_and_stops_with_one() {
    let files = Job::new();
    let text = corpus_lines(0, 3000);
    append_to_log(&files.log, &text);
    let mut command = log_wordcount(&files.log, &files.cp, &files.out, &["--follow"]);
    command
        .args(["--ui", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut job = Running(command.spawn().unwrap());
    let address = stderr_line(&mut job.0, "sluice: UI at http://");
    let address = address.trim_end_matches('/');
    wait_for("a checkpoint", || latest_epoch(&files.cp).is_some());
    let savepoints = || {
        std::fs::read_dir(files.cp.join("savepoints"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };

    let (status, body) = http("POST", address, "/api/savepoint");
    assert!(status.contains("202"), "{status} {body}");
    wait_for("the savepoint", || savepoints() == 1);
    assert!(job.0.try_wait().unwrap().is_none(), "the job stopped");

    let (status, body) = http("POST", address, "/api/stop-with-savepoint");
    assert!(status.contains("202"), "{status} {body}");
    assert!(job.0.wait().unwrap().success());
    assert_eq!(savepoints(), 2);
    assert_eq!(read(&files.out), reference_counts(&text));

    // Without checkpoints there is nothing to take a savepoint of.
    let mut command = sluice();
    command
        .args([
            "run",
            "wordcount",
            "--status-every-ms",
            "0",
            "--follow",
            "--log",
        ])
        .arg(&files.log)
        .args(["--ui", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut job = Running(command.spawn().unwrap());
    let address = stderr_line(&mut job.0, "sluice: UI at http://");
    let (status, body) = http("POST", address.trim_end_matches('/'), "/api/savepoint");
    assert!(status.contains("409"), "{status} {body}");
    assert!(body.contains("no checkpoints"), "{body}");
}

/// Two processes with checkpoint directories of their own (hosts without a shared
/// filesystem): a savepoint asked of process 0 is kept by each process in its own directory,
/// with its own parts; both resumed from their savepoints, they end with the plain loop's
/// counts over the whole log.
#[test]
fn two_processes_with_their_own_directories_each_keep_their_part_of_a_savepoint() {
    let dir = tempfile::tempdir().unwrap();
    let (log, out) = (dir.path().join("log"), dir.path().join("counts"));
    let cp = |process: usize| dir.path().join(format!("cp-{process}"));
    let hosts = common::loopback_hosts(dir.path());
    let (first, second) = (corpus_lines(0, 3000), corpus_lines(3000, 3000));
    append_to_log(&log, &first);
    let process = |i: usize, flags: &[&str]| {
        let index = i.to_string();
        let mut command = log_wordcount(&log, &cp(i), &out, &["--processes", "2"]);
        command
            .args(["--process", &index, "--hostfile"])
            .arg(&hosts)
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let following = [
        Running(process(0, &["--follow"]).spawn().unwrap()),
        Running(process(1, &["--follow"]).spawn().unwrap()),
    ];
    wait_for("a checkpoint", || latest_epoch(&cp(0)).is_some());
    let path = savepoint(following[0].0.id(), &cp(0), false);
    let name = Path::new(&path).file_name().unwrap().to_owned();
    let theirs = cp(1).join("savepoints").join(&name);
    wait_for("process 1's savepoint", || theirs.exists());
    drop(following);
    // Each holds its own process's parts: process 0 has workers 0 and 1, process 1 workers
    // 2 and 3.
    for (process, saved) in [(0, Path::new(&path).to_path_buf()), (1, theirs.clone())] {
        assert!(saved.join(format!("process-{process}.state")).exists());
        assert!(!saved
            .join(format!("process-{}.state", 1 - process))
            .exists());
        let other = format!("KeyedState-w{}.state", 2 * (1 - process));
        assert!(
            !saved.join(&other).exists(),
            "{other} in {}",
            saved.display()
        );
    }
    append_to_log(&log, &second);
    let resumed = |i: usize, from: &Path| {
        let mut command = process(i, &[]);
        command
            .arg("--from-savepoint")
            .arg(from)
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let children = [resumed(0, Path::new(&path)), resumed(1, &theirs)];
    for child in children {
        let output = child.wait_with_output().unwrap();
        let log = stderr(&output);
        assert!(output.status.success(), "{log}");
        assert!(
            log.contains("resuming from the checkpoint of epoch"),
            "{log}"
        );
    }
    assert_eq!(read(&out), reference_counts(&(first + &second)));
}
