//! The event log from the shell with damaged files and bytes that are not text.
//!
//! `sluice log info`, `tail` and `append` must name damage (segment, offset, byte) with a
//! non-zero exit and change nothing; `sluice log repair` must keep every intact record; and a
//! record that is not UTF-8 is stored exactly and skipped and counted by every reader, as
//! `--input` does with such a line.

mod common;

use std::path::{Path, PathBuf};

use common::{read, reference_counts, run_with_stdin, sluice, stderr};
use sluice::engine::log::segment;

fn append(dir: &Path, input: &[u8]) -> std::process::Output {
    run_with_stdin(sluice().args(["log", "append"]).arg(dir), input)
}

fn log_command(args: &[&str], dir: &Path) -> std::process::Output {
    sluice().arg("log").args(args).arg(dir).output().unwrap()
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let bases = segment::list(dir).unwrap();
    bases
        .into_iter()
        .map(|b| segment::segment_path(dir, b))
        .collect()
}

/// The byte position of the record with `offset` in a fresh single-segment log.
fn position_of(segment: &Path, offset: usize) -> usize {
    let bytes = std::fs::read(segment).unwrap();
    let mut at = 0;
    for _ in 0..offset {
        at += 24 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    at
}

/// The reproduction through the binary: a huge length in the middle of the newest
/// segment. Info, tail and append each refuse with the segment, offset and byte; append
/// changes nothing; repair brings every other record back; append then goes on past them.
#[test]
fn a_damaged_log_is_named_refused_and_repaired_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let lines: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    assert!(append(&log, lines.as_bytes()).status.success());
    let segment = segments(&log).pop().unwrap();
    let at = position_of(&segment, 5_000);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[at..at + 4].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
    std::fs::write(&segment, &bytes).unwrap();
    let named = |output: &std::process::Output| {
        let error = stderr(output);
        assert!(!output.status.success(), "{error}");
        assert!(!error.contains("panicked"), "{error}");
        for part in [
            "00000000000000000000.log",
            "offset 5000",
            &format!("byte {at}"),
            "sluice log repair",
        ] {
            assert!(error.contains(part), "{part:?} missing: {error}");
        }
    };

    named(&log_command(&["info"], &log));
    let tail = log_command(&["tail"], &log);
    named(&tail);
    assert_eq!(String::from_utf8_lossy(&tail.stdout).lines().count(), 5_000);
    named(&append(&log, b"more\n"));
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        bytes,
        "append changed the log"
    );

    let skipping = log_command(&["tail", "--skip-damaged"], &log);
    assert!(skipping.status.success(), "{}", stderr(&skipping));
    assert_eq!(
        String::from_utf8_lossy(&skipping.stdout).lines().count(),
        9_999
    );
    assert!(
        stderr(&skipping).contains("skipped"),
        "{}",
        stderr(&skipping)
    );

    let repair = log_command(&["repair"], &log);
    assert!(repair.status.success(), "{}", stderr(&repair));
    let report = String::from_utf8_lossy(&repair.stdout);
    assert!(report.contains("5000..5001"), "{report}");
    let quarantine = std::fs::read_dir(log.join("quarantine")).unwrap().count();
    assert_eq!(quarantine, 1);

    let info = log_command(&["info"], &log);
    assert!(info.status.success(), "{}", stderr(&info));
    assert!(String::from_utf8_lossy(&info.stdout).contains("records:   9999"));
    assert!(append(&log, b"more\n").status.success());
    let tail = log_command(&["tail", "--offsets"], &log);
    let printed = String::from_utf8_lossy(&tail.stdout).to_string();
    let expected: Vec<String> = (0..10_000)
        .filter(|&i| i != 5_000)
        .map(|i| format!("line {i}"))
        .chain(["more".to_string()])
        .collect();
    let got: Vec<&str> = printed
        .lines()
        .map(|l| l.splitn(3, '\t').nth(2).unwrap())
        .collect();
    assert_eq!(got, expected);
    assert!(printed.lines().last().unwrap().starts_with("10000\t"));
}

/// A repaired log holds what it held: repairing an intact log changes nothing.
#[test]
fn repairing_an_intact_log_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    assert!(append(&log, b"a\nb\nc\n").status.success());
    let before = std::fs::read(segments(&log).pop().unwrap()).unwrap();
    let repair = log_command(&["repair"], &log);
    assert!(repair.status.success());
    assert!(String::from_utf8_lossy(&repair.stdout).contains("nothing changed"));
    assert_eq!(
        std::fs::read(segments(&log).pop().unwrap()).unwrap(),
        before
    );
    assert!(!log.join("quarantine").exists());
}

/// Bytes that are not UTF-8 are stored exactly; `tail` skips and counts them (and `--raw`
/// prints them), and word count over the log skips and reports them exactly as `--input` does.
#[test]
fn records_that_are_not_text_are_stored_exactly_and_skipped_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let input: &[u8] = b"good words here\n\xff\xfe bad\nmore good words\n";
    assert!(append(&log, input).status.success());

    let raw = log_command(&["tail", "--raw"], &log);
    assert_eq!(raw.stdout, input, "stored bytes differ");
    let text = log_command(&["tail"], &log);
    assert!(text.status.success());
    assert_eq!(text.stdout, b"good words here\nmore good words\n");
    assert!(
        stderr(&text).contains("1 record(s) not valid UTF-8"),
        "{}",
        stderr(&text)
    );

    let file = dir.path().join("input.txt");
    std::fs::write(&file, input).unwrap();
    let expected = reference_counts("good words here\nmore good words\n");
    for source in [
        ["--log", log.to_str().unwrap()],
        ["--input", file.to_str().unwrap()],
    ] {
        let out = dir.path().join("counts");
        let output = sluice()
            .args(["run", "wordcount"])
            .args(source)
            .args(["--status-every-ms", "0", "--final-counts"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("1 malformed record(s) skipped"),
            "{source:?}: {}",
            stderr(&output)
        );
        assert_eq!(read(&out), expected, "{source:?}");
    }
}
