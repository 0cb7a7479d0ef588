//! Every query's final table equals the reference's (a plain loop over the same events), with
//! 1 and 2 workers, and with the events delivered out of order within the watermark bound.

mod reference;

use std::sync::Arc;

use sluice_engine::Execution;
use sluice_nexmark::generator::{EventSet, NexmarkOptions};
use sluice_nexmark::job::{Input, NexmarkRun};
use sluice_nexmark::model::Event;
use sluice_nexmark::queries::{Params, WATERMARK_MS};

/// 20,000 events over 20 s of event time (1,000 events/s): enough for 10 s windows to fire,
/// sessions to close and auctions to expire.
fn events() -> Vec<Event> {
    let options = NexmarkOptions {
        first_event_rate: 1000,
        ..NexmarkOptions::default()
    };
    EventSet::new(options, 1, Some(20_000)).iter().collect()
}

/// The events in an arrival order where each is displaced by less than the watermark bound:
/// sorted by event time plus a pseudo-random delay below 3 s, so none arrives behind the
/// watermark, but many arrive after later events.
fn out_of_order(events: &[Event]) -> Vec<Event> {
    let mut delayed: Vec<(u64, usize)> = (0..events.len())
        .map(|i| {
            let jitter = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
            let delay = jitter % (WATERMARK_MS - 1000);
            (events[i].date_time() as u64 + delay, i)
        })
        .collect();
    delayed.sort_unstable();
    delayed
        .into_iter()
        .map(|(_, i)| events[i].clone())
        .collect()
}

fn engine(query: &str, events: &[Event], workers: usize) -> String {
    NexmarkRun::new(query, Input::Given(Arc::new(events.to_vec())))
        .run(Execution::default().workers(workers))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .csv()
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// The engine's table for `query` equals the reference's, in order, with 2 workers, and out of
/// order.
fn check(query: &str) {
    let events = events();
    let expected = reference::answer(query, &events, &Params::default());
    assert!(
        expected.lines().count() > 1,
        "{query}: the reference table is empty; the check would prove nothing"
    );
    let shuffled = out_of_order(&events);
    for (what, input, workers) in [
        ("1 worker", &events, 1),
        ("2 workers", &events, 2),
        ("2 workers, out of order", &shuffled, 2),
    ] {
        let actual = engine(query, input, workers);
        if actual != expected {
            let (a, e): (Vec<_>, Vec<_>) = (actual.lines().collect(), expected.lines().collect());
            let first = a.iter().zip(&e).position(|(x, y)| x != y);
            panic!(
                "{query}, {what}: {} rows, expected {}; first difference at row {first:?}: {:?} vs {:?}",
                a.len(),
                e.len(),
                first.map(|i| a[i]),
                first.map(|i| e[i]),
            );
        }
    }
}

#[test]
fn q0() {
    check("q0");
}
#[test]
fn q1() {
    check("q1");
}
#[test]
fn q2() {
    check("q2");
}
#[test]
fn q5() {
    check("q5");
}
#[test]
fn q7() {
    check("q7");
}
#[test]
fn q8() {
    check("q8");
}
#[test]
fn q11() {
    check("q11");
}

/// q12 counts in windows of processing time, so its rows depend on when bids are read: per
/// bidder, the counts add up to its bids (every window fired, at the latest when the bounded
/// input ended), and every window is 10 s long, aligned to 10 s, and of the run's wall-clock
/// time.
#[test]
fn q12() {
    let events = events();
    let mut expected: std::collections::BTreeMap<i64, i64> = Default::default();
    for b in reference::bids(&events) {
        *expected.entry(b.bidder).or_insert(0) += 1;
    }
    let now = || {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        since_epoch.unwrap().as_millis() as i64
    };
    for workers in [1, 2] {
        let before = now();
        let csv = engine("q12", &events, workers);
        let after = now();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("bidder,bid_count,starttime,endtime"));
        let mut counted: std::collections::BTreeMap<i64, i64> = Default::default();
        for line in lines {
            let f: Vec<i64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            let (bidder, count, start, end) = (f[0], f[1], f[2], f[3]);
            assert!(count > 0, "{line}");
            assert_eq!(end - start, 10_000, "{line}");
            assert_eq!(start % 10_000, 0, "{line}");
            // Processing time (now), not event time (the generator's 2024).
            assert!(before - 10_000 < start && start <= after, "{line}");
            *counted.entry(bidder).or_insert(0) += count;
        }
        assert_eq!(counted, expected, "{workers} worker(s)");
    }
}
