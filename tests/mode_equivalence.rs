//! Native and micro-batch mode agree: windowed counts over the same random input are identical,
//! on one worker and two. (Word count's agreement, including two processes, is in wordcount.rs.)
//!
//! Micro-batch batch `t` holds the arrivals in `[t − interval, t)`, and its window at `t` the
//! batches in `(t − length, t]`; the native window ending at `t` holds the arrivals in
//! `[t − length, t)`. Batch `i` of the input arrives at `(i − 1) × interval` in both modes.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use sluice::minibatch::testing::ManualRun;
use sluice::prelude::*;

const INTERVAL: u64 = 100;

type Windows = BTreeMap<u64, BTreeMap<String, u64>>;

fn minibatch(input: &[Vec<String>], workers: usize, length: u64, slide: u64) -> Windows {
    let data: Vec<Option<Vec<String>>> = input.iter().cloned().map(Some).collect();
    let batches = ManualRun::new(INTERVAL)
        .workers(workers)
        .run(input.len(), move |g| {
            g.input_batches(data.clone(), 2).count_by_value_and_window(
                Duration::from_millis(length),
                Duration::from_millis(slide),
            )
        })
        .unwrap();
    batches
        .into_iter()
        .filter(|b| !b.is_empty())
        .map(|b| (b.time(), b.collect().into_iter().collect()))
        .collect()
}

fn native(input: &[Vec<String>], workers: usize, length: u64, slide: u64) -> Windows {
    let timed: Vec<(u64, String)> = (0..)
        .zip(input)
        .flat_map(|(i, batch)| batch.iter().map(move |w| (i * INTERVAL, w.clone())))
        .collect();
    let out = Collector::new();
    let sink = out.clone();
    execute(Execution::default().workers(workers), move |worker| {
        let mine = if worker.index() == 0 {
            timed.clone()
        } else {
            Vec::new()
        };
        worker.dataflow(|scope| {
            scope
                .timed_source(mine)
                .count_by_key_and_window(WindowSpec::sliding(
                    Duration::from_millis(length),
                    Duration::from_millis(slide),
                ))
                .collect_into(&sink);
        });
    })
    .unwrap();
    let last = input.len() as u64 * INTERVAL;
    let mut windows = Windows::new();
    for (end, word, n) in out.take() {
        if end <= last {
            windows.entry(end).or_default().insert(word, n);
        }
    }
    windows
}

fn input() -> impl Strategy<Value = Vec<Vec<String>>> {
    let word = prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from);
    prop::collection::vec(prop::collection::vec(word, 0..6), 1..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn windowed_counts_agree(input in input(), workers in 1usize..=2, shape in 0usize..3) {
        let (length, slide) = [(300, 100), (200, 200), (400, 200)][shape];
        prop_assert_eq!(minibatch(&input, workers, length, slide), native(&input, workers, length, slide));
    }
}
