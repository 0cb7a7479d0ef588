//! Every query's final table equals the reference's (a plain loop over the same events), with
//! 1 and 2 workers, and with the events delivered out of order within the watermark bound.

use std::sync::Arc;

use sluice_engine::Execution;
use sluice_nexmark::generator::{EventSet, NexmarkOptions};
use sluice_nexmark::job::{Input, NexmarkRun};
use sluice_nexmark::model::Event;
use sluice_nexmark::queries::{Params, WATERMARK_MS};
use sluice_nexmark::reference;
use sluice_nexmark::source::NexmarkSource;

/// The test events' options: 1,000 events per second of event time.
fn options() -> NexmarkOptions {
    NexmarkOptions {
        first_event_rate: 1000,
        ..NexmarkOptions::default()
    }
}

/// 20,000 events over 20 s of event time: enough for 10 s windows to fire, sessions to close
/// and auctions to expire.
fn events() -> Vec<Event> {
    EventSet::new(options(), 1, Some(20_000)).iter().collect()
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

fn engine(query: &str, events: &[Event], workers: usize, params: &Params) -> String {
    NexmarkRun::new(query, Input::Given(Arc::new(events.to_vec())))
        .params(params.clone())
        .run(Execution::default().workers(workers))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .csv()
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// The engine's table for `query` equals the reference's, in order, with 2 workers, and out of
/// order.
fn check(query: &str) {
    check_with(query, events(), &Params::default());
}

/// [`check`] on other events, with `params`.
fn check_with(query: &str, events: Vec<Event>, params: &Params) {
    let expected = reference::answer(query, &events, params)
        .unwrap_or_else(|| panic!("no reference for {query}"));
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
        let actual = engine(query, input, workers, params);
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
fn q3() {
    check("q3");
}
#[test]
fn q4() {
    check("q4");
}
#[test]
fn q6() {
    check("q6");
}
#[test]
fn q9() {
    check("q9");
}
#[test]
fn q20() {
    check("q20");
}
/// q23 joins a bid with the person whose id is the bidder's — a person id 1000 higher than
/// the bidder's person (the reference adds the id base to bidders twice), generated about
/// 1,000 people later. With the default 1 person in 50 events that takes 50,000 events; with
/// 10 in 59, 6,000, so 20,000 events have matches.
#[test]
fn q23() {
    let options = NexmarkOptions {
        person_proportion: 10,
        ..options()
    };
    let events = EventSet::new(options, 1, Some(20_000)).iter().collect();
    check_with("q23", events, &Params::default());
}

/// The engine's micro-batch table for `query`, from the generator (the same events as
/// [`events`]) at 20,000 events/s — about 10 batches of 100 ms — with a fresh checkpoint
/// directory. One at a time: a process runs one streaming context at once.
fn minibatch_engine(query: &str, workers: usize) -> String {
    let _turn = sluice_minibatch::testing::exclusive();
    let options = NexmarkOptions {
        first_event_rate: 1000,
        ..NexmarkOptions::default()
    };
    let checkpoint = tempfile::tempdir().unwrap();
    let events = EventSet::new(options, 1, Some(20_000));
    let source = NexmarkSource::new(events).rate(20_000.0);
    NexmarkRun::new(query, Input::Generated(source))
        .micro_batches(std::time::Duration::from_millis(100))
        .checkpoint(checkpoint.path())
        .run(Execution::default().workers(workers))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .csv()
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// q3 in micro-batch mode: the same final table as the reference.
#[test]
fn q3_minibatch() {
    let expected = reference::answer("q3", &events(), &Params::default()).unwrap();
    for workers in [1, 2] {
        assert_eq!(
            minibatch_engine("q3", workers),
            expected,
            "{workers} worker(s)"
        );
    }
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
        let csv = engine("q12", &events, workers, &Params::default());
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
    let reference = relative(reference::answer(query, events, &Params::default()).unwrap());
    assert_eq!(reference, expected, "{query}: the reference");
    for workers in [1, 2] {
        assert_eq!(
            relative(engine(query, events, workers, &Params::default())),
            expected,
            "{query}"
        );
    }
}

#[test]
fn q10() {
    check("q10");
}

/// The rows of q10's files under `dir`, each with its partition's `dt` and `hm` appended, as a
/// table with q10's header; every partition must be committed (`_SUCCESS`).
fn q10_files(dir: &std::path::Path) -> String {
    let mut rows = Vec::new();
    for day in std::fs::read_dir(dir).unwrap() {
        let day = day.unwrap().path();
        let name = day.file_name().unwrap().to_str().unwrap();
        let dt = name
            .strip_prefix("dt=")
            .expect("a dt= directory")
            .to_string();
        for minute in std::fs::read_dir(&day).unwrap() {
            let minute = minute.unwrap().path();
            let name = minute.file_name().unwrap().to_str().unwrap();
            let hm = name
                .strip_prefix("hm=")
                .expect("an hm= directory")
                .to_string();
            assert!(
                minute.join("_SUCCESS").is_file(),
                "{minute:?} not committed"
            );
            for file in std::fs::read_dir(&minute).unwrap() {
                let file = file.unwrap().path();
                let name = file.file_name().unwrap().to_str().unwrap();
                if name == "_SUCCESS" {
                    continue;
                }
                assert!(
                    name.starts_with("part-") && name.ends_with(".csv"),
                    "{file:?}"
                );
                for line in std::fs::read_to_string(&file).unwrap().lines() {
                    rows.push(format!("{line},{dt},{hm}"));
                }
            }
        }
    }
    rows.sort_unstable();
    let mut table = "auction,bidder,price,dateTime,extra,dt,hm\n".to_string();
    for row in rows {
        table.push_str(&row);
        table.push('\n');
    }
    table
}

/// q10 with a directory: its files hold the reference's rows, every partition committed.
fn check_q10_files(events: &[Event], workers: usize) {
    let expected = reference::answer("q10", events, &Params::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let params = Params {
        q10_dir: Some(dir.path().to_path_buf()),
        ..Params::default()
    };
    let table = engine("q10", events, workers, &params);
    assert_eq!(table, expected);
    let files = q10_files(dir.path());
    assert!(
        files == expected,
        "q10's files with {workers} worker(s) differ from the reference"
    );
}

#[test]
fn q10_files_hold_the_rows() {
    let events = events();
    check_q10_files(&events, 1);
    check_q10_files(&out_of_order(&events), 2);
}

/// Bids over five minutes, across midnight, then one behind the watermark for a partition
/// committed long before: it is appended to the partition, which is committed again.
#[test]
fn q10_files_partition_by_minute_and_take_late_bids() {
    use sluice_nexmark::model::{Bid, Channel, Extra};
    let midnight = 1_704_153_600_000; // 2024-01-02T00:00Z
    let bid = |i: i64, date_time: i64| {
        Event::Bid(Bid {
            auction: 1000 + i % 7,
            bidder: 2000 + i % 5,
            price: i,
            channel: Channel::hot(0),
            date_time,
            extra: Extra::default(),
        })
    };
    let mut events: Vec<Event> = (0..600)
        .map(|i| bid(i, midnight - 120_000 + i * 500))
        .collect();
    events.push(bid(600, midnight - 100_000));
    check_q10_files(&events, 1);
    check_q10_files(&events, 2);
}

/// q13 with the suite's default side input, and with one read from a file.
#[test]
fn q13() {
    check("q13");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("side_input.txt");
    let lines: String = (0..5000).map(|i| format!("{i},v{}\n", i * 7)).collect();
    std::fs::write(&path, lines).unwrap();
    let side_input = sluice_nexmark::queries::q13::read_side_input(&path).unwrap();
    assert_eq!(side_input.len(), 5000);
    let params = Params {
        side_input: Arc::new(side_input),
        ..Params::default()
    };
    check_with("q13", events(), &params);
}
#[test]
fn q14() {
    check("q14");
}
#[test]
fn q15() {
    check("q15");
}
#[test]
fn q16() {
    check("q16");
}
#[test]
fn q17() {
    check("q17");
}
#[test]
fn q18() {
    check("q18");
}
#[test]
fn q19() {
    check("q19");
}
#[test]
fn q21() {
    check("q21");
}
#[test]
fn q22() {
    check("q22");
}

/// q18 and q19 over bids full of ties (few prices, few times, every channel kind): the same
/// table in every arrival order and worker count.
#[test]
fn q18_q19_ties_do_not_depend_on_arrival_order() {
    use sluice_nexmark::model::{Bid, Channel, Extra};
    let events: Vec<Event> = (0..400i64)
        .map(|i| {
            Event::Bid(Bid {
                auction: 1000 + i % 3,
                bidder: 2000 + i % 4,
                price: 100 * (i % 5),
                channel: if i % 2 == 0 {
                    Channel::hot((i % 4) as usize)
                } else {
                    Channel::table((i % 7) as usize)
                },
                date_time: 1_704_067_200_000 + 1000 * (i % 6),
                extra: Extra::new((i % 11) as usize, 3),
            })
        })
        .collect();
    let mut reversed = events.clone();
    reversed.reverse();
    for query in ["q18", "q19"] {
        let expected = reference::answer(query, &events, &Params::default()).unwrap();
        for (input, workers) in [(&events, 1), (&events, 2), (&reversed, 1), (&reversed, 2)] {
            let actual = engine(query, input, workers, &Params::default());
            assert!(actual == expected, "{query}, {workers} worker(s)");
        }
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
