//! Checkpoints against the wrong input and damaged checkpoint files, through the binary.
//!
//! A checkpoint restored over another input resumes at offsets of another file and is
//! silently wrong; a checkpoint directory whose every epoch is damaged used to make `run`
//! start from scratch. Each test injects the fault and checks the one clear refusal, or — where
//! the input is the same file named another way, or an older epoch is intact — a result equal
//! to a plain loop's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{abort_after, read, reference_counts, sluice, stderr};
use sluice::engine::sources::corpus::{Corpus, CorpusSpec};

fn corpus(lines: u64, seed_offset: u64) -> String {
    let corpus = Corpus::new(CorpusSpec::default());
    (seed_offset..seed_offset + lines)
        .map(|i| corpus.line(i) + "\n")
        .collect()
}

/// `sluice run wordcount --input INPUT` run from `cwd`, checkpointing into `checkpoints`.
fn wordcount(cwd: &Path, input: &str, checkpoints: &Path, out: &Path) -> Command {
    let mut command = sluice();
    command
        .current_dir(cwd)
        .args(["run", "wordcount", "--input", input])
        .args(["--workers", "2", "--status-every-ms", "0"])
        .args(["--checkpoint-every", "10", "--checkpoint-dir"])
        .arg(checkpoints)
        .arg("--final-counts")
        .arg(out);
    command
}

fn refused(output: &Output, words: &[&str]) {
    let error = stderr(output);
    assert!(!output.status.success(), "accepted: {error}");
    assert!(!error.contains("panicked"), "{error}");
    for word in words {
        assert!(error.contains(word), "{word:?} missing from: {error}");
    }
}

/// A checkpoint taken of one run, aborted part way: (directory, input text, checkpoint dir).
fn aborted_run() -> (tempfile::TempDir, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus(300_000, 0);
    std::fs::write(dir.path().join("F"), &text).unwrap();
    let checkpoints = dir.path().join("K");
    let out = dir.path().join("out");
    abort_after(wordcount(dir.path(), "F", &checkpoints, &out), 8);
    assert!(
        checkpoints.join("LATEST").exists(),
        "no checkpoint was committed"
    );
    (dir, text, checkpoints)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The reproduction: another file also named F, with the checkpoint copied beside it.
#[test]
fn a_checkpoint_over_another_file_of_the_same_name_is_refused() {
    let (_first, _, checkpoints) = aborted_run();
    let elsewhere = tempfile::tempdir().unwrap();
    let other = corpus(200_000, 7_000_000);
    std::fs::write(elsewhere.path().join("F"), &other).unwrap();
    let copied = elsewhere.path().join("K");
    copy_dir(&checkpoints, &copied);
    let out = elsewhere.path().join("out");

    let output = wordcount(elsewhere.path(), "F", &copied, &out)
        .output()
        .unwrap();
    refused(
        &output,
        &["another input", "F", "bytes", "--discard-checkpoint"],
    );
    assert!(!out.exists(), "a refused run wrote output");

    let output = wordcount(elsewhere.path(), "F", &copied, &out)
        .arg("--discard-checkpoint")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(&out), reference_counts(&other));
}

/// The same file named `./F`, by its absolute path, or through a symbolic link resumes.
#[test]
fn the_same_file_named_another_way_resumes() {
    let (dir, text, checkpoints) = aborted_run();
    let out = dir.path().join("out");
    std::os::unix::fs::symlink(dir.path().join("F"), dir.path().join("link")).unwrap();
    let absolute = dir.path().join("F").display().to_string();
    for name in ["./F", absolute.as_str(), "link"] {
        let output = wordcount(dir.path(), name, &checkpoints, &out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("resuming from the checkpoint"),
            "{name}: {}",
            stderr(&output)
        );
        assert_eq!(read(&out), reference_counts(&text), "{name}");
    }
}

/// A file changed in place (same path, other content) is refused too.
#[test]
fn a_file_changed_in_place_is_refused() {
    let (dir, text, checkpoints) = aborted_run();
    let mut changed = text.into_bytes();
    let middle = changed.len() / 2;
    changed[middle] = if changed[middle] == b'x' { b'y' } else { b'x' };
    std::fs::write(dir.path().join("F"), &changed).unwrap();
    let output = wordcount(dir.path(), "F", &checkpoints, &dir.path().join("out"))
        .output()
        .unwrap();
    refused(
        &output,
        &["another input", "other content", "--discard-checkpoint"],
    );
}

/// `sluice run wordcount` over the paced generator (about 1.5 s), checkpointing every 100 ms.
fn generated(checkpoints: &Path, out: &Path) -> Command {
    let mut command = sluice();
    command
        .args([
            "run",
            "wordcount",
            "--generate",
            "150000",
            "--rate",
            "100000",
        ])
        .args(["--workers", "2", "--status-every-ms", "0"])
        .args(["--checkpoint-every", "100", "--checkpoint-dir"])
        .arg(checkpoints)
        .arg("--final-counts")
        .arg(out);
    command
}

/// A generated run aborted after several checkpoints: (directory, expected counts, checkpoints).
fn aborted_generated_run() -> (tempfile::TempDir, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("K");
    abort_after(generated(&checkpoints, &dir.path().join("out")), 40);
    (dir, reference_counts(&corpus(150_000, 0)), checkpoints)
}

/// Every kind of checkpoint file damaged in the newest epoch: the run falls back to an older
/// one (saying so) and its result is still the plain loop's; with every epoch damaged, the run
/// and `checkpoint inspect` refuse, naming the damage, until `--discard-checkpoint`.
#[test]
fn damaged_checkpoint_files_fall_back_or_are_refused() {
    for kind in ["metadata", "part", "truncated part", "LATEST"] {
        let (dir, expected, checkpoints) = aborted_generated_run();
        let out = dir.path().join("out");
        let epochs = committed_epochs(&checkpoints);
        assert!(epochs.len() >= 2, "{kind}: {epochs:?}");
        damage(&checkpoints, epochs.last().unwrap(), kind);
        let output = generated(&checkpoints, &out).output().unwrap();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert!(stderr(&output).contains("unusable") || kind == "LATEST");
        assert_eq!(read(&out), expected, "{kind}");
    }

    let (dir, expected, checkpoints) = aborted_generated_run();
    for epoch in committed_epochs(&checkpoints) {
        damage(&checkpoints, &epoch, "part");
    }
    let out = dir.path().join("out");
    let output = generated(&checkpoints, &out).output().unwrap();
    refused(
        &output,
        &["no usable checkpoint", ".state", "--discard-checkpoint"],
    );
    assert!(!out.exists());
    let inspect = sluice()
        .args(["checkpoint", "inspect"])
        .arg(&checkpoints)
        .output()
        .unwrap();
    refused(&inspect, &["no usable checkpoint"]);
    let listing = String::from_utf8_lossy(&inspect.stdout).to_string();
    assert!(
        !listing.contains(" 0      0 "),
        "damaged epochs shown as empty: {listing}"
    );
    let output = generated(&checkpoints, &out)
        .arg("--discard-checkpoint")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(&out), expected);
}

fn committed_epochs(checkpoints: &Path) -> Vec<PathBuf> {
    let mut epochs: Vec<PathBuf> = std::fs::read_dir(checkpoints)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.join("metadata.json").exists())
        .collect();
    epochs.sort_by_key(|p| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse::<u64>()
            .unwrap_or(0)
    });
    epochs
}

/// Damages one kind of file of the epoch in `epoch` (or the directory's LATEST pointer).
fn damage(checkpoints: &Path, epoch: &Path, kind: &str) {
    let flip = |path: &Path| {
        let mut bytes = std::fs::read(path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x41;
        std::fs::write(path, bytes).unwrap();
    };
    let part = || {
        std::fs::read_dir(epoch)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "state"))
            .expect("a part file")
    };
    match kind {
        "metadata" => flip(&epoch.join("metadata.json")),
        "part" => flip(&part()),
        "truncated part" => {
            let path = part();
            let len = std::fs::metadata(&path).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len / 2)
                .unwrap();
        }
        _ => std::fs::write(checkpoints.join("LATEST"), b"not an epoch").unwrap(),
    }
}
