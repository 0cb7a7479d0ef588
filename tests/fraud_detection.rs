//! The fraud-detection example's interval join against a plain loop, on 1 and 2 workers, with
//! the events shuffled within the allowed disorder.

#[allow(dead_code)]
#[path = "../examples/fraud_detection.rs"]
mod fraud_detection;

use std::sync::Arc;

use fraud_detection::{alerts, sample, Location, Payment, DISORDER_MS, WITHIN_MS};
use sluice::prelude::*;

/// Reorders `items` by event time plus a pseudo-random delay of at most the allowed disorder.
fn shuffled<T: Clone>(items: &[T], at: impl Fn(&T) -> Time, seed: u64) -> Vec<T> {
    let mut keyed: Vec<(Time, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let delay = (i as u64 * 2_654_435_761 + seed * 97) % (DISORDER_MS + 1);
            (at(x) + delay, i)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, i)| items[i].clone()).collect()
}

fn run(
    payments: Vec<Payment>,
    locations: Vec<Location>,
    workers: usize,
) -> Vec<(Payment, Location)> {
    let (payments, locations) = (Arc::new(payments), Arc::new(locations));
    let found = Collector::new();
    let sink = found.clone();
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let p: Vec<Payment> = payments
            .iter()
            .skip(index)
            .step_by(peers)
            .cloned()
            .collect();
        let l: Vec<Location> = locations
            .iter()
            .skip(index)
            .step_by(peers)
            .cloned()
            .collect();
        worker.dataflow(|scope| {
            alerts(scope.iterator_source(p), scope.iterator_source(l)).collect_into(&sink);
        });
    })
    .unwrap();
    let mut found = found.take();
    found.sort();
    found
}

#[test]
fn alerts_equal_a_plain_loop_for_any_order_and_workers() {
    let (payments, locations) = sample();
    let mut expected = Vec::new();
    for p in &payments {
        for l in &locations {
            let apart = l.at_ms as i64 - p.at_ms as i64;
            if p.card == l.card && apart.abs() <= WITHIN_MS && p.city != l.city {
                expected.push((p.clone(), l.clone()));
            }
        }
    }
    expected.sort();
    assert!(!expected.is_empty(), "the sample has a suspicious payment");
    for (seed, workers) in [(0, 1), (1, 2), (2, 2), (3, 1)] {
        let p = shuffled(&payments, |p| p.at_ms, seed);
        let l = shuffled(&locations, |l| l.at_ms, seed + 10);
        assert_eq!(
            run(p, l, workers),
            expected,
            "seed {seed}, {workers} worker(s)"
        );
    }
}
