//! Crash recovery: word count with checkpoints every 100 ms of stream time is killed — SIGKILL
//! at moments of the run, or an abort in the middle of writing a checkpoint — and the same
//! command run again resumes from the newest checkpoint; the final counts equal a plain loop's
//! over the same input, byte for byte: nothing lost, nothing counted twice. On 2 workers, from
//! the generator and from a file, and with 2 processes on loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use common::{
    abort_after, file_wordcount, kill_when, latest_epoch, read, reference_counts, sluice, stderr,
};
use sluice::engine::checkpoint::CheckpointDir;
use sluice::engine::sinks::read_epochs;
use sluice::engine::sources::corpus::{Corpus, CorpusSpec, SplitMix64};

/// Lines generated per run, and their rate: a run takes about 1.5 s.
const LINES: u64 = 150_000;
const RATE: &str = "100000";

/// The generated corpus's final counts, by a plain loop.
fn expected_counts() -> String {
    let corpus = Corpus::new(CorpusSpec::default());
    let text: String = (0..LINES).map(|i| corpus.line(i) + "\n").collect();
    reference_counts(&text)
}

/// `sluice run wordcount` over the paced generator, checkpointing into `checkpoints`.
fn wordcount(checkpoints: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = sluice();
    command
        .args([
            "run",
            "wordcount",
            "--generate",
            &LINES.to_string(),
            "--rate",
            RATE,
        ])
        .args(["--workers", "2", "--status-every-ms", "0"])
        .args(["--checkpoint-every", "100", "--checkpoint-dir"])
        .arg(checkpoints)
        .arg("--final-counts")
        .arg(out)
        .args(extra);
    command
}

/// Runs `command` to the end; panics with its stderr if it fails.
fn complete(mut command: Command) -> Output {
    let output = command.output().expect("sluice runs");
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

/// Starts `command` and SIGKILLs it after `after`.
fn kill_after(mut command: Command, after: Duration) {
    let mut child: Child = command
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sluice starts");
    std::thread::sleep(after);
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

/// Where `got` first differs from `expected`, for a failure message.
fn first_difference(got: &str, expected: &str) -> String {
    let line = got
        .lines()
        .zip(expected.lines())
        .position(|(g, e)| g != e)
        .unwrap_or(got.lines().count().min(expected.lines().count()));
    format!(
        "line {line}: got {:?}, expected {:?} ({} lines, expected {})",
        got.lines().nth(line),
        expected.lines().nth(line),
        got.lines().count(),
        expected.lines().count()
    )
}

/// Asserts that the file at `out` holds `expected`.
fn assert_output(got: String, expected: &str, what: &str) {
    assert!(
        got == expected,
        "{what}: output differs from a plain loop's: {}",
        first_difference(&got, expected)
    );
}

/// The checkpoint and output paths of the `k`-th run in `dir`.
fn run_dirs(dir: &Path, k: usize) -> (PathBuf, PathBuf) {
    (dir.join(format!("cp-{k}")), dir.join(format!("out-{k}")))
}

/// How a run is stopped.
#[derive(Debug)]
enum Kill {
    /// SIGKILL after this long.
    After(Duration),
    /// Abort after writing this many checkpoint parts (in the middle of a checkpoint).
    AbortAfterParts(usize),
}

#[test]
fn a_killed_word_count_resumes_to_the_failure_free_result() {
    let expected = expected_counts();
    let dir = tempfile::tempdir().unwrap();
    let mut resumed = 0;
    // SIGKILL at moments of the run, and aborts after a number of checkpoint parts once a
    // checkpoint exists: with 2 workers and 3 checkpointed operators an epoch has 6 parts, so
    // 4, 9 and 17 stop the process in the middle of writing one.
    let kills = [
        Kill::After(Duration::from_millis(300)),
        Kill::After(Duration::from_millis(800)),
        Kill::After(Duration::from_millis(1300)),
        Kill::AbortAfterParts(4),
        Kill::AbortAfterParts(9),
        Kill::AbortAfterParts(17),
    ];
    for (k, kill) in kills.iter().enumerate() {
        let what = format!("{kill:?}");
        let (checkpoints, out) = run_dirs(dir.path(), k);
        match *kill {
            Kill::After(after) => kill_after(wordcount(&checkpoints, &out, &[]), after),
            Kill::AbortAfterParts(parts) => abort_after(wordcount(&checkpoints, &out, &[]), parts),
        }
        assert!(
            !out.exists(),
            "{what}: the killed run finished before the kill"
        );
        let had_checkpoint = latest_epoch(&checkpoints).is_some();
        let output = complete(wordcount(&checkpoints, &out, &[]));
        let log = stderr(&output);
        if had_checkpoint {
            assert!(
                log.contains("resuming from the checkpoint of epoch"),
                "{what}: {log}"
            );
            resumed += 1;
        }
        assert_output(read(&out), &expected, &what);
    }
    assert!(
        resumed >= 4,
        "only {resumed} of the runs resumed from a checkpoint"
    );
}

#[test]
fn two_crashes_in_a_row_still_give_the_failure_free_result() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoints, out) = (dir.path().join("cp"), dir.path().join("out"));
    let spawn = || {
        wordcount(&checkpoints, &out, &[])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    kill_when("checkpoint", vec![spawn()], || {
        latest_epoch(&checkpoints).is_some()
    });
    let first = latest_epoch(&checkpoints);
    // The resumed run must checkpoint past the first run's progress before its own crash.
    kill_when("checkpoint after resuming", vec![spawn()], || {
        latest_epoch(&checkpoints) > first
    });
    complete(wordcount(&checkpoints, &out, &[]));
    assert_output(read(&out), &expected_counts(), "after restarts");
}

#[test]
fn a_file_source_resumes_at_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = Corpus::new(CorpusSpec::default());
    let text: String = (0..400_000).map(|i| corpus.line(i) + "\n").collect();
    let input = dir.path().join("corpus.txt");
    std::fs::write(&input, &text).unwrap();
    let (checkpoints, out) = (dir.path().join("cp"), dir.path().join("out"));
    let command = || {
        let mut command = sluice();
        command
            .args(["run", "wordcount", "--input"])
            .arg(&input)
            .args([
                "--workers",
                "2",
                "--status-every-ms",
                "0",
                "--checkpoint-every",
                "10",
            ])
            .arg("--checkpoint-dir")
            .arg(&checkpoints)
            .arg("--final-counts")
            .arg(&out);
        command
    };
    let mut resumed = 0;
    for parts in [1, 5, 11, 20] {
        std::fs::remove_dir_all(&checkpoints).ok();
        abort_after(command(), parts);
        let output = complete(command());
        resumed += usize::from(stderr(&output).contains("resuming from the checkpoint"));
        assert_output(
            read(&out),
            &reference_counts(&text),
            &format!("abort after {parts} parts"),
        );
    }
    assert!(
        resumed >= 2,
        "only {resumed} runs resumed from a checkpoint"
    );
}

#[test]
fn two_processes_resume_together() {
    two_word_counts_killed_and_resumed(&[], "2 processes");
}

#[test]
fn two_processes_resume_together_in_micro_batch_mode() {
    let minibatch = ["--mode", "minibatch", "--batch-ms", "50"];
    two_word_counts_killed_and_resumed(&minibatch, "2 processes, micro-batch");
}

/// Word count on 2 processes on loopback (`extra` flags added), killed and resumed: the final
/// counts equal a plain loop's.
fn two_word_counts_killed_and_resumed(extra: &[&str], what: &str) {
    let expected = expected_counts();
    let dir = tempfile::tempdir().unwrap();
    let (checkpoints, out) = (dir.path().join("cp"), dir.path().join("out"));
    let job = |_, args: &[&str]| {
        let args: Vec<&str> = args.iter().chain(extra).copied().collect();
        wordcount(&checkpoints, &out, &args)
    };
    let checkpointed = || latest_epoch(&checkpoints).is_some();
    two_processes_killed_and_resumed(dir.path(), checkpointed, job, || !out.exists());
    assert_output(read(&out), &expected, what);
}

/// The event-time windowed count on 2 processes on loopback, killed and resumed: the
/// event-time cut is the lowest watermark of both processes, and the parts of that cut are
/// copied into the checkpoint from the shared directory; every window is written exactly once.
#[test]
fn two_processes_resume_an_event_time_windowed_count_together() {
    event_time_windowed_count_on_two_processes(Directories::Shared);
}

/// As above, each process with its own checkpoint directory: each copies its own event-time
/// parts of the cut into its own directory when process 0 has committed the epoch.
#[test]
fn two_processes_with_their_own_directories_resume_an_event_time_windowed_count() {
    event_time_windowed_count_on_two_processes(Directories::PerProcess);
}

/// Whether the processes of a job share one checkpoint directory (as on one host, or with a
/// shared filesystem) or keep one each (as on hosts without one).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Directories {
    Shared,
    PerProcess,
}

impl Directories {
    /// Process `process`'s checkpoint directory under `dir`.
    fn of(self, dir: &Path, process: usize) -> PathBuf {
        match self {
            Directories::Shared => dir.join("cp"),
            Directories::PerProcess => dir.join(format!("cp-{process}")),
        }
    }
}

fn event_time_windowed_count_on_two_processes(directories: Directories) {
    let (text, expected) = event_time_input(400_000, 1000, 500, 300);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.txt");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("out");
    let job = |process, args: &[&str]| {
        let args: Vec<&str> = ["--workers", "1", "--disorder-ms", "300"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        windowcount(&input, &directories.of(dir.path(), process), &out, &args)
    };
    let (zero, one) = (directories.of(dir.path(), 0), directories.of(dir.path(), 1));
    let unfinished = || event_time_unfinished(&zero);
    // Once process 1 has committed an epoch too (in its own directory, after process 0's
    // commit): then every committed epoch must check out, in either directory.
    let checkpointed = || latest_epoch(&one).is_some();
    let whole = || {
        for cp in [&zero, &one] {
            for epoch in CheckpointDir::open(cp).unwrap().inspect().unwrap() {
                assert_eq!(
                    epoch.problem,
                    None,
                    "epoch {} in {}",
                    epoch.epoch,
                    cp.display()
                );
            }
        }
        true
    };
    two_processes_killed_and_resumed(dir.path(), checkpointed, job, || whole() && unfinished());
    whole();
    assert_output(
        all_lines(&out),
        &expected,
        &format!("2 processes, event time, {directories:?}"),
    );
}

/// Two processes that do not share a checkpoint directory — as on two hosts without a shared
/// filesystem — write their own parts and commit over the dataflow; both killed with SIGKILL
/// and restarted, they resume together, each from its own directory: the final counts equal a
/// plain loop's, and neither directory holds the other process's parts.
#[test]
fn two_processes_with_their_own_checkpoint_directories_resume_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let own = |process| Directories::PerProcess.of(dir.path(), process);
    let job = |process, args: &[&str]| wordcount(&own(process), &out, args);
    let checkpointed = || latest_epoch(&own(0)).is_some();
    two_processes_killed_and_resumed(dir.path(), checkpointed, job, || !out.exists());
    assert_output(read(&out), &expected_counts(), "2 processes, 2 directories");
    for (process, other) in [(0, 1), (1, 0)] {
        let latest = latest_epoch(&own(process)).expect("a checkpoint");
        let epoch = own(process).join(format!("epoch-{latest}"));
        assert!(epoch.join(format!("process-{process}.state")).exists());
        assert!(!epoch.join(format!("process-{other}.state")).exists());
        // Process 0 has workers 0 and 1, process 1 workers 2 and 3.
        let theirs = format!("KeyedState-w{}.state", 2 * other);
        assert!(
            !epoch.join(&theirs).exists(),
            "{theirs} in {}",
            epoch.display()
        );
        let inspect = sluice()
            .args(["checkpoint", "inspect"])
            .arg(own(process))
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&inspect.stdout);
        assert!(inspect.status.success(), "{}", stderr(&inspect));
        assert!(
            listing.contains(&format!("ok (process {process}'s parts")),
            "{listing}"
        );
    }
}

/// A checkpoint writer that meets an error in one process of two (here: process 1 cannot make
/// the directory of its next epochs, where files are in the way) tells the other, and both
/// end with an error naming the file, rather than one waiting for the other forever.
#[test]
fn a_checkpoint_error_in_one_process_ends_both_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let own = |process| Directories::PerProcess.of(dir.path(), process);
    let job = |process, args: &[&str]| wordcount(&own(process), &out, args);
    let children = start_two_processes(dir.path(), &job);
    let deadline = Instant::now() + Duration::from_secs(30);
    while latest_epoch(&own(1)).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let latest = latest_epoch(&own(1)).expect("a checkpoint in process 1's directory");
    for next in 1..=200 {
        let blocked = own(1).join(format!("epoch-{}.pending", latest + 100 * next));
        let _ = std::fs::write(blocked, "in the way");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut children = children;
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        if Instant::now() > deadline {
            children.iter_mut().for_each(|c| drop(c.kill()));
            panic!("a process still runs 60 s after process 1's checkpoint error");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut logs = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(!output.status.success(), "{}", stderr(&output));
        logs.push(stderr(&output));
    }
    assert!(logs[0].contains("process 1 failed"), "{}", logs[0]);
    for log in &logs {
        assert!(log.contains(".pending"), "{log}");
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// Process 0 commits an epoch, then tells process 1, which commits its own parts of it in its
/// own directory: a crash between the two leaves process 1 with the epoch still pending. Made
/// so here, after a SIGKILL of both; on restart process 1 commits it, and both resume from it.
#[test]
fn a_process_that_missed_the_last_commit_commits_it_when_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let own = |process| Directories::PerProcess.of(dir.path(), process);
    let job = |process, args: &[&str]| wordcount(&own(process), &out, args);
    let children = start_two_processes(dir.path(), &job);
    kill_when("second checkpoint", children.into(), || {
        CheckpointDir::open(own(0))
            .and_then(|cp| cp.epochs())
            .is_ok_and(|epochs| epochs.len() >= 2)
    });
    assert!(!out.exists(), "the killed run finished before the kill");
    let latest = latest_epoch(&own(0)).expect("a checkpoint");
    // Process 1's directory as if it had crashed before committing `latest`.
    let committed = own(1).join(format!("epoch-{latest}"));
    let pending = own(1).join(format!("epoch-{latest}.pending"));
    if committed.exists() {
        std::fs::remove_file(committed.join("metadata.json")).unwrap();
        std::fs::rename(&committed, &pending).unwrap();
    }
    assert!(pending.exists(), "process 1 has no part of epoch {latest}");
    let older = CheckpointDir::open(own(1)).unwrap().epochs().unwrap();
    match older.last() {
        Some(epoch) => std::fs::write(own(1).join("LATEST"), epoch.to_string()).unwrap(),
        None => std::fs::remove_file(own(1).join("LATEST")).unwrap_or(()),
    }
    let log = finish_all(start_two_processes(dir.path(), &job));
    let resumed = format!("resuming from the checkpoint of epoch {latest}");
    assert_eq!(log.matches(&resumed).count(), 2, "{log}");
    assert_output(read(&out), &expected_counts(), "after the missed commit");
}

/// Two processes that run to their end commit their final checkpoint, whichever process
/// writes its last marker last: process 0 waits for the other's before its last commit. (It
/// used to try only when a part of its own arrived, and left the last epoch pending when the
/// other process's marker came after its own last part.)
#[test]
fn two_processes_that_run_to_the_end_commit_their_final_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let text = common::corpus_lines(0, 20_000);
    std::fs::write(&input, &text).unwrap();
    for k in 0..5 {
        let (checkpoints, out) = run_dirs(dir.path(), k);
        let job = |_, flags: &[&str]| {
            let mut command = file_wordcount(&input, &checkpoints, &out, "2");
            command.args(["--checkpoint-every", "20"]).args(flags);
            command
        };
        finish_all(start_two_processes(dir.path(), &job));
        let latest = latest_epoch(&checkpoints).expect("a checkpoint");
        // An epoch after the last commit that both processes completed (their markers are
        // there) should have been committed.
        let left: Vec<String> = std::fs::read_dir(&checkpoints)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|path| {
                let name = path.file_name().unwrap().to_string_lossy();
                let epoch = name
                    .trim_start_matches("epoch-")
                    .trim_end_matches(".pending");
                name.ends_with(".pending") && epoch.parse::<u64>().is_ok_and(|e| e > latest)
            })
            .filter(|path| (0..2).all(|p| path.join(format!("process-{p}.state")).exists()))
            .map(|path| path.display().to_string())
            .collect();
        assert!(
            left.is_empty(),
            "run {k}: completed epochs after the last commit ({latest}) left pending: {left:?}"
        );
        assert_eq!(read(&out), reference_counts(&text), "run {k}");
    }
}

/// A process of a two-process job killed with SIGKILL: the other ends with one clear error and
/// exit code 1, not a page of panics from every thread.
#[test]
fn a_process_whose_peer_is_killed_ends_with_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, common::corpus_lines(0, 100_000)).unwrap();
    let (checkpoints, out) = run_dirs(dir.path(), 0);
    let job = |_, flags: &[&str]| {
        let mut command = file_wordcount(&input, &checkpoints, &out, "1");
        command
            .args(["--slow-line-us", "50", "--checkpoint-every", "50"])
            .args(flags);
        command
    };
    let [first, mut second] = start_two_processes(dir.path(), &job);
    let deadline = Instant::now() + Duration::from_secs(30);
    while latest_epoch(&checkpoints).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let mut first = first;
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            first.kill().unwrap();
            panic!("process 0 still running 30 s after its peer was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = first.wait_with_output().unwrap();
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(
        log.contains("lost the connection to another process"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

/// Whether the newest checkpoint in `checkpoints` is of an unfinished run: a run is over once
/// its last checkpoint's event-time cut is the end of time.
fn event_time_unfinished(checkpoints: &Path) -> bool {
    let latest = latest_epoch(checkpoints).expect("a checkpoint");
    let path = checkpoints.join(format!("epoch-{latest}/metadata.json"));
    let metadata: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    metadata["metadata"]["event_epoch"]
        .as_u64()
        .is_some_and(|cut| cut < u64::MAX / 2)
}

/// Starts `job` (given the flags of its process) as 2 processes on loopback, with a hostfile in
/// `dir`; their stderr is piped.
/// `job(process, flags)` is process `process`'s command, to which these flags are added.
fn start_two_processes(dir: &Path, job: &impl Fn(usize, &[&str]) -> Command) -> [Child; 2] {
    let hosts = common::loopback_hosts(dir);
    let process = |i: usize| {
        let mut command = job(i, &["--processes", "2"]);
        command
            .args(["--process", &i.to_string(), "--hostfile"])
            .arg(&hosts)
            .stderr(std::process::Stdio::piped());
        command.spawn().expect("sluice starts")
    };
    // Process 0 first: process 1 connects to it (and would wait a second to retry).
    let first = process(0);
    [first, process(1)]
}

/// Waits for `children` to end, asserting that each succeeded within 60 s; their stderr.
fn finish_all(children: impl IntoIterator<Item = Child>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        log += &stderr(&output);
    }
    assert!(Instant::now() < deadline);
    log
}

/// A windowed count in event time rescaled at points in the middle of checkpoints: aborted
/// at 2 workers, resumed at 1 and aborted, resumed as 2 processes and aborted, then resumed at
/// 1 worker and run to the end. The timed file's readers go on from the offset they had all
/// reached, and `with_event_time`'s, the windows' and the epoch files' state is re-divided
/// (see `checkpoint::rescale`): every window is written once, with the plain loop's counts.
#[test]
fn a_windowed_count_rescaled_two_to_one_worker_to_two_processes_to_one_writes_every_window_once() {
    let (text, expected) = timed_input(200_000, 1000, 500);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, text).unwrap();
    let (checkpoints, out) = run_dirs(dir.path(), 0);
    let job = |flags: &[&str]| windowcount(&input, &checkpoints, &out, flags);
    let mut latest = None;
    let mut a_newer_checkpoint = |what: &str| {
        let now = latest_epoch(&checkpoints);
        assert!(now > latest, "no new checkpoint {what}");
        latest = now;
    };
    abort_after(job(&["--workers", "2"]), 77);
    a_newer_checkpoint("at 2 workers");
    abort_after(job(&["--workers", "1"]), 131);
    a_newer_checkpoint("at 1 worker");
    // Two processes, SIGKILLed as soon as they have committed a checkpoint.
    let before = latest_epoch(&checkpoints);
    let mut children = start_two_processes(dir.path(), &|_, flags| job(flags));
    let deadline = Instant::now() + Duration::from_secs(30);
    while latest_epoch(&checkpoints) <= before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for child in &mut children {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    a_newer_checkpoint("at 2 processes");
    assert!(
        event_time_unfinished(&checkpoints),
        "the 2 processes finished before the kill"
    );
    let output = complete(job(&["--workers", "1"]));
    let log = stderr(&output);
    assert!(
        log.contains("rescaling the checkpoint of 2 workers to 1 worker"),
        "{log}"
    );
    assert_output(
        all_lines(&out),
        &expected,
        "2 workers → 1 → 2 processes → 1",
    );
}

/// Runs `job` (given the flags of its process) as 2 processes on loopback, SIGKILLs both once
/// `checkpointed` holds (asserting that the run was then `unfinished`), restarts both, and
/// checks that both resumed.
fn two_processes_killed_and_resumed(
    dir: &Path,
    checkpointed: impl Fn() -> bool,
    job: impl Fn(usize, &[&str]) -> Command,
    unfinished: impl Fn() -> bool,
) {
    // Killed as soon as it holds: on loopback the first commit can come late in the 1.5 s
    // run (process 1 retries its connection after 1 s), and a later kill could find the run
    // already finished.
    kill_when(
        "checkpoint",
        start_two_processes(dir, &job).into(),
        &checkpointed,
    );
    assert!(unfinished(), "the killed run finished before the kill");
    let log = finish_all(start_two_processes(dir, &job));
    assert_eq!(
        log.matches("resuming from the checkpoint").count(),
        2,
        "{log}"
    );
}

#[test]
fn a_checkpoint_is_only_restored_into_its_own_program() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoints, out) = (dir.path().join("cp"), dir.path().join("out"));
    let generate = |lines: &str, extra: &[&str]| {
        let mut command = sluice();
        command
            .args([
                "run",
                "wordcount",
                "--generate",
                lines,
                "--status-every-ms",
                "0",
            ])
            .arg("--checkpoint-dir")
            .arg(&checkpoints)
            .arg("--final-counts")
            .arg(&out)
            .args(extra);
        command.output().unwrap()
    };
    assert!(generate("1000", &[]).status.success());
    let other = generate("2000", &[]);
    assert!(!other.status.success());
    let message = stderr(&other);
    assert!(message.contains("another program"), "{message}");
    assert!(message.contains(checkpoints.to_str().unwrap()), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    let discarded = generate("2000", &["--discard-checkpoint"]);
    assert!(discarded.status.success(), "{}", stderr(&discarded));
}

/// Damage to the newest checkpoint: a truncated part, and an intact part of an older epoch
/// put in its place (the same size and a valid frame: only the checksum the metadata keeps
/// tells). Each is named, and the job falls back to the checkpoint before.
#[test]
fn a_damaged_checkpoint_is_named_and_an_older_one_used() {
    let dir = tempfile::tempdir().unwrap();
    for (k, damage) in ["truncated", "swapped"].into_iter().enumerate() {
        let (checkpoints, out) = run_dirs(dir.path(), k);
        // Three committed epochs: an older one to fall back to, and to swap a part from (an
        // older part of the same size as a newer one: two epochs' offsets may be equal).
        let job = wordcount(&checkpoints, &out, &[])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        kill_when("third checkpoint", vec![job], || {
            CheckpointDir::open(&checkpoints)
                .and_then(|dir| dir.epochs())
                .is_ok_and(|epochs| epochs.len() >= 3)
                && (damage == "truncated" || swap_candidate(&checkpoints).is_some())
        });
        let latest = latest_epoch(&checkpoints).expect("a checkpoint");
        let damaged = match damage {
            "truncated" => {
                let damaged: PathBuf =
                    std::fs::read_dir(checkpoints.join(format!("epoch-{latest}")))
                        .unwrap()
                        .map(|e| e.unwrap().path())
                        .find(|p| p.to_string_lossy().contains("KeyedState"))
                        .expect("a keyed state part");
                let bytes = std::fs::read(&damaged).unwrap();
                std::fs::write(&damaged, &bytes[..bytes.len() - 3]).unwrap();
                damaged
            }
            _ => {
                let (new, old) = swap_candidate(&checkpoints)
                    .expect("an older part of the same size as a newer one");
                std::fs::write(&new, old).unwrap();
                new
            }
        };

        let inspect = sluice()
            .args(["checkpoint", "inspect"])
            .arg(&checkpoints)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&inspect.stdout);
        assert!(inspect.status.success(), "{}", stderr(&inspect));
        assert!(listing.contains(&latest.to_string()), "{damage}: {listing}");
        assert!(listing.contains("corrupt"), "{damage}: {listing}");

        let output = complete(wordcount(&checkpoints, &out, &[]));
        let log = stderr(&output);
        assert!(log.contains(damaged.to_str().unwrap()), "{damage}: {log}");
        assert!(log.contains("falling back"), "{damage}: {log}");
        assert_output(read(&out), &expected_counts(), damage);
    }
}

/// A part of the newest epoch in `checkpoints` and the bytes of the same part in an older
/// epoch, of the same size but not equal: an intact part of another epoch, which only the
/// metadata's checksums tell from the right one. Read while the job may still be writing.
fn swap_candidate(checkpoints: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let latest = latest_epoch(checkpoints)?;
    let epochs = CheckpointDir::open(checkpoints).ok()?.epochs().ok()?;
    let newest = std::fs::read_dir(checkpoints.join(format!("epoch-{latest}"))).ok()?;
    newest
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "state"))
        .find_map(|new| {
            let now = std::fs::read(&new).ok()?;
            let name = new.file_name()?.to_owned();
            let old = epochs
                .iter()
                .filter(|&&e| e < latest)
                .filter_map(|e| {
                    std::fs::read(checkpoints.join(format!("epoch-{e}")).join(&name)).ok()
                })
                .find(|old| old.len() == now.len() && *old != now)?;
            Some((new, old))
        })
}

#[test]
fn inspecting_a_missing_directory_names_it() {
    let output = sluice()
        .args(["checkpoint", "inspect", "/no/such/checkpoints"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("/no/such/checkpoints"),
        "{}",
        stderr(&output)
    );
}

/// `<time_ms> words…` lines (ten per ms) and the windowed counts a plain loop finds in them, as
/// sorted `end<TAB>word<TAB>count` lines.
fn timed_input(lines: u64, window: u64, slide: u64) -> (String, String) {
    let corpus = Corpus::new(CorpusSpec::default());
    let text: String = (0..lines)
        .map(|i| format!("{} {}\n", i / 10, corpus.line(i)))
        .collect();
    let events = (0..lines).map(|i| (i / 10, corpus.line(i)));
    (text, windowed_counts(events, window, slide))
}

/// `<arrival_ms> <event_ms> words…` lines in arrival order, each arriving up to `disorder` ms
/// after its event time (ten events per ms), and the windowed counts by event time a plain loop
/// finds in them.
fn event_time_input(lines: u64, window: u64, slide: u64, disorder: u64) -> (String, String) {
    let corpus = Corpus::new(CorpusSpec::default());
    let mut arrivals: Vec<(u64, u64)> = (0..lines)
        .map(|i| {
            let delay = SplitMix64::at(9, i).next_u64() % (disorder + 1);
            (i / 10 + delay, i)
        })
        .collect();
    arrivals.sort();
    let text: String = arrivals
        .iter()
        .map(|&(at, i)| format!("{at} {} {}\n", i / 10, corpus.line(i)))
        .collect();
    let events = (0..lines).map(|i| (i / 10, corpus.line(i)));
    (text, windowed_counts(events, window, slide))
}

/// Each sliding window's count of each word in `events`, as sorted `end<TAB>word<TAB>count`
/// lines.
fn windowed_counts(events: impl Iterator<Item = (u64, String)>, window: u64, slide: u64) -> String {
    let mut counts: std::collections::BTreeMap<(u64, String), u64> = Default::default();
    for (t, line) in events {
        for end in (t / slide + 1..)
            .map(|k| k * slide)
            .take_while(|end| *end <= t + window)
        {
            for word in line.split_ascii_whitespace() {
                *counts.entry((end, word.to_string())).or_default() += 1;
            }
        }
    }
    let mut expected: Vec<String> = counts
        .into_iter()
        .map(|((end, word), n)| format!("{end}\t{word}\t{n}"))
        .collect();
    expected.sort();
    expected.join("\n") + "\n"
}

/// `sluice run windowcount` over `input` (1 s windows sliding by 500 ms), checkpointing every
/// 100 ms into `checkpoints`, writing into `out`, with `extra` flags.
fn windowcount(input: &Path, checkpoints: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = sluice();
    command
        .args(["run", "windowcount", "--input"])
        .arg(input)
        .args(["--window-ms", "1000", "--slide-ms", "500"])
        .args(["--checkpoint-every", "100", "--checkpoint-dir"])
        .arg(checkpoints)
        .arg("--output")
        .arg(out)
        .args(extra);
    command
}

/// Every line of every epoch file in `dir`, sorted.
fn all_lines(dir: &Path) -> String {
    let mut lines = read_epochs(dir).unwrap();
    lines.sort();
    lines.join("\n") + "\n"
}

/// A window ending at a checkpoint's epoch emits at the epoch, after the cut: it must be in the
/// snapshot (an earlier version emitted it before saving and lost it when the crash came
/// before the sink's next epoch).
#[test]
fn a_killed_windowed_count_writes_every_window_exactly_once() {
    let (text, expected) = timed_input(200_000, 1000, 500);
    let kills = [
        // The sources alone give a part per epoch each: 2 × 200 at least.
        Some(Kill::AbortAfterParts(5)),
        Some(Kill::AbortAfterParts(150)),
        Some(Kill::AbortAfterParts(301)),
        Some(Kill::After(Duration::from_millis(250))),
    ];
    windowed_counts_killed_and_resumed(&text, &expected, &["--workers", "2"], &kills);
}

/// Runs the windowed count over `text` (with `extra` flags) once per entry of `kills`, each in
/// its own directories: stopped as the entry says (or not at all), then run to the end. Every
/// run's output must be `expected`, and at least 3 must have resumed from a checkpoint.
fn windowed_counts_killed_and_resumed(
    text: &str,
    expected: &str,
    extra: &[&str],
    kills: &[Option<Kill>],
) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, text).unwrap();
    let mut resumed = 0;
    for (k, kill) in kills.iter().enumerate() {
        let (checkpoints, out) = run_dirs(dir.path(), k);
        let command = || windowcount(&input, &checkpoints, &out, extra);
        match kill {
            Some(Kill::After(after)) => kill_after(command(), *after),
            Some(Kill::AbortAfterParts(parts)) => abort_after(command(), *parts),
            None => {}
        }
        let output = complete(command());
        resumed += usize::from(stderr(&output).contains("resuming from the checkpoint"));
        assert_output(all_lines(&out), expected, &format!("{kill:?}"));
    }
    assert!(
        resumed >= 3,
        "only {resumed} runs resumed from a checkpoint"
    );
}

/// Word count over the event log (log time: 100 lines per ms), aborted in the middle of
/// checkpoints and run again: the source resumes at the log offsets of the checkpoint.
#[test]
fn a_killed_word_count_over_the_event_log_resumes_to_the_failure_free_result() {
    use sluice::engine::log::{EventLog, Fsync, LogConfig};
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let corpus = Corpus::new(CorpusSpec::default());
    {
        let config = LogConfig::default()
            .fsync(Fsync::Never)
            .segment_bytes(1 << 20);
        let mut log = EventLog::open_with(&log_dir, config).unwrap();
        log.append_all((0..LINES).map(|i| (i / 100, corpus.line(i))))
            .unwrap();
    }
    let expected = expected_counts();
    let mut resumed = 0;
    for (k, parts) in [5, 25, 60].into_iter().enumerate() {
        let (checkpoints, out) = run_dirs(dir.path(), k);
        let command = || {
            let mut command = sluice();
            command
                .args(["run", "wordcount", "--log"])
                .arg(&log_dir)
                .args(["--workers", "2", "--status-every-ms", "0"])
                .args(["--checkpoint-every", "100", "--checkpoint-dir"])
                .arg(&checkpoints)
                .arg("--final-counts")
                .arg(&out);
            command
        };
        abort_after(command(), parts);
        let output = complete(command());
        resumed += usize::from(stderr(&output).contains("resuming from the checkpoint"));
        assert_output(read(&out), &expected, &format!("abort after {parts} parts"));
    }
    assert_eq!(resumed, 3, "every run resumes from a checkpoint");
}

/// The same crashes in micro-batch mode (50 ms batches, a checkpoint every other batch): the
/// sources' offsets are taken where a batch begins, the totals' state restored, and the
/// batches of the downtime run at once on restart.
#[test]
fn a_killed_micro_batch_word_count_resumes_to_the_failure_free_result() {
    let expected = expected_counts();
    let dir = tempfile::tempdir().unwrap();
    let minibatch = ["--mode", "minibatch", "--batch-ms", "50"];
    let mut resumed = 0;
    let kills = [
        Kill::After(Duration::from_millis(400)),
        Kill::After(Duration::from_millis(1100)),
        Kill::AbortAfterParts(5),
        Kill::AbortAfterParts(13),
        Kill::AbortAfterParts(30),
    ];
    for (k, kill) in kills.iter().enumerate() {
        let (checkpoints, out) = run_dirs(dir.path(), k);
        match *kill {
            Kill::After(after) => kill_after(wordcount(&checkpoints, &out, &minibatch), after),
            Kill::AbortAfterParts(parts) => {
                abort_after(wordcount(&checkpoints, &out, &minibatch), parts)
            }
        }
        let output = complete(wordcount(&checkpoints, &out, &minibatch));
        resumed += usize::from(stderr(&output).contains("resuming from the checkpoint"));
        assert_output(read(&out), &expected, &format!("micro-batch, {kill:?}"));
    }
    assert!(
        resumed >= 4,
        "only {resumed} runs resumed from a checkpoint"
    );
}

/// The windowed count in event time, killed and resumed: the checkpoint pairs the sources' cut
/// with an event-time cut behind every worker's watermark, `with_event_time` re-emits what it
/// had forwarded past it, and the windows resume from their state at it — every window's count
/// is written exactly once, equal to a plain loop over the events in event-time order.
#[test]
fn a_killed_event_time_windowed_count_writes_every_window_exactly_once() {
    let (text, expected) = event_time_input(200_000, 1000, 500, 300);
    let kills = [
        None,
        Some(Kill::AbortAfterParts(5)),
        Some(Kill::AbortAfterParts(150)),
        Some(Kill::AbortAfterParts(333)),
        Some(Kill::After(Duration::from_millis(250))),
    ];
    let extra = ["--workers", "2", "--disorder-ms", "300"];
    windowed_counts_killed_and_resumed(&text, &expected, &extra, &kills);
}
