//! `StreamingContext::get_or_create` resumes an upgraded program — which Spark cannot: a
//! context stopped part-way is recreated with a changed function in `update_state_by_key`'s
//! input and an added windowed count, and resumes from the checkpoint: the state carried from
//! before the change is still counted, what follows is counted the new way, and the new window
//! starts empty.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_engine::checkpoint::CheckpointDir;
use sluice_engine::clock::{Clock, ManualClock};
use sluice_engine::{Execution, Time};
use sluice_minibatch::testing::exclusive;
use sluice_minibatch::{Batch, StreamingContext};

const INTERVAL: Time = 100;
const BATCHES: Time = 24;
const WINDOW: Time = 3 * INTERVAL;

/// Each output's `(word, value)` pairs by batch time.
type Outputs = Arc<Mutex<BTreeMap<(&'static str, Time), BTreeMap<String, u64>>>>;

fn input() -> Vec<Option<Vec<String>>> {
    (0..BATCHES)
        .map(|i| {
            Some(
                (0..(i % 5 + 1))
                    .map(|j| format!("w{}", (i + j * 3) % 4))
                    .collect(),
            )
        })
        .collect()
}

/// Version 1 counts each word once; version 2 counts it ten times and adds a windowed count.
fn context(
    dir: &Path,
    clock: &ManualClock,
    outputs: &Outputs,
    (version, workers): (u8, usize),
) -> StreamingContext {
    let create = || {
        let execution = Execution::default()
            .workers(workers)
            .clock(Clock::Manual(clock.clone()));
        let mut ssc = StreamingContext::new(execution, Duration::from_millis(INTERVAL));
        ssc.checkpoint_interval(Duration::from_millis(2 * INTERVAL));
        let outputs = outputs.clone();
        ssc.define(move |graph| {
            let record = |name: &'static str, outputs: Outputs| {
                move |batch: Batch<(String, u64)>| {
                    let time = batch.time();
                    let pairs = batch.collect().into_iter().collect();
                    outputs.lock().unwrap().insert((name, time), pairs);
                }
            };
            let words = graph.input_batches(input(), 2);
            let weight = if version == 1 { 1 } else { 10 };
            words
                .map(move |w| (w, weight))
                .uid("totals")
                .update_state_by_key(|new: Vec<u64>, total: Option<u64>| {
                    Some(total.unwrap_or(0) + new.iter().sum::<u64>())
                })
                .foreach_rdd(record("totals", outputs.clone()));
            if version == 2 {
                words
                    .map(|w| (w, 1u64))
                    .uid("window")
                    .reduce_by_key_and_window(
                        |a, b| a + b,
                        Duration::from_millis(WINDOW),
                        Duration::from_millis(INTERVAL),
                    )
                    .foreach_rdd(record("window", outputs.clone()));
            }
        })
        .unwrap();
        Ok(ssc)
    };
    StreamingContext::get_or_create(dir, create).unwrap()
}

/// Runs batches `from..=to`.
fn run(ssc: &mut StreamingContext, clock: &ManualClock, from: Time, to: Time, graceful: bool) {
    ssc.start().unwrap();
    for i in from..=to {
        clock.advance_to(i * INTERVAL);
        ssc.await_batch(i * INTERVAL).unwrap();
    }
    ssc.stop(graceful).unwrap();
}

/// A failure-free run of `version` from scratch in `dir`.
fn failure_free(dir: &Path, version: u8) -> BTreeMap<(&'static str, Time), BTreeMap<String, u64>> {
    let outputs: Outputs = Arc::default();
    let clock = ManualClock::new(0);
    let mut ssc = context(dir, &clock, &outputs, (version, 2));
    run(&mut ssc, &clock, 1, BATCHES, true);
    let outputs = outputs.lock().unwrap().clone();
    outputs
}

#[test]
fn an_upgraded_program_resumes_with_the_state_of_the_old_one() {
    let _turn = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v1 = failure_free(&dir.path().join("v1"), 1);
    let v2 = failure_free(&dir.path().join("v2"), 2);
    for stop_after in [5, 12] {
        let checkpoints = dir.path().join(format!("cp-{stop_after}"));
        let first: Outputs = Arc::default();
        let clock = ManualClock::new(0);
        let mut ssc = context(&checkpoints, &clock, &first, (1, 2));
        run(&mut ssc, &clock, 1, stop_after, false);
        drop(ssc);
        let epoch = CheckpointDir::open(&checkpoints)
            .unwrap()
            .latest()
            .unwrap()
            .expect("a checkpoint");

        let resumed: Outputs = Arc::default();
        let clock = ManualClock::new(stop_after * INTERVAL);
        let mut ssc = context(&checkpoints, &clock, &resumed, (2, 2));
        run(&mut ssc, &clock, stop_after, BATCHES, true);
        let resumed = resumed.lock().unwrap().clone();
        // Totals: version 1's up to the last batch before the epoch, then ten per word.
        let carried = &v1[&("totals", epoch - INTERVAL)];
        for t in (epoch..=BATCHES * INTERVAL).step_by(INTERVAL as usize) {
            let expected: BTreeMap<String, u64> = v1[&("totals", t)]
                .iter()
                .map(|(w, total)| {
                    let before = carried.get(w).copied().unwrap_or(0);
                    (w.clone(), before + 10 * (total - before))
                })
                .collect();
            assert_eq!(
                resumed[&("totals", t)],
                expected,
                "stopped after {stop_after}, epoch {epoch}: totals at {t}"
            );
        }
        // The added window starts empty: a window wholly after the epoch is version 2's.
        for t in (epoch + WINDOW..=BATCHES * INTERVAL).step_by(INTERVAL as usize) {
            assert_eq!(resumed[&("window", t)], v2[&("window", t)], "window at {t}");
        }
        let first_window = &resumed[&("window", epoch)];
        let whole = &v2[&("window", epoch)];
        assert!(
            first_window.values().sum::<u64>() < whole.values().sum::<u64>(),
            "the added window at the epoch counted what came before it: {first_window:?}"
        );
    }
}

/// `update_state_by_key`'s state follows a change of workers: each key's state goes to the
/// home of its partition among the new workers, so the totals after the restore are a
/// failure-free run's.
#[test]
fn update_state_by_key_resumes_on_another_number_of_workers() {
    let _turn = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v1 = failure_free(&dir.path().join("v1"), 1);
    for (before, after) in [(2, 1), (1, 2), (2, 3)] {
        let checkpoints = dir.path().join(format!("cp-{before}-{after}"));
        let first: Outputs = Arc::default();
        let clock = ManualClock::new(0);
        let mut ssc = context(&checkpoints, &clock, &first, (1, before));
        run(&mut ssc, &clock, 1, 9, false);
        drop(ssc);
        let epoch = CheckpointDir::open(&checkpoints)
            .unwrap()
            .latest()
            .unwrap()
            .expect("a checkpoint");

        let resumed: Outputs = Arc::default();
        let clock = ManualClock::new(9 * INTERVAL);
        let mut ssc = context(&checkpoints, &clock, &resumed, (1, after));
        run(&mut ssc, &clock, 9, BATCHES, true);
        let resumed = resumed.lock().unwrap().clone();
        for t in (epoch..=BATCHES * INTERVAL).step_by(INTERVAL as usize) {
            assert_eq!(
                resumed[&("totals", t)],
                v1[&("totals", t)],
                "{before} → {after} workers, epoch {epoch}: totals at {t}"
            );
        }
    }
}
