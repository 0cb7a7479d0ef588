//! The sensor example's windowed averages against a plain loop, on 1 and 2 workers, with the
//! readings shuffled within the allowed disorder.

#[allow(dead_code)]
#[path = "../examples/sensor_anomalies.rs"]
mod sensor_anomalies;

use std::collections::BTreeMap;
use std::sync::Arc;

use sensor_anomalies::{alerts, sample, Reading, DISORDER_MS, SLIDE, THRESHOLD, WINDOW};
use sluice::prelude::*;

fn run(readings: Vec<Reading>, workers: usize) -> Vec<(Time, String, f64)> {
    let readings = Arc::new(readings);
    let found = Collector::new();
    let sink = found.clone();
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<Reading> = readings
            .iter()
            .skip(index)
            .step_by(peers)
            .cloned()
            .collect();
        worker.dataflow(|scope| alerts(scope.iterator_source(mine)).collect_into(&sink));
    })
    .unwrap();
    let mut found = found.take();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    found
}

#[test]
fn alerts_equal_a_plain_loop_for_any_order_and_workers() {
    let readings = sample();
    let (length, slide) = (WINDOW.as_millis() as Time, SLIDE.as_millis() as Time);
    let mut sums: BTreeMap<(Time, String), (f64, u64)> = BTreeMap::new();
    for (sensor, at, value) in &readings {
        let mut end = (at / slide + 1) * slide;
        while end <= at + length {
            let acc = sums.entry((end, sensor.clone())).or_default();
            acc.0 += value;
            acc.1 += 1;
            end += slide;
        }
    }
    let expected: Vec<(Time, String, f64)> = sums
        .into_iter()
        .map(|((end, sensor), (sum, n))| (end, sensor, sum / n as f64))
        .filter(|(_, _, average)| *average > THRESHOLD)
        .collect();
    assert!(expected.iter().all(|(_, sensor, _)| sensor == "boiler"));
    assert!(!expected.is_empty());
    for (seed, workers) in [(0u64, 1), (1, 2), (2, 2)] {
        let mut shuffled: Vec<(Time, Reading)> = readings
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    r.1 + (i as u64 * 7919 + seed * 104_729) % (DISORDER_MS + 1),
                    r.clone(),
                )
            })
            .collect();
        shuffled.sort_by_key(|a| a.0);
        let got = run(shuffled.into_iter().map(|(_, r)| r).collect(), workers);
        assert_eq!(
            got.len(),
            expected.len(),
            "seed {seed}, {workers} worker(s)"
        );
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((g.0, &g.1), (e.0, &e.1));
            assert!((g.2 - e.2).abs() < 1e-9, "{g:?} vs {e:?}");
        }
    }
}
