//! The jobs as a library: what `sluice run` computes, without the command line.

use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_engine::sources::LineSource;
use sluice_engine::sources::TextFile;
use sluice_jobs::hashtags::{self, Hashtags};
use sluice_jobs::tweets::{Arrivals, TweetSpec};
use sluice_jobs::windowcount::WindowCount;
use sluice_jobs::wordcount::{self, Progress, WordCount};
use sluice_jobs::Mode;

fn file(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("in.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn word_count_is_the_same_in_both_modes_and_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let input = file(dir.path(), "b a\na c a\n\nc\n");
    let expected = vec![("a".into(), 3), ("b".into(), 1), ("c".into(), 2)];
    for mode in [Mode::Native, Mode::MicroBatch { interval_ms: 10 }] {
        let job = WordCount::new(LineSource::File(TextFile::open(&input).unwrap()), mode);
        let progress = Progress::default();
        let table = job.run(Execution::default().workers(2), &progress).unwrap();
        assert_eq!(table, expected, "{mode}");
        assert_eq!((progress.lines(), progress.words()), (4, 6), "{mode}");
    }
    let out = dir.path().join("counts.txt");
    wordcount::write_counts(&out, &expected).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "a\t3\nb\t1\nc\t2\n");
}

#[test]
fn event_time_hashtag_counts_do_not_depend_on_arrival_order_or_workers() {
    let job = |disorder_ms, workers| {
        let job = Hashtags {
            tweets: TweetSpec {
                tweets: 2000,
                ..TweetSpec::default()
            },
            arrivals: Arrivals {
                seed: 3,
                disorder_ms,
                ..Arrivals::default()
            },
            window: Duration::from_secs(1),
            slide: Duration::from_millis(500),
            disorder_ms,
            lateness_ms: 0,
            mode: Mode::Native,
        };
        job.run(Execution::default().workers(workers)).unwrap()
    };
    let (in_order, late) = job(0, 1);
    assert_eq!(late, 0);
    assert!(!in_order.is_empty());
    assert_eq!(job(300, 3), (in_order.clone(), 0));
    let top = hashtags::top_per_window(&in_order, 2);
    assert!(top.iter().all(|(_, tags)| tags.len() <= 2));
}

#[test]
fn window_count_writes_each_epoch_of_window_counts() {
    let dir = tempfile::tempdir().unwrap();
    let input = file(dir.path(), "100 a b\n900 a\n1500 b\nnot-a-time x\n2100 a\n");
    let output = dir.path().join("out");
    let job = WindowCount {
        input: TextFile::open(&input).unwrap(),
        window_ms: 1000,
        slide_ms: 1000,
        output: output.clone(),
        disorder_ms: None,
        lateness_ms: 0,
        epoch_ms: 1000,
    };
    let execution = Execution::default();
    assert_eq!(job.run(execution.clone()).unwrap(), 0);
    assert_eq!(execution.job().malformed_count(), 1);
    let mut lines: Vec<String> = std::fs::read_dir(&output)
        .unwrap()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            text.lines().map(String::from).collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        ["1000\ta\t2", "1000\tb\t1", "2000\tb\t1", "3000\ta\t1"]
    );
}
