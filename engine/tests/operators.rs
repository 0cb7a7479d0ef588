//! Each operator against a plain-loop reference, on 1 and 2 workers, with random input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sluice_engine::prelude::*;
use sluice_engine::testing::run_collect;

/// The last value each key reached in a stream of running updates.
fn last_values<K: Ord, V>(updates: Vec<(K, V)>) -> BTreeMap<K, V> {
    updates.into_iter().collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn stateless_operators_match_iterator_adapters() {
    let input: Vec<u64> = (0..1000).collect();
    for workers in [1, 2] {
        let out = run_collect(workers, input.clone(), |s| {
            s.clone()
                .filter(|x| x % 3 == 0)
                .map(|x| x + 1)
                .union(s.flat_map(|x| (x < 10).then_some(x * 100)))
        })
        .unwrap();
        let expected: Vec<u64> = input
            .iter()
            .filter(|x| *x % 3 == 0)
            .map(|x| x + 1)
            .chain(input.iter().filter(|x| **x < 10).map(|x| x * 100))
            .collect();
        assert_eq!(sorted(out), sorted(expected), "{workers} workers");
    }
}

#[test]
fn partition_by_key_brings_each_key_to_one_worker() {
    let input: Vec<u64> = (0..500).collect();
    let out = run_collect(2, input, |s| {
        let worker = s.scope().index();
        s.partition_by_key(|x| x % 7).map(move |x| (x % 7, worker))
    })
    .unwrap();
    let mut owner = BTreeMap::new();
    for (key, worker) in out {
        assert_eq!(
            *owner.entry(key).or_insert(worker),
            worker,
            "key {key} on two workers"
        );
    }
    assert_eq!(owner.len(), 7);
}

#[test]
fn rebalance_spreads_a_single_worker_input() {
    let out = run_collect(2, vec![0u64; 0], |s| s).unwrap();
    assert!(out.is_empty());
    // All input on worker 0 (one item per worker slot would defeat the point): use a source.
    let collector = Collector::new();
    let sink = collector.clone();
    execute(Execution::default().workers(2), move |worker| {
        let mine: Vec<u64> = if worker.index() == 0 {
            (0..1000).collect()
        } else {
            vec![]
        };
        worker.dataflow(|scope| {
            let me = scope.index();
            scope
                .iterator_source(mine)
                .rebalance()
                .map(move |_| me)
                .collect_into(&sink);
        });
    })
    .unwrap();
    let on_1 = collector.take().iter().filter(|w| **w == 1).count();
    assert_eq!(on_1, 500);
}

#[test]
fn update_state_by_key_removes_keys_on_none() {
    // A running sum per key, removed once it reaches 10. No key gets values after its removal,
    // so the result does not depend on how arrivals are grouped into batches.
    let input = vec![
        ("a", 4u64),
        ("b", 1),
        ("a", 5),
        ("c", 10),
        ("a", 3),
        ("b", 2),
        ("d", 9),
    ];
    let input: Vec<(String, u64)> = input.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut reference: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in &input {
        let sum = reference.remove(k).unwrap_or(0) + v;
        if sum < 10 {
            reference.insert(k.clone(), sum);
        }
    }
    for workers in [1, 2] {
        let final_state = Collector::new();
        let sink = final_state.clone();
        let out = run_collect(workers, input.clone(), move |s| {
            let updates = s.update_state_by_key(|_, values: Vec<u64>, state: Option<u64>| {
                let sum = state.unwrap_or(0) + values.iter().sum::<u64>();
                (sum < 10).then_some(sum)
            });
            updates.clone().last_by_key().collect_into(&sink);
            updates
        })
        .unwrap();
        // Removed keys emit nothing once they are gone; surviving keys end at the reference.
        assert!(out.iter().all(|(k, _)| k != "c"));
        let last = last_values(out);
        assert_eq!(last.get("b"), reference.get("b"));
        assert_eq!(last.get("d"), reference.get("d"));
        assert_eq!(reference.keys().collect::<Vec<_>>(), vec!["b", "d"]);
    }
}

#[test]
fn try_map_counts_malformed_records_in_the_job() {
    let job = JobContext::default();
    let good = Collector::new();
    let sink = good.clone();
    execute(Execution::default().context(job.clone()), move |worker| {
        worker.dataflow(|scope| {
            let (nums, _errors) = scope
                .iterator_source(["1", "2", "x", "", "5"].map(String::from))
                .try_map(|s| s.parse::<u64>());
            nums.collect_into(&sink);
        });
    })
    .unwrap();
    assert_eq!(sorted(good.take()), vec![1, 2, 5]);
    assert_eq!(job.malformed_count(), 2);
}

#[test]
fn write_text_writes_one_part_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.clone();
    execute(Execution::default().workers(2), move |worker| {
        let mine: Vec<u64> = (0..100)
            .filter(|x| *x as usize % 2 == worker.index())
            .collect();
        worker.dataflow(|scope| scope.iterator_source(mine).write_text(&path));
    })
    .unwrap();
    let mut lines: Vec<u64> = ["part-00000", "part-00001"]
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(out.join(p))
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    assert_eq!(lines, (0..100).collect::<Vec<_>>());
}

#[test]
fn latency_sink_records_every_record() {
    let recorder = LatencyRecorder::new();
    let shared = recorder.clone();
    execute(Execution::default().workers(2), move |worker| {
        let sent = sluice_engine::time::now_nanos() - 5_000_000; // 5 ms ago
        worker.dataflow(|scope| {
            scope
                .iterator_source(vec![sent; 100])
                .record_latency(&shared, |t| *t)
        });
    })
    .unwrap();
    let histogram = recorder.snapshot();
    assert_eq!(histogram.len(), 200);
    let lowest = histogram.value_at_quantile(0.0);
    assert!(
        lowest >= 4_990_000,
        "lowest {lowest} ns, min {}",
        histogram.min()
    );
}

#[test]
fn queue_source_delivers_pushed_records_and_ends_on_close() {
    let queue = Queue::new();
    let out = Collector::new();
    let (q, sink) = (queue.clone(), out.clone());
    let job = std::thread::spawn(move || {
        execute(Execution::default().workers(2), move |worker| {
            worker.dataflow(|scope| scope.queue(&q).collect_into(&sink));
        })
    });
    queue.push_all(0..10u64);
    std::thread::sleep(std::time::Duration::from_millis(50));
    queue.push(10);
    queue.close();
    job.join().unwrap().unwrap();
    assert_eq!(sorted(out.take()), (0..=10).collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn keyed_aggregations_equal_a_plain_loop(
        input in proptest::collection::vec((0u8..20, 0u64..1000), 0..300),
        workers in 1usize..=2,
    ) {
        let input: Vec<(String, u64)> = input.into_iter().map(|(k, v)| (format!("k{k}"), v)).collect();
        let mut sums = BTreeMap::new();
        let mut maxes = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for (k, v) in &input {
            *sums.entry(k.clone()).or_insert(0u64) += v;
            let m = maxes.entry(k.clone()).or_insert(*v);
            *m = (*m).max(*v);
            *counts.entry(k.clone()).or_insert(0u64) += 1;
        }

        let out = run_collect(workers, input.clone(), |s| s.reduce_by_key(|a, b| a + b)).unwrap();
        prop_assert_eq!(last_values(out), sums.clone());

        let out = run_collect(workers, input.clone(), |s| s.reduce_by_key(|a, b| *a.max(b)).last_by_key()).unwrap();
        prop_assert_eq!(last_values(out), maxes);

        let out = run_collect(workers, input.clone(), |s| {
            s.aggregate_by_key(|acc: &mut (u64, u64), v| { acc.0 += v; acc.1 += 1 }, |acc, p| { acc.0 += p.0; acc.1 += p.1 })
        }).unwrap();
        let expected: BTreeMap<_, _> = sums.iter().map(|(k, s)| (k.clone(), (*s, counts[k]))).collect();
        prop_assert_eq!(last_values(out), expected);

        let out = run_collect(workers, input.clone(), |s| s.map(|(k, _)| k).count_by_key().last_by_key()).unwrap();
        prop_assert_eq!(last_values(out), counts.clone());

        // Running counts only ever grow, one update per arrival batch.
        let out = run_collect(workers, input, |s| s.map(|(k, _)| k).count_by_key()).unwrap();
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for (k, c) in out {
            let last = seen.entry(k).or_insert(0);
            prop_assert!(c > *last);
            *last = c;
        }
        prop_assert_eq!(seen, counts);
    }

    #[test]
    fn map_with_state_sees_each_keys_records_in_order(
        input in proptest::collection::vec((0u8..10, 0u64..1000), 0..300),
        workers in 1usize..=2,
    ) {
        // Per key: the running sum after each record, as a plain loop computes it. With two
        // workers each feeds its share in order, but the shares interleave in any order.
        let input: Vec<(String, u64)> = input.into_iter().map(|(k, v)| (format!("k{k}"), v)).collect();
        let mut expected: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (k, v) in &input {
            let sums = expected.entry(k.clone()).or_default();
            sums.push(sums.last().copied().unwrap_or(0) + v);
        }
        let out = run_collect(workers, input, |s| {
            s.map_with_state(|k: &String, v, sum: &mut Option<u64>| {
                let sum = sum.get_or_insert(0);
                *sum += v;
                (k.clone(), *sum)
            })
        })
        .unwrap();
        let mut got: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (k, sum) in out {
            got.entry(k).or_default().push(sum); // one key lives on one worker: emission order
        }
        if workers == 1 {
            prop_assert_eq!(got, expected);
        } else {
            prop_assert_eq!(got.len(), expected.len());
            for (k, sums) in &expected {
                let emitted = &got[k];
                prop_assert_eq!(emitted.len(), sums.len());
                prop_assert!(emitted.windows(2).all(|w| w[0] <= w[1]));
                prop_assert_eq!(emitted.last(), sums.last());
            }
        }
    }
}

#[test]
fn inspect_and_for_each_see_every_record() {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let summed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (s1, s2) = (seen.clone(), summed.clone());
    execute(Execution::default().workers(2), move |worker| {
        let (s1, s2) = (s1.clone(), s2.clone());
        let mine: Vec<u64> = (1..=100)
            .filter(|x| *x as usize % 2 == worker.index())
            .collect();
        worker.dataflow(|scope| {
            scope
                .iterator_source(mine)
                .inspect(move |_| {
                    s1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                })
                .for_each(move |x| {
                    s2.fetch_add(x, std::sync::atomic::Ordering::Relaxed);
                });
        });
    })
    .unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 100);
    assert_eq!(summed.load(std::sync::atomic::Ordering::Relaxed), 5050);
}
