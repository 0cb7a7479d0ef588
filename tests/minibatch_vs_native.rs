//! The micro-batch-vs-native example: on the same arrivals, both modes' final counts equal a
//! plain loop's, on 1 and 2 workers; native mode counts every view when it arrives, micro-batch
//! mode within one batch interval.

#[allow(dead_code)]
#[path = "../examples/minibatch_vs_native.rs"]
mod minibatch_vs_native;

use std::collections::BTreeMap;

use minibatch_vs_native::{delays, final_counts, minibatch, native, sample, INTERVAL_MS};

#[test]
fn both_modes_count_the_same_and_differ_only_in_when() {
    let arrivals = sample();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (_, page) in &arrivals {
        *expected.entry(page.clone()).or_default() += 1;
    }
    for workers in [1, 2] {
        let native = native(&arrivals, workers).unwrap();
        let batched = minibatch(&arrivals, workers).unwrap();
        assert_eq!(
            final_counts(&native),
            expected,
            "native, {workers} worker(s)"
        );
        assert_eq!(
            final_counts(&batched),
            expected,
            "micro-batch, {workers} worker(s)"
        );

        assert!(delays(&arrivals, &native).iter().all(|d| *d == 0));
        let batch_delays = delays(&arrivals, &batched);
        assert!(batch_delays.iter().all(|d| (1..=INTERVAL_MS).contains(d)));
        // Every batch holds arrivals, and each arrival's update comes at its batch's end.
        for ((at, _), delay) in arrivals.iter().zip(&batch_delays) {
            assert_eq!(at + delay, (at / INTERVAL_MS + 1) * INTERVAL_MS);
        }
    }
}
