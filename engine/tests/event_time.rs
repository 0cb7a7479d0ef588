//! Event-time windows against brute-force oracles: random events, shuffled within a bounded
//! disorder or arbitrarily, on 1 and 2 workers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sluice_engine::operators::event_time::{EventTime, Watermarks};
use sluice_engine::operators::event_window::{
    EventWindowAggregates, EventWindows, SessionWindows, WindowAggregate, WindowCount,
};
use sluice_engine::prelude::*;
use sluice_engine::testing::arrivals_within;

mod common;
use common::{ends, shapes, spec_of};

type Counts = BTreeMap<(Time, u8), u64>;

/// Runs the windowed count over `arrivals` (worker `w` reads arrivals `w, w + n, …` in order);
/// returns the final count of each (window end, key) and the too-late records.
fn run(
    arrivals: Vec<(u8, Time)>,
    workers: usize,
    spec: WindowSpec,
    bound: Time,
    lateness: Time,
) -> (Counts, Vec<(u8, Time)>) {
    let (counts, late) = (Collector::new(), Collector::new());
    let (c, l) = (counts.clone(), late.clone());
    let arrivals = Arc::new(arrivals);
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<(u8, Time)> = arrivals
            .iter()
            .skip(index)
            .step_by(peers)
            .copied()
            .collect();
        worker.dataflow(|scope| {
            let (windows, too_late) = scope
                .iterator_source(mine)
                .with_event_time(|(_, t)| *t, Watermarks::bounded_out_of_orderness(bound))
                .count_by_event_window(spec, lateness);
            windows.collect_into(&c);
            too_late.collect_into(&l);
        });
    })
    .unwrap();
    let mut finals = Counts::new();
    for WindowCount {
        end, key, count, ..
    } in counts.take()
    {
        let slot = finals.entry((end, key)).or_default();
        *slot = (*slot).max(count); // updates only ever raise a window's count
    }
    let mut late = late.take();
    late.sort();
    (finals, late)
}

/// Brute force: each worker's watermark simulated record by record, as the semantics say.
fn oracle(
    arrivals: &[(u8, Time)],
    workers: usize,
    (length, slide): (Time, Time),
    bound: Time,
    lateness: Time,
) -> (Counts, Vec<(u8, Time)>) {
    let (mut counts, mut late) = (Counts::new(), Vec::new());
    for w in 0..workers {
        let mut watermark = 0;
        for &(key, e) in arrivals.iter().skip(w).step_by(workers) {
            let t = e.max(watermark);
            let mut accepted = false;
            for end in ends(length, slide, e) {
                if t < end + lateness {
                    *counts.entry((end, key)).or_default() += 1;
                    accepted = true;
                }
            }
            if !accepted {
                late.push((key, e));
            }
            watermark = watermark.max(e.saturating_sub(bound));
        }
    }
    late.sort();
    (counts, late)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Within the allowed lateness, the final counts are the brute-force counts for any arrival
    /// order, watermark bound and worker count, and nothing is late.
    #[test]
    fn bounded_disorder_gives_the_same_counts_for_any_order(
        events in proptest::collection::vec((0u8..5, 0u64..5000), 0..200),
        delays in proptest::collection::vec(0u64..=400, 200),
        disorder in 0u64..=400,
        bound in 0u64..=400,
        extra_lateness in 0u64..300,
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        // Each event arrives at most `disorder` ms of event time after its own time.
        let arrivals = arrivals_within(&events, &delays, disorder, |(_, e)| *e);
        let lateness = disorder + extra_lateness;
        let (counts, late) = run(arrivals, workers, spec_of(shape), bound, lateness);

        let mut expected = Counts::new();
        for &(k, e) in &events {
            for end in ends(shape.0, shape.1, e) {
                *expected.entry((end, k)).or_default() += 1;
            }
        }
        prop_assert_eq!(counts, expected);
        prop_assert!(late.is_empty());
    }

    /// Arbitrary disorder: what is counted and what goes to the late side output match the
    /// brute force record for record.
    #[test]
    fn late_records_go_to_the_side_output(
        arrivals in proptest::collection::vec((0u8..5, 0u64..5000), 0..200),
        bound in 0u64..=500,
        lateness in 0u64..=500,
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        let got = run(arrivals.clone(), workers, spec_of(shape), bound, lateness);
        prop_assert_eq!(got, oracle(&arrivals, workers, shape, bound, lateness));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// With the watermark trailing by at least the disorder, every session fires once, with
    /// exactly the events a plain loop groups into it, for any arrival order and worker count.
    #[test]
    fn sessions_equal_a_plain_grouping(
        events in proptest::collection::vec((0u8..4, 0u64..3000), 0..150),
        delays in proptest::collection::vec(0u64..=300, 150),
        disorder in 0u64..=300,
        gap in 1u64..400,
        workers in 1usize..=2,
    ) {
        let arrivals = Arc::new(arrivals_within(&events, &delays, disorder, |(_, e)| *e));
        let out = Collector::new();
        let sink = out.clone();
        execute(Execution::default().workers(workers), move |worker| {
            let (index, peers) = (worker.index(), worker.peers());
            let mine: Vec<(u8, Time)> = arrivals.iter().skip(index).step_by(peers).copied().collect();
            worker.dataflow(|scope| {
                let (sessions, late) = scope
                    .iterator_source(mine)
                    .with_event_time(|(_, t)| *t, Watermarks::bounded_out_of_orderness(disorder))
                    .count_by_session(gap, 0);
                sessions.map(|w| (w.end, w.key, w.count, w.update)).collect_into(&sink);
                late.map(|(k, t)| (t, k, u64::MAX, true)).collect_into(&sink);
            });
        })
        .unwrap();
        let mut got = out.take();
        got.sort();

        let mut expected = Vec::new();
        let mut by_key: BTreeMap<u8, Vec<Time>> = BTreeMap::new();
        for &(k, e) in &events {
            by_key.entry(k).or_default().push(e);
        }
        for (k, mut times) in by_key {
            times.sort();
            let (mut last, mut count) = (times[0], 0);
            for t in times {
                if t >= last + gap {
                    expected.push((last + gap, k, count, false));
                    count = 0;
                }
                last = t;
                count += 1;
            }
            expected.push((last + gap, k, count, false));
        }
        expected.sort();
        prop_assert_eq!(got, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Aggregates other than counts: per window and key, the (sum, max) of the values, as a
    /// plain loop computes them, for any order within the lateness and any worker count.
    #[test]
    fn window_aggregates_equal_a_plain_loop(
        events in proptest::collection::vec((0u8..4, 0u64..3000, 0u64..1000), 0..150),
        delays in proptest::collection::vec(0u64..=300, 150),
        disorder in 0u64..=300,
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        let arrivals = Arc::new(arrivals_within(&events, &delays, disorder, |(_, e, _)| *e));
        let out = Collector::new();
        let sink = out.clone();
        execute(Execution::default().workers(workers), move |worker| {
            let (index, peers) = (worker.index(), worker.peers());
            let mine: Vec<(u8, Time, u64)> =
                arrivals.iter().skip(index).step_by(peers).copied().collect();
            worker.dataflow(|scope| {
                let (results, _late) = scope
                    .iterator_source(mine)
                    .with_event_time(|(_, t, _)| *t, Watermarks::ascending())
                    .aggregate_by_event_window(spec_of(shape), disorder, |acc: &mut (u64, u64), v| {
                        acc.0 += v;
                        acc.1 = acc.1.max(*v);
                    });
                results.collect_into(&sink);
            });
        })
        .unwrap();
        // The final value of each window is its last emission (updates only add).
        let mut got: BTreeMap<(Time, u8), (u64, u64)> = BTreeMap::new();
        for WindowAggregate { end, key, value, .. } in out.take() {
            let slot = got.entry((end, key)).or_default();
            if value.0 >= slot.0 {
                *slot = value;
            }
        }
        let mut expected: BTreeMap<(Time, u8), (u64, u64)> = BTreeMap::new();
        for &(k, e, v) in &events {
            for end in ends(shape.0, shape.1, e) {
                let acc = expected.entry((end, k)).or_default();
                acc.0 += v;
                acc.1 = acc.1.max(v);
            }
        }
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn an_allowed_late_record_updates_a_fired_window() {
    // Worker-side order: "a"@100, "b"@2500 (the watermark passes 1000: window 1000 fires),
    // then "a"@200 in a later activation: an update of window 1000, marked as such.
    let queue: Queue<(String, Time)> = Queue::new();
    let updates = Collector::new();
    let (q, u) = (queue.clone(), updates.clone());
    let job = std::thread::spawn(move || {
        execute(Execution::default(), move |worker| {
            let (q, u) = (q.clone(), u.clone());
            worker.dataflow(move |scope| {
                let (windows, _) = scope
                    .queue(&q)
                    .with_event_time(|(_, t)| *t, Watermarks::ascending())
                    .count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 2000);
                windows.collect_into(&u);
            });
        })
    });
    queue.push_all([("a".to_string(), 100), ("b".to_string(), 2500)]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while updates.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    queue.push(("a".to_string(), 200));
    queue.close();
    job.join().unwrap().unwrap();
    let results: Vec<WindowCount<String>> = updates.take();
    let first = WindowCount {
        end: 1000,
        start: 0,
        key: "a".to_string(),
        count: 1,
        update: false,
    };
    let update = WindowCount {
        end: 1000,
        start: 0,
        key: "a".to_string(),
        count: 2,
        update: true,
    };
    assert!(results.contains(&first), "{results:?}");
    assert!(results.contains(&update), "{results:?}");
}

/// Worker 0 reads events; worker 1's input stays open and silent. Without an idle timeout no
/// window can fire while worker 1 holds the watermark at 0; with one, windows fire while its
/// input is still open, and the job's watermark metric moves.
#[test]
fn an_idle_worker_stops_holding_the_watermark_back() {
    type Clicks = Queue<(String, Time)>;
    let run = |idle: Option<Duration>| -> (bool, Option<Time>) {
        let (busy, silent): (Clicks, Clicks) = (Queue::new(), Queue::new());
        busy.push_all((0..50).map(|i| ("k".to_string(), i * 100)));
        let fired = Collector::new();
        let job = JobContext::default();
        let (b, s, f, context) = (busy.clone(), silent.clone(), fired.clone(), job.clone());
        let handle = std::thread::spawn(move || {
            execute(
                Execution::default().workers(2).context(context),
                move |worker| {
                    let (b, s, f) = (b.clone(), s.clone(), f.clone());
                    let index = worker.index();
                    worker.dataflow(move |scope| {
                        // Worker 0 reads the events; worker 1 waits on a queue nobody fills.
                        let input = scope.queue(if index == 0 { &b } else { &s });
                        let watermarks = Watermarks::ascending();
                        let watermarks = match idle {
                            Some(timeout) => watermarks.idle_timeout(timeout),
                            None => watermarks,
                        };
                        let (windows, _) = input
                            .with_event_time(|(_, t)| *t, watermarks)
                            .count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 0);
                        windows.collect_into(&f);
                    });
                },
            )
        });
        // Long enough for a slow machine when windows can fire; a negative check needs less.
        let wait = if idle.is_some() { 10_000 } else { 1500 };
        let deadline = std::time::Instant::now() + Duration::from_millis(wait);
        while fired.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let (fired_while_open, watermark) = (!fired.is_empty(), job.watermark());
        busy.close();
        silent.close();
        handle.join().unwrap().unwrap();
        (fired_while_open, watermark)
    };
    let (fired, watermark) = run(None);
    assert!(!fired, "a silent worker holds every window back");
    assert_eq!(watermark, Some(0));
    let (fired, watermark) = run(Some(Duration::from_millis(200)));
    assert!(
        fired,
        "with an idle timeout, windows fire while the silent input is open"
    );
    assert!(watermark.is_some_and(|w| w >= 4900), "{watermark:?}");
}
