//! Micro-batch recovery: a context stopped part-way and recreated with `get_or_create` on the
//! same checkpoint directory resumes at the checkpoint's batch with the state of
//! `update_state_by_key`, of an incremental window and of a naive window restored; every batch
//! it then outputs equals a failure-free run's batch at the same time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_engine::checkpoint::CheckpointDir;
use sluice_engine::clock::{Clock, ManualClock};
use sluice_engine::{Execution, Time};
use sluice_minibatch::testing::exclusive;
use sluice_minibatch::StreamingContext;

const INTERVAL: Time = 100;
const BATCHES: Time = 30;

/// Each output stream's sorted lines, by batch time.
type Outputs = Arc<Mutex<BTreeMap<(String, Time), Vec<String>>>>;

fn input() -> Vec<Option<Vec<String>>> {
    (0..BATCHES)
        .map(|i| {
            Some(
                (0..(i % 7 + 1))
                    .map(|j| format!("w{}", (i * 3 + j * 5) % 6))
                    .collect(),
            )
        })
        .collect()
}

/// A context over the input on `clock`; with `recover`, made by `get_or_create`.
fn context(dir: &Path, clock: &ManualClock, outputs: &Outputs, recover: bool) -> StreamingContext {
    let create = || {
        let execution = Execution::default()
            .workers(2)
            .clock(Clock::Manual(clock.clone()));
        let mut ssc = StreamingContext::new(execution, Duration::from_millis(INTERVAL));
        ssc.checkpoint_interval(Duration::from_millis(3 * INTERVAL));
        let outputs = outputs.clone();
        ssc.define(move |graph| {
            let words = graph.input_batches(input(), 2);
            let pairs = words.map(|w| (w, 1u64));
            let record = |name: &'static str, outputs: Outputs| {
                move |batch: sluice_minibatch::Batch<(String, u64)>| {
                    let time = batch.time();
                    let mut lines: Vec<String> =
                        batch.collect().iter().map(|p| format!("{p:?}")).collect();
                    lines.sort();
                    outputs
                        .lock()
                        .unwrap()
                        .insert((name.to_string(), time), lines);
                }
            };
            pairs
                .update_state_by_key(|new: Vec<u64>, total: Option<u64>| {
                    Some(total.unwrap_or(0) + new.iter().sum::<u64>())
                })
                .foreach_rdd(record("state", outputs.clone()));
            words
                .count_by_value_and_window(
                    Duration::from_millis(6 * INTERVAL),
                    Duration::from_millis(2 * INTERVAL),
                )
                .foreach_rdd(record("incremental", outputs.clone()));
            pairs
                .reduce_by_key_and_window(
                    |a, b| a + b,
                    Duration::from_millis(5 * INTERVAL),
                    Duration::from_millis(INTERVAL),
                )
                .foreach_rdd(record("naive", outputs.clone()));
        })
        .unwrap();
        Ok(ssc)
    };
    if recover {
        StreamingContext::get_or_create(dir, create).unwrap()
    } else {
        let mut ssc = create().unwrap();
        ssc.checkpoint(dir).unwrap();
        ssc
    }
}

/// Runs batches `from..=to` on a clock starting at `from − 1` batches.
fn run(ssc: &mut StreamingContext, clock: &ManualClock, from: Time, to: Time, graceful: bool) {
    ssc.start().unwrap();
    for i in from..=to {
        clock.advance_to(i * INTERVAL);
        ssc.await_batch(i * INTERVAL).unwrap();
    }
    ssc.stop(graceful).unwrap();
}

#[test]
fn a_recreated_context_resumes_with_the_state_of_its_checkpoint() {
    let _turn = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let reference: Outputs = Arc::default();
    {
        let clock = ManualClock::new(0);
        let mut ssc = context(&dir.path().join("reference"), &clock, &reference, false);
        run(&mut ssc, &clock, 1, BATCHES, true);
    }
    let reference = reference.lock().unwrap().clone();
    for stop_after in [4, 11, 17] {
        let checkpoints = dir.path().join(format!("cp-{stop_after}"));
        let first: Outputs = Arc::default();
        let clock = ManualClock::new(0);
        let mut ssc = context(&checkpoints, &clock, &first, true);
        run(&mut ssc, &clock, 1, stop_after, false);
        drop(ssc);
        let epoch = CheckpointDir::open(&checkpoints)
            .unwrap()
            .latest()
            .unwrap()
            .expect("a checkpoint");
        // Stopping completes the batch in progress; the last checkpoint follows it.
        assert!(
            epoch > 0 && epoch <= (stop_after + 4) * INTERVAL,
            "epoch {epoch}"
        );

        let resumed: Outputs = Arc::default();
        let clock = ManualClock::new(stop_after * INTERVAL);
        let mut ssc = context(&checkpoints, &clock, &resumed, true);
        run(&mut ssc, &clock, stop_after, BATCHES, true);
        let resumed = resumed.lock().unwrap().clone();
        let times: Vec<Time> = resumed.keys().map(|(_, t)| *t).collect();
        assert_eq!(
            times.iter().min(),
            Some(&epoch),
            "resumed at the checkpoint's batch"
        );
        let expected: BTreeMap<_, _> = reference
            .iter()
            .filter(|((_, t), _)| *t >= epoch && *t <= BATCHES * INTERVAL)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let got: BTreeMap<_, _> = resumed
            .into_iter()
            .filter(|((_, t), _)| *t <= BATCHES * INTERVAL)
            .collect();
        let differing: Vec<_> = expected
            .keys()
            .chain(got.keys())
            .filter(|k| got.get(*k) != expected.get(*k))
            .map(|k| (k, got.get(k), expected.get(k)))
            .take(3)
            .collect();
        assert!(
            differing.is_empty(),
            "stopped after batch {stop_after}, resumed at {epoch}: (output, got, expected) {differing:?}"
        );
    }
}
