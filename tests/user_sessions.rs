//! The sessions example's visits against a plain loop, on 1 and 2 workers, with the clicks
//! shuffled within the allowed disorder.

#[allow(dead_code)]
#[path = "../examples/user_sessions.rs"]
mod user_sessions;

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice::prelude::*;
use user_sessions::{sample, visits, Click, Visit, DISORDER_MS, GAP_MS};

fn run(clicks: Vec<Click>, workers: usize) -> Vec<Visit> {
    let clicks = Arc::new(clicks);
    let found = Collector::new();
    let sink = found.clone();
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<Click> = clicks.iter().skip(index).step_by(peers).cloned().collect();
        worker.dataflow(|scope| visits(scope.iterator_source(mine)).collect_into(&sink));
    })
    .unwrap();
    let mut found = found.take();
    found.sort();
    found
}

/// Sorts each user's clicks by time and cuts wherever two are `GAP_MS` or more apart.
fn plain_loop(clicks: &[Click]) -> Vec<Visit> {
    let mut by_user: BTreeMap<&str, Vec<Time>> = BTreeMap::new();
    for (user, at) in clicks {
        by_user.entry(user).or_default().push(*at);
    }
    let mut visits = Vec::new();
    for (user, mut times) in by_user {
        times.sort();
        let (mut start, mut last, mut count) = (times[0], times[0], 0);
        for t in times {
            if t >= last + GAP_MS {
                visits.push((user.to_string(), start, last + GAP_MS, count));
                (start, count) = (t, 0);
            }
            last = t;
            count += 1;
        }
        visits.push((user.to_string(), start, last + GAP_MS, count));
    }
    visits.sort();
    visits
}

#[test]
fn visits_equal_a_plain_loop_for_any_order_and_workers() {
    let clicks = sample();
    let expected = plain_loop(&clicks);
    let users = expected
        .iter()
        .map(|v| &v.0)
        .collect::<std::collections::BTreeSet<_>>();
    assert!(
        users.len() == 4 && expected.len() > 2 * users.len(),
        "{expected:?}"
    );
    for (seed, workers) in [(0u64, 1), (1, 2), (2, 2)] {
        // Each click delayed by a pseudo-random amount within the disorder, then sent in
        // arrival order.
        let mut arrivals: Vec<(Time, Click)> = clicks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let delay = (i as u64 * 7919 + seed * 104_729) % (DISORDER_MS + 1);
                (c.1 + delay, c.clone())
            })
            .collect();
        arrivals.sort();
        let got = run(arrivals.into_iter().map(|(_, c)| c).collect(), workers);
        assert_eq!(got, expected, "seed {seed}, {workers} worker(s)");
    }
}
