//! Lambda on the event log: batch view + speed layer, merged by the serving layer, equal a
//! plain loop over the whole log; the speed layer follows appends; a new generation replaces
//! the old one without any query seeing a double count or a gap.

mod common;

use common::{log_of, wait_for};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sluice_bench::architectures::lambda::Lambda;
use sluice_bench::architectures::word_count_view;
use sluice_engine::serving::{Embedded, ServingStore};

fn line(i: u64) -> String {
    format!("a{} b{} c", i % 11, i % 5)
}

fn reference(lines: std::ops::Range<u64>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for i in lines {
        for word in line(i).split_ascii_whitespace() {
            *counts.entry(word.to_string()).or_default() += 1;
        }
    }
    counts
}

fn served(lambda: &Lambda, keys: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    keys.keys()
        .filter_map(|k| Some((k.clone(), lambda.get(k).unwrap()?)))
        .collect()
}

#[test]
fn batch_and_speed_layers_merge_to_the_whole_log_across_generations() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, log_dir) = log_of(dir.path(), 4_000, line);
    let store: Arc<dyn ServingStore> = Arc::new(Embedded::default());
    let lambda = Lambda {
        log: log_dir.clone(),
        store: store.clone(),
        view: "counts".into(),
        workers: 2,
        checkpoints: dir.path().join("checkpoints"),
        every: 50,
    };
    let first = lambda.build(1, word_count_view(|w| w.to_string())).unwrap();
    assert_eq!(first.batch_end, 4_000);
    assert_eq!(served(&lambda, &reference(0..4_000)), reference(0..4_000));

    // The speed layer covers what is appended after the batch view.
    log.append_all((4_000..5_000).map(|i| (i / 10, line(i))))
        .unwrap();
    let all = reference(0..5_000);
    wait_for("the speed layer", || served(&lambda, &all) == all);

    // Generation 2: a batch view up to 5,000 and a new speed layer; no query sees anything
    // but the exact counts of the whole log while it takes over.
    let checking = Arc::new(AtomicBool::new(true));
    let checker = {
        let (lambda, checking, all) = (lambda.clone(), checking.clone(), all.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while checking.load(Ordering::SeqCst) {
                for (word, count) in all.iter().take(5) {
                    assert_eq!(lambda.get(word).unwrap(), Some(*count), "{word}");
                    reads += 1;
                }
            }
            reads
        })
    };
    let second = lambda.build(2, word_count_view(|w| w.to_string())).unwrap();
    assert_eq!(second.batch_end, 5_000);
    assert_eq!(store.published("counts").unwrap(), Some(2));
    first.speed.stop().unwrap();
    checking.store(false, Ordering::SeqCst);
    assert!(checker.join().unwrap() > 0);
    assert_eq!(served(&lambda, &all), all);

    log.append_all((5_000..5_500).map(|i| (i / 10, line(i))))
        .unwrap();
    let more = reference(0..5_500);
    wait_for("generation 2's speed layer", || {
        served(&lambda, &more) == more
    });
    second.speed.stop().unwrap();
}
