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

/// A bid at `base + at` ms (base: a multiple of 10 s).
fn bid(at: i64, auction: i64, bidder: i64, price: i64) -> Event {
    use sluice_nexmark::model::{Bid, Channel, Extra};
    Event::Bid(Bid {
        auction,
        bidder,
        price,
        channel: Channel::hot(0),
        date_time: 1_704_067_200_000 + at,
        extra: Extra::default(),
    })
}

/// `engine` and the reference agree on hand-made `events`, and both give `expected` (rows
/// after the header, times relative to the base).
fn check_rows(query: &str, events: &[Event], expected: &[&str]) {
    let base = 1_704_067_200_000i64;
    let relative = |csv: String| -> Vec<String> {
        let rebase = |f: &str| match f.parse::<i64>() {
            Ok(t) if t >= base => (t - base).to_string(),
            _ => f.to_string(),
        };
        let rows = csv.lines().skip(1);
        rows.map(|l| l.split(',').map(rebase).collect::<Vec<_>>().join(","))
            .collect()
    };
    let reference = relative(reference::answer(query, events, &Params::default()));
    assert_eq!(reference, expected, "{query}: the reference");
    for workers in [1, 2] {
        assert_eq!(
            relative(engine(query, events, workers)),
            expected,
            "{query}"
        );
    }
}

/// q7's BETWEEN includes both ends: a bid at exactly a window's end is compared with that
/// window's maximum as well as its own window's, and is a row twice if it is both.
#[test]
fn q7_window_end_is_inclusive() {
    let events = [
        bid(0, 1, 1, 50),       // [0, 10 s): max 50, at its start
        bid(3000, 2, 1, 50),    // [0, 10 s): max 50 too
        bid(10_000, 3, 1, 50),  // [10 s, 20 s), but equals [0, 10 s)'s max at its end
        bid(15_000, 4, 1, 80),  // [10 s, 20 s): max 80
        bid(20_000, 5, 1, 80),  // [20 s, 30 s): its max, and [10 s, 20 s)'s at its end
        bid(25_000, 6, 1, 10),  // [20 s, 30 s)
        bid(40_000, 7, 1, 100), // pushes the watermark past the windows
    ];
    let expected = [
        "1,50,1,0,",
        "2,50,1,3000,",
        "3,50,1,10000,",
        "4,80,1,15000,",
        "5,80,1,20000,",
        "5,80,1,20000,",
        "7,100,1,40000,",
    ];
    check_rows("q7", &events, &expected);
}

/// q11's sessions are Flink's: bids exactly 10 s apart are one session (its windows touch),
/// 10.001 s apart two; a session ends 10 s after its last bid.
#[test]
fn q11_bids_exactly_the_gap_apart_are_one_session() {
    let events = [
        bid(0, 1, 7, 1),
        bid(10_000, 1, 7, 1),
        bid(20_001, 1, 7, 1),
        bid(20_001, 1, 8, 1),
    ];
    let expected = ["7,1,20001,30001", "7,2,0,20000", "8,1,20001,30001"];
    check_rows("q11", &events, &expected);
}
