//! Kappa on the event log: a version of a view job catches up with the log and takes over the
//! view, keeps it up to date as the log grows, and a reprocessed version (a code change)
//! replaces it with no gap and no mix of versions — checked against plain loops.

mod common;

use common::{log_of, wait_for};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sluice_bench::architectures::kappa::Kappa;
use sluice_bench::architectures::word_count_view;
use sluice_serving::{Embedded, ServingStore};

fn line(i: u64) -> String {
    format!("Word{} word{} w{}", i % 13, i % 7, i % 3)
}

/// Each word's count over `lines`, after `normalize`.
fn reference(
    lines: impl Iterator<Item = String>,
    normalize: fn(&str) -> String,
) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in lines {
        for word in line.split_ascii_whitespace() {
            *counts.entry(normalize(word)).or_default() += 1;
        }
    }
    counts
}

fn view_of(store: &dyn ServingStore) -> BTreeMap<String, u64> {
    store
        .entries("counts")
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.as_u64().unwrap()))
        .collect()
}

#[test]
fn a_reprocessed_version_takes_over_the_view_with_no_gap_and_no_mix() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, log_dir) = log_of(dir.path(), 5_000, line);
    let store: Arc<dyn ServingStore> = Arc::new(Embedded::default());
    let kappa = Kappa {
        log: log_dir.clone(),
        store: store.clone(),
        view: "counts".into(),
        from: 0,
        workers: 2,
        checkpoints: dir.path().join("checkpoints"),
        every: 50,
    };
    let as_is: fn(&str) -> String = |w| w.to_string();
    let lower: fn(&str) -> String = |w| w.to_lowercase();

    // Version 1 catches up, then follows.
    let v1 = kappa.start(1, word_count_view(as_is)).unwrap();
    assert!(v1.wait_published(Duration::from_secs(30)));
    assert_eq!(store.published("counts").unwrap(), Some(1));
    log.append_all((5_000..6_000).map(|i| (i / 10, line(i))))
        .unwrap();
    let all = reference((0..6_000).map(line), as_is);
    wait_for("version 1 to follow the log", || {
        view_of(store.as_ref()) == all
    });

    // A reader checks every answer while version 2 (lower-cased words) rebuilds the view.
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let (store, reading) = (store.clone(), reading.clone());
        let (old, new) = (all.clone(), reference((0..6_000).map(line), lower));
        std::thread::spawn(move || {
            let mut versions = Vec::new();
            while reading.load(Ordering::SeqCst) {
                let version = store.published("counts").unwrap();
                assert!(version.is_some(), "a gap: no published version");
                // "Word3" exists only in version 1, "word3" in both (with other counts).
                let upper = store.get("counts", "Word3").unwrap();
                let version_after = store.published("counts").unwrap();
                if version == version_after {
                    match version {
                        Some(1) => assert_eq!(upper, Some(json!(old["Word3"]))),
                        Some(2) => assert_eq!(upper, None, "version 2 has only lower case"),
                        other => panic!("unexpected version {other:?}"),
                    }
                }
                versions.push(version.unwrap());
            }
            assert!(
                versions.windows(2).all(|w| w[0] <= w[1]),
                "the version went back"
            );
            (versions, new)
        })
    };
    let v2 = kappa.start(2, word_count_view(lower)).unwrap();
    assert!(v2.wait_published(Duration::from_secs(30)));
    let reprocessing = v1.stop().unwrap();
    log.append_all((6_000..6_500).map(|i| (i / 10, line(i))))
        .unwrap();
    let final_lower = reference((0..6_500).map(line), lower);
    wait_for("version 2 to follow the log", || {
        view_of(store.as_ref()) == final_lower
    });
    reading.store(false, Ordering::SeqCst);
    let (versions, at_switch) = reader.join().unwrap();
    assert!(
        versions.contains(&1) && versions.contains(&2),
        "{:?}",
        versions.len()
    );
    assert!(at_switch.keys().all(|k| k == &k.to_lowercase()));
    assert!(reprocessing > Duration::ZERO);
    v2.stop().unwrap();
}
