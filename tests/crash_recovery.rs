//! The crash-recovery example: a word count aborted at several points once a checkpoint is
//! committed, then run again from its checkpoints, ends with the counts of a run that never
//! failed, which equal a plain loop's.

#[allow(dead_code)]
#[path = "../examples/crash_recovery.rs"]
mod crash_recovery;

use crash_recovery::{plain_loop, word_count, LINES};

#[test]
fn a_crashed_word_count_resumes_to_the_failure_free_counts() {
    let dir = tempfile::tempdir().unwrap();
    let clean = word_count(&dir.path().join("clean"), None).unwrap();
    assert_eq!(clean.counts, Some(plain_loop()), "the failure-free run");
    assert_eq!(clean.lines_read, LINES);
    for crash_after in [LINES / 4, LINES / 2, LINES * 3 / 4] {
        let checkpoints = dir.path().join(format!("crash-{crash_after}"));
        let crashed = word_count(&checkpoints, Some(crash_after)).unwrap();
        assert!(
            crashed.counts.is_none() && checkpoints.join("LATEST").exists(),
            "crash after {crash_after}: the run did not crash after a checkpoint"
        );
        let resumed = word_count(&checkpoints, None).unwrap();
        assert_eq!(resumed.counts, clean.counts, "crash after {crash_after}");
        // It resumed at the checkpoint's offsets: the lines before it were not read again.
        assert!(
            resumed.lines_read < LINES,
            "crash after {crash_after}: the resumed run read all {LINES} lines again"
        );
    }
}
