//! Rescaling through the binary: a word count over a growing event log, killed -9 after a
//! checkpoint and restarted with another number of workers (2 → 1 → 2), and with one process
//! then two, ends with the plain loop's counts: its keyed state is re-divided by key group,
//! and its log readers go on from the offset they had all reached, so nothing is lost or
//! counted twice. State that cannot be re-divided is refused, naming its operator.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{
    append_to_log, corpus_lines, file_wordcount, kill_when, latest_epoch, log_wordcount, read,
    reference_counts, sluice, stderr,
};

/// Waits for a checkpoint after `before`, then kills `children` with SIGKILL.
fn kill_after_a_checkpoint(cp: &Path, before: Option<u64>, children: Vec<Child>) {
    kill_when("new checkpoint", children, || latest_epoch(cp) > before);
}

fn follow(dir: &Path, cp: &Path, out: &Path, workers: &str) -> Child {
    log_wordcount(dir, cp, out, &["--follow", "--workers", workers])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_word_count_rescaled_two_to_one_to_two_workers_equals_the_plain_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (log, cp, out) = (
        dir.path().join("log"),
        dir.path().join("cp"),
        dir.path().join("counts"),
    );
    let mut all = String::new();
    for (round, workers) in ["2", "1", "2", "1"].into_iter().enumerate() {
        let lines = corpus_lines(round as u64 * 2000, 2000);
        // The log's time is its appends': appended within the epoch of the last checkpoint,
        // the lines would pass no new epoch, and a following job would take no checkpoint.
        std::thread::sleep(Duration::from_millis(120));
        append_to_log(&log, &lines);
        all += &lines;
        let before = latest_epoch(&cp);
        let job = follow(&log, &cp, &out, workers);
        kill_after_a_checkpoint(&cp, before, vec![job]);
    }
    // The last run, with 2 workers, reads to the end of the log.
    let output = log_wordcount(&log, &cp, &out, &["--workers", "2"])
        .output()
        .unwrap();
    let log_text = stderr(&output);
    assert!(output.status.success(), "{log_text}");
    assert!(
        log_text.contains("rescaling the checkpoint of 1 worker to 2 workers"),
        "{log_text}"
    );
    assert_eq!(read(&out), reference_counts(&all));
}

#[test]
fn a_word_count_rescaled_from_one_process_to_two_equals_the_plain_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (log, cp, out) = (
        dir.path().join("log"),
        dir.path().join("cp"),
        dir.path().join("counts"),
    );
    let (first, second) = (corpus_lines(0, 3000), corpus_lines(3000, 3000));
    append_to_log(&log, &first);
    let job = follow(&log, &cp, &out, "1");
    kill_after_a_checkpoint(&cp, None, vec![job]);
    append_to_log(&log, &second);
    let hosts = common::loopback_hosts(dir.path());
    let process = |i: usize| {
        let index = i.to_string();
        log_wordcount(&log, &cp, &out, &["--processes", "2", "--process", &index])
            .arg("--hostfile")
            .arg(&hosts)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for child in [process(0), process(1)] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert_eq!(read(&out), reference_counts(&(first + &second)));
}

/// A word count over a file (each reader a byte range of it) killed after a checkpoint at 2
/// workers, at 3, then run to its end at 1, natively and in micro-batches:
/// what each old reader had left is divided again by byte range, and the running counts by
/// key group, so every line is counted once.
#[test]
fn a_word_count_over_a_file_rescaled_two_to_three_to_one_equals_the_plain_loop() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let text = corpus_lines(0, 600_000);
    std::fs::write(&input, &text).unwrap();
    let modes: [&[&str]; 2] = [
        &["--checkpoint-every", "20"],
        &[
            "--mode",
            "minibatch",
            "--batch-ms",
            "20",
            "--checkpoint-every",
            "40",
        ],
    ];
    for (m, mode) in modes.into_iter().enumerate() {
        let (cp, out) = (
            dir.path().join(format!("cp-{m}")),
            dir.path().join(format!("counts-{m}")),
        );
        // Each line costs 3 µs more, so that every run is still going when its crash point
        // comes, also on a loaded machine.
        let run = |workers: &str| {
            let mut command = file_wordcount(&input, &cp, &out, workers);
            command.args(mode).args(["--slow-line-us", "3"]);
            command
        };
        // SIGKILLed as soon as each has committed a checkpoint of its own.
        let spawn = |workers: &str| {
            let mut command = run(workers);
            command.stdout(Stdio::null()).stderr(Stdio::piped());
            command.spawn().unwrap()
        };
        kill_after_a_checkpoint(&cp, None, vec![spawn("2")]);
        let at_two = latest_epoch(&cp);
        kill_after_a_checkpoint(&cp, at_two, vec![spawn("3")]);
        let output = run("1").output().unwrap();
        let log = stderr(&output);
        assert!(output.status.success(), "{mode:?}: {log}");
        assert!(
            log.contains("rescaling the checkpoint of 3 workers to 1 worker"),
            "{mode:?}: {log}"
        );
        assert_eq!(read(&out), reference_counts(&text), "{mode:?}");
    }
}

/// State that cannot be divided — the generator's readers each make every n-th line — is
/// refused, naming its operator, and the checkpoint is left as it was.
#[test]
fn state_that_cannot_be_divided_is_refused_naming_its_operator() {
    let dir = tempfile::tempdir().unwrap();
    let (cp, out) = (dir.path().join("cp"), dir.path().join("counts"));
    let run = |workers: &str| {
        let mut command = sluice();
        command
            .args(["run", "wordcount", "--status-every-ms", "0"])
            .args(["--generate", "20000", "--workers", workers])
            .arg("--checkpoint-dir")
            .arg(&cp)
            .arg("--final-counts")
            .arg(&out);
        command.output().unwrap()
    };
    assert!(run("2").status.success());
    let refused = run("1");
    let error = stderr(&refused);
    assert!(!refused.status.success(), "{error}");
    assert!(error.contains("source-Generator"), "{error}");
    assert!(error.contains("resume with 2 workers"), "{error}");
    assert!(!error.contains("panicked"), "{error}");
    // It took no checkpoint: with 2 workers it resumes as before.
    assert!(run("2").status.success());
}
