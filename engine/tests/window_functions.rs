//! Window functions beyond counts — session aggregates, full-window functions, count windows,
//! top-k, window joins, processing-time and non-keyed windows — against plain loops over the
//! same events, shuffled within the watermark's bound, on 1 and 2 workers; and window state that
//! stays bounded on an endless stream.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sluice_engine::prelude::*;
use sluice_engine::testing::{arrivals_within, run_collect};

mod common;
use common::{ends, shapes, spec_of};

/// Key, event time, value.
type Event = (u8, Time, u64);

/// Runs `pipeline` on `workers` workers over `arrivals` (dealt round robin, each worker reading
/// its share in order), stamped with event time and watermarks trailing by `bound`.
fn run_event_time<R, F>(arrivals: Vec<Event>, workers: usize, bound: Time, pipeline: F) -> Vec<R>
where
    R: Send + 'static,
    F: for<'s> Fn(Stream<'s, Event>) -> Stream<'s, R> + Send + Sync + 'static,
{
    run_collect(workers, arrivals, move |events| {
        pipeline(
            events.with_event_time(|(_, t, _)| *t, Watermarks::bounded_out_of_orderness(bound)),
        )
    })
    .unwrap()
}

/// Each key's events in event-time order.
fn by_key(events: &[Event]) -> BTreeMap<u8, Vec<(Time, u64)>> {
    let mut keys: BTreeMap<u8, Vec<(Time, u64)>> = BTreeMap::new();
    for &(k, t, v) in events {
        keys.entry(k).or_default().push((t, v));
    }
    keys.values_mut().for_each(|records| records.sort());
    keys
}

fn events(max_time: Time) -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((0u8..4, 0..max_time, 0u64..100), 0..120)
}

fn delays() -> impl Strategy<Value = Vec<Time>> {
    proptest::collection::vec(0u64..=300, 120)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Session sums: one result per session, with the sum a plain grouping of each key's
    /// sorted events finds, for any order within the bound and any worker count.
    #[test]
    fn session_aggregates_equal_a_plain_grouping(
        events in events(3000),
        delays in delays(),
        disorder in 0u64..=300,
        gap in 1u64..400,
        workers in 1usize..=2,
    ) {
        let arrivals = arrivals_within(&events, &delays, disorder, |e| e.1);
        let mut got = run_event_time(arrivals, workers, disorder, move |s| {
            s.aggregate_by_session(gap, 0, |sum: &mut u64, v| *sum += v, |sum, other| *sum += other)
                .0
                .map(|w| (w.key, w.start, w.end, w.value, w.update))
        });
        got.sort();

        let mut expected = Vec::new();
        for (k, records) in by_key(&events) {
            let (mut start, mut last, mut sum) = (records[0].0, records[0].0, 0);
            for (t, v) in records {
                if t >= last + gap {
                    expected.push((k, start, last + gap, sum, false));
                    (start, sum) = (t, 0);
                }
                last = t;
                sum += v;
            }
            expected.push((k, start, last + gap, sum, false));
        }
        expected.sort();
        prop_assert_eq!(got, expected);
    }

    /// A full-window function sees exactly the window's records, in event-time order; with a
    /// watermark tighter than the disorder, late records re-fire windows as updates and the
    /// last result of each window is still exactly its records.
    #[test]
    fn a_window_function_sees_all_the_windows_records_in_event_time_order(
        events in events(3000),
        delays in delays(),
        disorder in 0u64..=300,
        tightness in 0u64..=300,
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        let arrivals = arrivals_within(&events, &delays, disorder, |e| e.1);
        let bound = disorder.saturating_sub(tightness);
        let got = run_event_time(arrivals, workers, bound, move |s| {
            s.process_event_window(spec_of(shape), disorder, |_, window, records| {
                (window, records)
            })
            .0
        });
        let mut last: BTreeMap<(Time, u8), Vec<(Time, u64)>> = BTreeMap::new();
        let mut first_firings: BTreeMap<(Time, u8), usize> = BTreeMap::new();
        for w in got {
            prop_assert_eq!(w.value.0.clone(), w.start..w.end);
            prop_assert!(w.value.1.windows(2).all(|p| p[0].0 <= p[1].0), "not in event-time order");
            *first_firings.entry((w.end, w.key)).or_default() += usize::from(!w.update);
            let slot = last.entry((w.end, w.key)).or_default();
            if w.value.1.len() >= slot.len() {
                *slot = w.value.1; // updates only add records
            }
        }
        for records in last.values_mut() {
            records.sort();
        }
        let mut expected: BTreeMap<(Time, u8), Vec<(Time, u64)>> = BTreeMap::new();
        for &(k, t, v) in &events {
            for end in ends(shape.0, shape.1, t) {
                expected.entry((end, k)).or_default().push((t, v));
            }
        }
        for records in expected.values_mut() {
            records.sort();
        }
        prop_assert_eq!(last, expected);
        prop_assert!(first_firings.values().all(|n| *n <= 1), "a window fired twice as new");
    }

    /// Count windows: every `slide` records of a key (in event-time order), its last `size`,
    /// for any order within the bound and any worker count; nothing is late.
    #[test]
    fn count_windows_equal_chunks_of_each_keys_sorted_records(
        events in events(3000),
        delays in delays(),
        disorder in 0u64..=300,
        size in 1usize..6,
        slide_fraction in 1usize..=6,
        workers in 1usize..=2,
    ) {
        // Distinct times per key, so that the event-time order is total.
        let mut distinct: BTreeMap<(u8, Time), u64> = BTreeMap::new();
        for &(k, t, v) in &events {
            distinct.insert((k, t), v);
        }
        let events: Vec<Event> = distinct.into_iter().map(|((k, t), v)| (k, t, v)).collect();
        let slide = slide_fraction.min(size);
        let arrivals = arrivals_within(&events, &delays, disorder, |e| e.1);
        let mut got = run_event_time(arrivals, workers, disorder, move |s| {
            let (windows, late) = s.window_by_count(size, slide);
            windows
                .map(|w| (w.key, w.start, w.end, w.value))
                .union(late.map(|(k, t, _)| (k, t, 0, Vec::new())))
        });
        got.sort();

        let mut expected = Vec::new();
        for (k, records) in by_key(&events) {
            for i in (slide..=records.len()).step_by(slide) {
                let window = records[i.saturating_sub(size)..i].to_vec();
                expected.push((k, window[0].0, window[window.len() - 1].0 + 1, window));
            }
        }
        expected.sort();
        prop_assert_eq!(got, expected);
    }

    /// Top-k per window: the last ranking of each window is the top `k` of a plain count of
    /// its records (ties by key), also when late records update windows already ranked.
    #[test]
    fn top_k_per_window_equals_the_top_of_a_plain_count(
        events in events(3000),
        delays in delays(),
        disorder in 0u64..=300,
        tightness in 0u64..=300,
        k in 1usize..4,
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        let arrivals = arrivals_within(&events, &delays, disorder, |e| e.1);
        let bound = disorder.saturating_sub(tightness);
        let got = run_event_time(arrivals, workers, bound, move |s| {
            s.map(|(key, t, _)| (key, t))
                .count_by_event_window(spec_of(shape), disorder)
                .0
                .top_k_per_window(k, disorder)
        });
        // One window's rankings come out of one worker in time order: the last is final.
        let mut last: BTreeMap<Time, Vec<(u8, u64)>> = BTreeMap::new();
        for w in got {
            prop_assert_eq!(w.update, last.contains_key(&w.end));
            last.insert(w.end, w.value);
        }
        let mut counts: BTreeMap<Time, BTreeMap<u8, u64>> = BTreeMap::new();
        for &(key, t, _) in &events {
            for end in ends(shape.0, shape.1, t) {
                *counts.entry(end).or_default().entry(key).or_default() += 1;
            }
        }
        let expected: BTreeMap<Time, Vec<(u8, u64)>> = counts
            .into_iter()
            .map(|(end, counts)| {
                let mut ranked: Vec<(u8, u64)> = counts.into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                ranked.truncate(k);
                (end, ranked)
            })
            .collect();
        prop_assert_eq!(last, expected);
    }

    /// Window joins, inner and left outer: per key and window, every pair of a left and a
    /// right record in the window (and, outer, each partnerless left record alone).
    #[test]
    fn window_joins_equal_a_plain_nested_loop(
        lefts in events(2000),
        rights in events(2000),
        delays in delays(),
        disorder in 0u64..=300,
        outer in any::<bool>(),
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        // One input: value's low bit says the side (0 left, 1 right), the rest is an id.
        let tagged: Vec<Event> = lefts
            .iter()
            .enumerate()
            .map(|(i, &(k, t, _))| (k, t, (i as u64) << 1))
            .chain(rights.iter().enumerate().map(|(i, &(k, t, _))| (k, t, (i as u64) << 1 | 1)))
            .collect();
        let arrivals = arrivals_within(&tagged, &delays, disorder, |e| e.1);
        let mut got = run_event_time(arrivals, workers, disorder, move |s| {
            let left = s.clone().filter(|(_, _, id)| id & 1 == 0).map(|(k, t, id)| (k, t, id >> 1));
            let right = s.filter(|(_, _, id)| id & 1 == 1).map(|(k, t, id)| (k, t, id >> 1));
            left.window_join(right, spec_of(shape), 0, outer, |_, a, b| (*a, b.copied()))
                .0
                .map(|mut w| {
                    w.value.sort();
                    (w.end, w.key, w.value, w.update)
                })
        });
        got.sort();

        let mut expected = Vec::new();
        let windows: BTreeMap<(Time, u8), ()> = lefts
            .iter()
            .flat_map(|&(k, t, _)| ends(shape.0, shape.1, t).into_iter().map(move |e| ((e, k), ())))
            .collect();
        for &(end, key) in windows.keys() {
            let in_window = |t: Time| end > t && end <= t + shape.0;
            let mut pairs = Vec::new();
            for (a, &(ka, ta, _)) in lefts.iter().enumerate() {
                if ka != key || !in_window(ta) {
                    continue;
                }
                let partners: Vec<u64> = rights
                    .iter()
                    .enumerate()
                    .filter(|(_, &(kb, tb, _))| kb == key && in_window(tb))
                    .map(|(b, _)| b as u64)
                    .collect();
                if partners.is_empty() && outer {
                    pairs.push((a as u64, None));
                }
                pairs.extend(partners.into_iter().map(|b| (a as u64, Some(b))));
            }
            if !pairs.is_empty() {
                pairs.sort();
                expected.push((end, key, pairs, false));
            }
        }
        expected.sort();
        prop_assert_eq!(got, expected);
    }

    /// A non-keyed window (key `()`): each window's sum over all keys, on any worker count.
    #[test]
    fn non_keyed_windows_aggregate_all_records(
        events in events(3000),
        delays in delays(),
        disorder in 0u64..=300,
        shape in shapes(),
        workers in 1usize..=2,
    ) {
        let arrivals = arrivals_within(&events, &delays, disorder, |e| e.1);
        let mut got = run_event_time(arrivals, workers, disorder, move |s| {
            s.map(|(_, t, v)| ((), t, v))
                .aggregate_by_event_window(spec_of(shape), 0, |sum: &mut u64, v| *sum += v)
                .0
                .map(|w| (w.end, w.value))
        });
        got.sort();
        let mut expected: BTreeMap<Time, u64> = BTreeMap::new();
        for &(_, t, v) in &events {
            for end in ends(shape.0, shape.1, t) {
                *expected.entry(end).or_default() += v;
            }
        }
        prop_assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
    }
}

/// A record behind the watermark cannot take its place in a count window's order: it goes to
/// the late output, and the windows are those of the other records.
#[test]
fn a_record_behind_the_watermark_is_late_for_count_windows() {
    let arrivals: Vec<Event> = vec![(1, 100, 1), (1, 200, 2), (1, 50, 3), (1, 300, 4)];
    let mut got = run_event_time(arrivals, 1, 0, |s| {
        let (windows, late) = s.window_by_count(2, 2);
        windows
            .map(|w| (w.start, w.value.iter().map(|(_, v)| *v).collect::<Vec<_>>()))
            .union(late.map(|(_, t, v)| (t, vec![v, 0])))
    });
    got.sort();
    assert_eq!(got, vec![(50, vec![3, 0]), (100, vec![1, 2])]);
}

/// On a live stream the frontier can stop exactly at a window's end: the window is ranked
/// when it moves on, not forgotten (with no lateness, its counts only arrive at the end).
#[test]
fn a_window_is_ranked_when_the_watermark_stops_at_its_end() {
    let queue: Queue<(String, Time)> = Queue::new();
    let (rankings, job) = (Collector::new(), JobContext::default());
    let (q, r, context) = (queue.clone(), rankings.clone(), job.clone());
    let handle = std::thread::spawn(move || {
        execute(Execution::default().context(context), move |worker| {
            let (q, r) = (q.clone(), r.clone());
            worker.dataflow(move |scope| {
                scope
                    .queue(&q)
                    .with_event_time(|(_, t)| *t, Watermarks::ascending())
                    .count_by_event_window(WindowSpec::tumbling(Duration::from_millis(100)), 0)
                    .0
                    .top_k_per_window(1, 0)
                    .map(|w| (w.end, w.value))
                    .collect_into(&r);
            });
        })
    });
    queue.push_all([("a".to_string(), 50), ("b".to_string(), 100)]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while job.watermark() != Some(100) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200)); // the watermark rests at 100
    queue.close();
    handle.join().unwrap().unwrap();
    let mut got = rankings.take();
    got.sort();
    let expected = vec![
        (100, vec![("a".to_string(), 1)]),
        (200, vec![("b".to_string(), 1)]),
    ];
    assert_eq!(got, expected);
}

/// Processing-time windows: the same window operator over each record's arrival time counts
/// what the processing-time window operator counts, and what a plain loop over the arrival
/// times counts.
#[test]
fn processing_time_windows_count_by_arrival_time() {
    let arrivals: Vec<(Time, String)> = (0..500u64)
        .map(|i| (i * 7 % 2000, format!("k{}", i % 3)))
        .collect();
    let spec = WindowSpec::sliding(Duration::from_millis(300), Duration::from_millis(100));
    let (by_window_op, by_event_op) = (Collector::new(), Collector::new());
    let (a, b) = (by_window_op.clone(), by_event_op.clone());
    let input = Arc::new(arrivals.clone());
    execute(Execution::default().workers(2), move |worker| {
        let mine: Vec<(Time, String)> = input
            .iter()
            .skip(worker.index())
            .step_by(worker.peers())
            .cloned()
            .collect();
        worker.dataflow(|scope| {
            let words = scope.timed_source(mine);
            words.clone().count_by_key_and_window(spec).collect_into(&a);
            words
                .with_processing_time()
                .map(|(t, word)| (word, t))
                .count_by_event_window(spec, 0)
                .0
                .map(|w| (w.end, w.key, w.count))
                .collect_into(&b);
        });
    })
    .unwrap();
    let mut expected: BTreeMap<(Time, String), u64> = BTreeMap::new();
    for (t, word) in &arrivals {
        for end in ends(300, 100, *t) {
            *expected.entry((end, word.clone())).or_default() += 1;
        }
    }
    let expected: Vec<(Time, String, u64)> =
        expected.into_iter().map(|((e, k), n)| (e, k, n)).collect();
    let (mut a, mut b) = (by_window_op.take(), by_event_op.take());
    a.sort();
    b.sort();
    assert_eq!(a, expected);
    assert_eq!(b, expected);
}

/// An endless stream (pushed until the job is stopped) through sliding windows with allowed
/// lateness, a session window and a top-k: the state held, sampled as results come out, stays
/// within a few windows' worth while tens of thousands of window results go by; and it is all
/// released when the job ends.
#[test]
fn window_state_stays_bounded_on_an_endless_stream() {
    const KEYS: u64 = 20;
    let queue: Queue<Event> = Queue::new();
    let job = JobContext::default();
    let (results, max_state) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let (q, context) = (queue.clone(), job.clone());
    let (r, m) = (results.clone(), max_state.clone());
    let handle = std::thread::spawn(move || {
        execute(
            Execution::default().workers(2).context(context),
            move |worker| {
                let (q, r, m, job) = (q.clone(), r.clone(), m.clone(), worker.job());
                // Both workers take from one queue: one may find it empty for a while.
                let watermarks = Watermarks::bounded_out_of_orderness(20)
                    .idle_timeout(Duration::from_millis(50));
                worker.dataflow(move |scope| {
                    let events = scope.queue(&q).with_event_time(|(_, t, _)| *t, watermarks);
                    let spec =
                        WindowSpec::sliding(Duration::from_millis(200), Duration::from_millis(100));
                    let (windows, _) = events
                        .clone()
                        .map(|(k, t, _)| (k, t))
                        .count_by_event_window(spec, 100);
                    let top = windows.clone().top_k_per_window(3, 100).map(|_| ());
                    let (sessions, _) = events.map(|(k, t, _)| (k, t)).count_by_session(50, 0);
                    windows
                        .map(|_| ())
                        .union(top)
                        .union(sessions.map(|_| ()))
                        .for_each(move |()| {
                            r.fetch_add(1, Ordering::Relaxed);
                            m.fetch_max(job.state_entries(), Ordering::Relaxed);
                        });
                });
            },
        )
    });
    // Pushes 500 ms of event time at a time, at most a second ahead of the watermark, so that
    // what is in flight does not depend on the machine's speed.
    let producer = {
        let (queue, stop, job) = (queue.clone(), stop.clone(), job.clone());
        std::thread::spawn(move || {
            let mut t = 0;
            while !stop.load(Ordering::Relaxed) {
                if t > 1000 && job.watermark().unwrap_or(0) + 1000 < t {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                queue.push_all((0..500).map(|i| ((i % KEYS) as u8, t + i, 0)));
                t += 500;
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while results.load(Ordering::Relaxed) < 40_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    queue.close();
    handle.join().unwrap().unwrap();
    let (results, max_state) = (
        results.load(Ordering::Relaxed),
        max_state.load(Ordering::Relaxed),
    );
    assert!(
        results >= 40_000,
        "only {results} window results in a minute"
    );
    // Open sliding windows: 2 filling + 2 within the lateness, plus the watermark's and the
    // queue's slack; 20 keys each; sessions: one per key; rankings: a few windows' counts.
    assert!(
        max_state < 2_000,
        "window state grew to {max_state} entries over {results} results"
    );
    assert_eq!(job.state_entries(), 0, "state left after the job ended");
}
