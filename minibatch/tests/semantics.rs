//! Spark's rules beyond the conformance cases: lifecycle, definition errors, batch failures,
//! outputs, and windows and state against a plain loop on random input.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use sluice_engine::clock::{Clock, ManualClock};
use sluice_engine::Execution;
use sluice_minibatch::testing::{exclusive, ManualRun};
use sluice_minibatch::{
    read_object_files, BatchQueue, Slices, StreamingContext, StreamingContextState,
};

fn context() -> (
    StreamingContext,
    ManualClock,
    std::sync::MutexGuard<'static, ()>,
) {
    let turn = exclusive();
    let clock = ManualClock::new(0);
    let execution = Execution::default()
        .workers(2)
        .clock(Clock::Manual(clock.clone()));
    (
        StreamingContext::new(execution, Duration::from_secs(1)),
        clock,
        turn,
    )
}

fn start_error(
    define: impl for<'s> Fn(&sluice_minibatch::Graph<'s>) + Send + Sync + 'static,
) -> String {
    let (mut ssc, _, _turn) = context();
    ssc.define(define).unwrap();
    let err = ssc.start().unwrap_err().to_string();
    assert_eq!(
        ssc.state(),
        StreamingContextState::Stopped,
        "a failed start stops the context"
    );
    err
}

#[test]
fn lifecycle_follows_spark() {
    let (mut ssc, _, _turn) = context();
    assert_eq!(ssc.state(), StreamingContextState::Initialized);
    ssc.define(|g| {
        g.input_batches(vec![Some(vec![1u64])], 1)
            .foreach_rdd(|_| {})
    })
    .unwrap();
    ssc.start().unwrap();
    assert_eq!(ssc.state(), StreamingContextState::Active);
    ssc.start().unwrap(); // only a warning
    let err = ssc.define(|_| {}).unwrap_err().to_string();
    assert_eq!(err, "Adding new inputs, transformations, and output operations after starting a context is not supported");
    ssc.stop(true).unwrap();
    ssc.stop(true).unwrap();
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    assert_eq!(
        ssc.start().unwrap_err().to_string(),
        "StreamingContext has already been stopped"
    );
    assert!(ssc
        .define(|_| {})
        .unwrap_err()
        .to_string()
        .contains("after stopping a context"));
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
}

#[test]
fn only_one_context_is_active_per_process() {
    let (mut first, _, _turn) = context();
    first
        .define(|g| {
            g.input_batches(vec![Some(vec![1u64])], 1)
                .foreach_rdd(|_| {})
        })
        .unwrap();
    first.start().unwrap();
    let mut second = StreamingContext::new(Execution::default(), Duration::from_secs(1));
    second
        .define(|g| {
            g.input_batches(vec![Some(vec![1u64])], 1)
                .foreach_rdd(|_| {})
        })
        .unwrap();
    let err = second.start().unwrap_err().to_string();
    assert!(
        err.starts_with("Only one StreamingContext may be started in this process"),
        "{err}"
    );
    assert!(
        err.contains("semantics.rs"),
        "names where the running one started: {err}"
    );
    first.stop(true).unwrap();
}

#[test]
fn slice_returns_remembered_batches_between_two_times() {
    let slices: Slices<u64> = Slices::new();
    assert_eq!(
        slices.slice(0, 1000).unwrap_err().to_string(),
        "DStream has not been initialized"
    );
    let (mut ssc, clock, _turn) = context();
    let remembered = slices.clone();
    ssc.define(move |g| {
        g.input_batches((1..=4u64).map(|x| Some(vec![x])).collect(), 1)
            .remember_into(&remembered)
    })
    .unwrap();
    ssc.start().unwrap();
    for t in [1000, 2000, 3000, 4000] {
        clock.advance_to(t);
        ssc.await_batch(t).unwrap();
    }
    ssc.stop(true).unwrap();
    let slice = |from, to| -> Vec<u64> {
        slices
            .slice(from, to)
            .unwrap()
            .into_iter()
            .flat_map(|b| b.collect())
            .collect()
    };
    assert_eq!(slice(0, 1000), vec![1]);
    assert_eq!(slice(0, 2000), vec![1, 2]);
    assert_eq!(slice(1000, 2000), vec![1, 2]);
    assert_eq!(slice(2000, 4000), vec![2, 3, 4]);
    assert_eq!(
        slice(2500, 3999),
        vec![2, 3],
        "ends are floored to the slide"
    );
}

#[test]
fn a_non_graceful_stop_drops_the_batch_in_progress() {
    for graceful in [true, false] {
        let (mut ssc, clock, _turn) = context();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        ssc.define(move |g| {
            let sink = sink.clone();
            g.input_batches(vec![Some(vec![1u64]), Some(vec![2])], 1)
                .foreach_rdd(move |b| sink.lock().unwrap().push(b.time()))
        })
        .unwrap();
        ssc.start().unwrap();
        clock.advance_to(1000);
        ssc.await_batch(1000).unwrap();
        ssc.stop(graceful).unwrap();
        let seen = seen.lock().unwrap().clone();
        let expected: &[u64] = if graceful { &[1000, 2000] } else { &[1000] };
        assert_eq!(seen, expected, "graceful: {graceful}");
    }
}

#[test]
fn stopping_before_start_is_allowed() {
    let mut ssc = StreamingContext::new(Execution::default(), Duration::from_secs(1));
    ssc.stop(false).unwrap();
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
}

#[test]
fn definition_errors_fail_start_with_sparks_messages() {
    assert_eq!(
        start_error(|g| {
            g.input_batches::<u64>(vec![], 1);
        }),
        "requirement failed: No output operations registered, so nothing to execute"
    );
    assert_eq!(
        start_error(|g| g
            .input_batches::<(u64, u64)>(vec![], 1)
            .update_state_by_key(|v: Vec<u64>, s: Option<u64>| s.or(v.first().copied()))
            .foreach_rdd(|_| {})),
        "requirement failed: The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint()."
    );
    let s = Duration::from_millis;
    assert_eq!(
        start_error(move |g| g.input_batches::<u64>(vec![], 1).window(s(1500), s(1000)).foreach_rdd(|_| {})),
        "The window duration of windowed DStream (1500 ms) must be a multiple of the slide duration of parent DStream (1000 ms)"
    );
    assert_eq!(
        start_error(move |g| g.input_batches::<u64>(vec![], 1).window(s(2000), s(2500)).foreach_rdd(|_| {})),
        "The slide duration of windowed DStream (2500 ms) must be a multiple of the slide duration of parent DStream (1000 ms)"
    );
    assert_eq!(
        start_error(move |g| g.input_batches::<u64>(vec![], 1).count_by_window(s(3000), s(1500)).foreach_rdd(|_| {})),
        "requirement failed: The slide duration of ReducedWindowedDStream (1500 ms) must be multiple of the slide duration of parent DStream (1000 ms)"
    );
    assert!(
        start_error(|g| g.socket_text_stream("no-port").foreach_rdd(|_| {}))
            .contains("'no-port' is not host:port")
    );
}

#[test]
fn a_union_with_a_missing_batch_fails_at_that_time() {
    let err = ManualRun::new(1000)
        .run(3, |g| {
            let a = g.input_batches(vec![Some(vec![1u64]), None, Some(vec![3])], 1);
            let b = g.input_batches(vec![Some(vec![2u64]), Some(vec![2]), Some(vec![2])], 1);
            a.union(&b)
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Could not generate RDD from a parent for unifying at time 2000 ms"),
        "{err}"
    );
}

#[test]
fn count_and_reduce_differ_on_empty_batches() {
    let run = |reduce: bool| {
        ManualRun::new(1000)
            .workers(2)
            .run(3, move |g| {
                let input =
                    g.input_batches(vec![Some(vec![1u64, 2]), Some(vec![]), Some(vec![5])], 2);
                if reduce {
                    input.reduce(|a, b| a + b)
                } else {
                    input.count()
                }
            })
            .unwrap()
            .into_iter()
            .map(|b| b.collect())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(false), vec![vec![2], vec![0], vec![1]]);
    assert_eq!(run(true), vec![vec![3], vec![], vec![5]]);
}

#[test]
fn queue_stream_takes_one_batch_at_a_time_then_the_default() {
    let queue: BatchQueue<u64> = Arc::new(Mutex::new(VecDeque::from([vec![1, 2], vec![3]])));
    let out = ManualRun::new(1000)
        .run(3, move |g| g.queue_stream(&queue, true, Some(vec![9])))
        .unwrap();
    let out: Vec<Vec<u64>> = out.into_iter().map(|b| b.collect()).collect();
    assert_eq!(out, vec![vec![1, 2], vec![3], vec![9]]);
}

#[test]
fn saved_batches_appear_whole_under_sparks_names() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").to_str().unwrap().to_string();
    let (mut ssc, clock, _turn) = context();
    let (text, objects) = (prefix.clone(), format!("{prefix}-obj"));
    ssc.define(move |g| {
        let pairs = g.input_batches(
            vec![
                Some(vec![("a".to_string(), 1u64), ("b".into(), 2)]),
                Some(vec![]),
            ],
            2,
        );
        pairs.save_as_text_files(&text, "txt");
        pairs.save_as_object_files(&objects, "");
    })
    .unwrap();
    ssc.start().unwrap();
    for t in [1000, 2000] {
        clock.advance_to(t);
        ssc.await_batch(t).unwrap();
    }
    ssc.stop(true).unwrap();
    let first = std::path::PathBuf::from(format!("{prefix}-1000.txt"));
    let mut lines: Vec<String> = ["part-00000", "part-00001"]
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(first.join(p))
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    assert_eq!(lines, vec!["(a,1)", "(b,2)"]);
    let empty = std::path::PathBuf::from(format!("{prefix}-2000.txt"));
    assert!(
        empty.join("part-00000").exists(),
        "an empty batch is saved too"
    );
    let mut back: Vec<(String, u64)> =
        read_object_files(std::path::Path::new(&format!("{prefix}-obj-1000"))).unwrap();
    back.sort();
    assert_eq!(back, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("_temporary"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging directories are renamed into place"
    );
}

/// Random batches of (key, value) pairs: keys from a small set so windows overlap.
fn batches() -> impl Strategy<Value = Vec<Vec<(u8, i64)>>> {
    prop::collection::vec(prop::collection::vec((0u8..5, -3i64..10), 0..8), 1..8)
}

/// The window of batch `i` (0-based) of length `len` batches, every `slide` batches: per key sum.
fn window_sums(batches: &[Vec<(u8, i64)>], i: usize, len: usize) -> BTreeMap<u8, i64> {
    let mut sums = BTreeMap::new();
    for batch in &batches[(i + 1).saturating_sub(len)..=i] {
        for (k, v) in batch {
            *sums.entry(*k).or_default() += v;
        }
    }
    sums
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn windowed_sums_equal_a_plain_loop(input in batches(), workers in 1usize..=2, inverse in any::<bool>()) {
        let (len, slide) = (3usize, 2usize);
        let n = input.len();
        let data: Vec<Option<Vec<(u8, i64)>>> = input.iter().cloned().map(Some).collect();
        let out = ManualRun::new(100).workers(workers).run(n, move |g| {
            let pairs = g.input_batches(data.clone(), 3);
            let (l, s) = (Duration::from_millis(100 * len as u64), Duration::from_millis(100 * slide as u64));
            if inverse {
                pairs.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, l, s)
            } else {
                pairs.reduce_by_key_and_window(|a, b| a + b, l, s)
            }
        }).unwrap();
        let mut seen_keys = std::collections::BTreeSet::new();
        let mut expected_batches = Vec::new();
        for i in (slide - 1..n).step_by(slide) {
            let mut want = window_sums(&input, i, len);
            for batch in &input[..=i] { seen_keys.extend(batch.iter().map(|(k, _)| *k)); }
            if inverse {
                // Incremental windows keep every key seen so far (a sum back at 0 stays).
                for k in &seen_keys { want.entry(*k).or_insert(0); }
            }
            expected_batches.push(((i + 1) as u64 * 100, want));
        }
        let got: Vec<(u64, BTreeMap<u8, i64>)> = out.into_iter().map(|b| (b.time(), b.collect().into_iter().collect())).collect();
        prop_assert_eq!(got, expected_batches);
    }

    #[test]
    fn state_equals_a_plain_loop(input in batches(), workers in 1usize..=2) {
        let n = input.len();
        let data: Vec<Option<Vec<(u8, i64)>>> = input.iter().cloned().map(Some).collect();
        let out = ManualRun::new(100).workers(workers).run(n, move |g| {
            g.input_batches(data.clone(), 2).update_state_by_key(|values: Vec<i64>, total: Option<i64>| {
                let total = total.unwrap_or(0) + values.iter().sum::<i64>();
                (total < 20).then_some(total) // a key whose total reaches 20 is removed
            })
        }).unwrap();
        let mut state: BTreeMap<u8, i64> = BTreeMap::new();
        let mut want = Vec::new();
        for batch in &input {
            let mut values: BTreeMap<u8, i64> = state.keys().map(|k| (*k, 0)).collect();
            for (k, v) in batch { *values.entry(*k).or_default() += v; }
            for (k, add) in values {
                let total = state.get(&k).copied().unwrap_or(0) + add;
                if total < 20 { state.insert(k, total); } else { state.remove(&k); }
            }
            want.push(state.clone());
        }
        let got: Vec<BTreeMap<u8, i64>> = out.into_iter().map(|b| b.collect().into_iter().collect()).collect();
        prop_assert_eq!(got, want);
    }
}
