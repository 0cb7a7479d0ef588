//! Keyed state re-divided by key group: a checkpoint of `M` workers, each holding the keys of
//! its groups, restored into `N` workers gives every key's state to exactly one new worker —
//! the one its key now routes to — unchanged, and loses none.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sluice_engine::checkpoint::{CheckpointDir, Checkpointing, Coordinator, Metadata};
use sluice_engine::clock::Clock;
use sluice_engine::hash::{groups_of, worker_of};
use sluice_engine::metrics::Metrics;

/// Writes a committed checkpoint of operator `counts` over `then` workers holding `state`,
/// each key in the part of the worker it routes to.
fn checkpoint(dir: &std::path::Path, then: usize, state: &BTreeMap<String, u64>) {
    let store = CheckpointDir::open(dir).unwrap();
    for worker in 0..then {
        let part: Vec<(String, u64)> = state
            .iter()
            .filter(|(k, _)| worker_of(k.as_str(), then) == worker as u64)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        store
            .write_part(100, &format!("counts-w{worker}"), &part)
            .unwrap();
    }
    let mut metadata = Metadata::new("rescale", "", 100);
    metadata.operators = vec!["counts".into()];
    metadata.workers = then;
    store.commit(metadata).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn every_key_keeps_its_state_on_the_one_worker_it_now_routes_to(
        state in prop::collection::btree_map("[a-z]{1,6}", any::<u64>(), 0..300),
        then in 1usize..9,
        now in 1usize..9,
    ) {
        let dir = tempfile::tempdir().unwrap();
        checkpoint(dir.path(), then, &state);
        let coordinator = Coordinator::open(
            Checkpointing::new(dir.path(), 100).program("rescale", ""),
            (now, 1, 0),
            Metrics::default(),
            Clock::default(),
        )
        .unwrap();
        let mut restored = BTreeMap::new();
        for worker in 0..now {
            let part = format!("counts-w{worker}");
            let image: Vec<(String, u64)> = coordinator
                .restore_keyed(&part, groups_of(worker, now))
                .unwrap()
                .expect("the checkpoint knows counts");
            for (key, value) in image {
                prop_assert_eq!(worker_of(key.as_str(), now), worker as u64, "{} on the wrong worker", key);
                prop_assert!(restored.insert(key.clone(), value).is_none(), "{} restored twice", key);
            }
        }
        prop_assert_eq!(restored, state);
        coordinator.flush(true).unwrap();
    }
}
