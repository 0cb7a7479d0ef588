//! Source behaviour that the operator tests do not cover: pacing, and resuming a file.

use std::io::Write;
use std::time::{Duration, Instant};

use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::{Corpus, CorpusSpec};
use sluice_engine::sources::{Generator, TextFile};

#[test]
fn a_paced_generator_follows_its_schedule_and_produces_each_line_once() {
    // 300 lines at 1000 lines/s: the last line is scheduled 299 ms after the start.
    let generator = Generator::new(CorpusSpec::default())
        .lines(300)
        .rate(1000.0);
    let corpus = Corpus::new(CorpusSpec::default());
    let lines = Collector::new();
    let sink = lines.clone();
    let start = Instant::now();
    execute(Execution::default().workers(2), move |worker| {
        worker.dataflow(|scope| scope.generate(&generator).collect_into(&sink));
    })
    .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "ran ahead of schedule: {:?}",
        start.elapsed()
    );
    let mut got = lines.take();
    let mut expected: Vec<String> = (0..300).map(|i| corpus.line(i)).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn a_file_resumes_from_a_reported_position() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"one\ntwo\nthree\nfour\n").unwrap();
    let read = |source: TextFile| {
        let lines = Collector::new();
        let sink = lines.clone();
        let handle = source.clone();
        execute(Execution::default(), move |worker| {
            worker.dataflow(|scope| scope.text_file(&handle).collect_into(&sink));
        })
        .unwrap();
        (lines.take(), source.positions())
    };
    let (all, positions) = read(TextFile::open(file.path()).unwrap());
    assert_eq!(all, vec!["one", "two", "three", "four"]);
    assert_eq!(positions.get(&0), Some(&19), "the end of the file");
    // Byte 8 is where "three" starts: a replay from there re-reads exactly the rest.
    let (rest, _) = read(TextFile::open(file.path()).unwrap().resume_at(0, 8));
    assert_eq!(rest, vec!["three", "four"]);
}
