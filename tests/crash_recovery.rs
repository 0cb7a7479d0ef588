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
    let expected = plain_loop();
    let clean = word_count(&dir.path().join("clean"), None).unwrap();
    assert_eq!(clean.as_ref(), Some(&expected), "the failure-free run");
    for crash_after in [LINES / 4, LINES / 2, LINES * 3 / 4] {
        let checkpoints = dir.path().join(format!("crash-{crash_after}"));
        let first = word_count(&checkpoints, Some(crash_after)).unwrap();
        assert!(
            first.is_none(),
            "crash after {crash_after}: the run did not crash"
        );
        assert!(checkpoints.join("LATEST").exists());
        let resumed = word_count(&checkpoints, None).unwrap();
        assert_eq!(resumed, clean, "crash after {crash_after}, resumed");
    }
}
