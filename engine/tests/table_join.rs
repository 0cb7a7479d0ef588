//! Stream–table joins against a plain loop: each record meets the table as of its time, for any
//! interleaving of records and updates and on 1 and 2 workers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use proptest::prelude::*;
use sluice_engine::prelude::*;

type Update = (u8, Option<u32>);

/// Runs both joins; records are split across workers, updates come from worker 0.
fn run(
    records: Vec<(Time, u8)>,
    updates: Vec<(Time, Update)>,
    workers: usize,
) -> (Vec<(Time, u8, u32)>, Vec<(Time, u8, Option<u32>)>) {
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
