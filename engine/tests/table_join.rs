//! Stream–table joins against a plain loop: each record meets the table as of its time, for any
//! interleaving of records and updates and on 1 and 2 workers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use proptest::prelude::*;
use sluice_engine::prelude::*;

type Update = (u8, Option<u32>);
/// A record's time, its key, and the value it was joined with.
type Joined<V> = Vec<(Time, u8, V)>;

/// Runs both joins; records are split across workers, updates come from worker 0.
fn run(
    records: Vec<(Time, u8)>,
    updates: Vec<(Time, Update)>,
    workers: usize,
) -> (Joined<u32>, Joined<Option<u32>>) {
    let (inner, outer) = (Collector::new(), Collector::new());
    let (i, o) = (inner.clone(), outer.clone());
    let (records, updates) = (Arc::new(records), Arc::new(updates));
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<(Time, u8)> = records.iter().skip(index).step_by(peers).copied().collect();
        let table: Vec<(Time, Update)> = if index == 0 {
            updates.to_vec()
        } else {
            Vec::new()
        };
        worker.dataflow(|scope| {
            let stream = scope.timed_source(mine.into_iter().map(|(t, k)| (t, (t, k))));
            let table = scope.timed_source(table);
            stream
                .clone()
                .join_table(
                    table.clone(),
                    |(_, k): &(Time, u8)| *k,
                    |(t, k), v| (t, k, *v),
                )
                .collect_into(&i);
            stream
                .left_join_table(
                    table,
                    |(_, k): &(Time, u8)| *k,
                    |(t, k), v| (t, k, v.copied()),
                )
                .collect_into(&o);
        });
    })
    .unwrap();
    let (mut inner, mut outer) = (inner.take(), outer.take());
    inner.sort();
    outer.sort();
    (inner, outer)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn each_record_meets_the_table_as_of_its_time(
        records in proptest::collection::vec((0u64..50, 0u8..6), 0..80),
        // One update per (key, time), so that same-time updates never conflict.
        updates in proptest::collection::btree_map((0u8..6, 0u64..50), proptest::option::of(0u32..100), 0..40),
        workers in 1usize..=2,
    ) {
        let updates: Vec<(Time, Update)> = updates.into_iter().map(|((k, t), v)| (t, (k, v))).collect();
        let (inner, outer) = run(records.clone(), updates.clone(), workers);

        // The plain loop: apply every update at or before the record's time, in time order.
        let mut expected_outer = Vec::new();
        for &(t, k) in &records {
            let mut table: HashMap<u8, u32> = HashMap::new();
            let mut in_order: BTreeMap<Time, Vec<Update>> = BTreeMap::new();
            for &(u, update) in &updates {
                in_order.entry(u).or_default().push(update);
            }
            for (_, batch) in in_order.range(..=t) {
                for &(key, value) in batch {
                    match value {
                        Some(v) => table.insert(key, v),
                        None => table.remove(&key),
                    };
                }
            }
            expected_outer.push((t, k, table.get(&k).copied()));
        }
        expected_outer.sort();
        let expected_inner: Vec<(Time, u8, u32)> =
            expected_outer.iter().filter_map(|&(t, k, v)| Some((t, k, v?))).collect();
        prop_assert_eq!(outer, expected_outer);
        prop_assert_eq!(inner, expected_inner);
    }
}

/// Interval join: every pair within the bounds, and (outer) every left record without one,
/// for any arrival order within the watermark's bound and any worker count, with checkpoints
/// or without.
mod interval {
    use super::*;
    use sluice_engine::checkpoint::Checkpointing;
    use sluice_engine::testing::arrivals_within;
    use sluice_engine::timely::container::CapacityContainerBuilder;
    use sluice_engine::timely::dataflow::operators::generic::operator::source;

    /// Emits one record per activation, at times 1, 2, …, so that the operators downstream see
    /// their inputs and frontiers move step by step rather than all at once.
    fn trickle<'s>(scope: Scope<'s>, records: Vec<Event>) -> Stream<'s, Event> {
        source::<_, CapacityContainerBuilder<Vec<Event>>, _, _>(
            scope,
            "Trickle",
            move |cap, info| {
                let activator = scope.activator_for(info.address.clone());
                let mut cap = Some(cap);
                let mut records = records.into_iter();
                let mut time = 0;
                activator.activate();
                move |output| match (cap.as_mut(), records.next()) {
                    (Some(c), Some(record)) => {
                        time += 1;
                        c.downgrade(&time);
                        output.session(&*c).give(record);
                        activator.activate();
                    }
                    _ => cap = None,
                }
            },
        )
    }

    type Event = (u8, Time, u32); // key, event time, id

    fn arrive(events: &[Event], delays: &[u64], disorder: u64) -> Vec<Event> {
        let delays: Vec<u64> = delays.iter().cycle().take(events.len()).copied().collect();
        arrivals_within(events, &delays, disorder, |e| e.1)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn pairs_within_the_bounds_equal_a_plain_loop(
            lefts in proptest::collection::vec((0u8..4, 0u64..2000), 0..60),
            rights in proptest::collection::vec((0u8..4, 0u64..2000), 0..60),
            delays in proptest::collection::vec(0u64..300, 1..60),
            disorder in 0u64..300,
            (lower, upper) in (-300i64..300).prop_flat_map(|l| (Just(l), l..l + 400)),
            outer: bool,
            workers in 1usize..=2,
            checkpointed: bool,
        ) {
            let lefts: Vec<Event> = lefts.iter().enumerate().map(|(i, &(k, t))| (k, t, i as u32)).collect();
            let rights: Vec<Event> = rights.iter().enumerate().map(|(i, &(k, t))| (k, t, i as u32)).collect();
            let (a_in, b_in) = (Arc::new(arrive(&lefts, &delays, disorder)), Arc::new(arrive(&rights, &delays, disorder)));
            let out = Collector::new();
            let sink = out.clone();
            // With checkpoints, the join's gate holds back records past each epoch while one
            // input's frontier runs ahead of the other's: the pairs must not change.
            let dir = tempfile::tempdir().unwrap();
            let mut execution = Execution::default().workers(workers);
            if checkpointed {
                execution = execution.checkpointing(Checkpointing::new(dir.path(), 40).program("interval", "v1"));
            }
            execute(execution, move |worker| {
                let (index, peers) = (worker.index(), worker.peers());
                let share = |v: &[Event]| -> Vec<Event> { v.iter().skip(index).step_by(peers).copied().collect() };
                let (a, b) = (share(&a_in), share(&b_in));
                worker.dataflow(|scope| {
                    let watermarks = Watermarks::bounded_out_of_orderness(disorder);
                    let a = trickle(scope, a).with_event_time(|e: &Event| e.1, watermarks);
                    let b = trickle(scope, b).with_event_time(|e: &Event| e.1, watermarks);
                    a.interval_join(b, lower, upper, outer, |_, a: &u32, b: Option<&u32>| (*a, b.copied()))
                        .collect_into(&sink);
                });
            })
            .unwrap();
            let mut got = out.take();
            got.sort();

            let mut expected = Vec::new();
            for &(ka, ta, ia) in &lefts {
                let mut matched = false;
                for &(kb, tb, ib) in &rights {
                    let (tb, ta) = (tb as i64, ta as i64);
                    if ka == kb && tb >= ta + lower && tb <= ta + upper {
                        expected.push((ia, Some(ib)));
                        matched = true;
                    }
                }
                if outer && !matched {
                    expected.push((ia, None));
                }
            }
            expected.sort();
            prop_assert_eq!(got, expected);
        }
    }
}
