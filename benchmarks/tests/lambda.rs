//! Lambda on the event log: batch view + speed layer, merged by the serving layer, equal a
//! plain loop over the whole log; the speed layer follows appends; a new generation replaces
//! the old one without any query seeing a double count or a gap; the batch layer runs
//! periodically and drops the views it covers.

mod common;

use common::{log_of, wait_for};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_bench::architectures::lambda::Lambda;
use sluice_bench::architectures::word_count_view;
use sluice_serving::{Embedded, ServingStore};

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

/// The lambda view `counts` of the log at `log`, on 2 workers, checkpointing in `dir`, with
/// its embedded store.
fn counts_view(dir: &std::path::Path, log: std::path::PathBuf) -> (Lambda, Arc<dyn ServingStore>) {
    let store: Arc<dyn ServingStore> = Arc::new(Embedded::default());
    let lambda = Lambda {
        log,
        store: store.clone(),
        view: "counts".into(),
        workers: 2,
        checkpoints: dir.join("checkpoints"),
        every: 50,
    };
    (lambda, store)
}

#[test]
fn batch_and_speed_layers_merge_to_the_whole_log_across_generations() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, log_dir) = log_of(dir.path(), 4_000, line);
    let (lambda, store) = counts_view(dir.path(), log_dir);
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

#[test]
fn the_batch_layer_runs_periodically_and_drops_the_views_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, log_dir) = log_of(dir.path(), 2_000, line);
    let (lambda, store) = counts_view(dir.path(), log_dir);
    let run = lambda
        .serve(
            word_count_view(|w| w.to_string()),
            Some(Duration::from_millis(150)),
        )
        .unwrap();
    assert_eq!(run.generation(), 1);
    // Appends go on while generations replace each other; no query ever sees more than
    // what has been appended (a count in two generations' parts at once).
    let appended = Arc::new(AtomicU64::new(2_000));
    let checking = Arc::new(AtomicBool::new(true));
    let checker = {
        let (lambda, checking, appended) = (lambda.clone(), checking.clone(), appended.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while checking.load(Ordering::SeqCst) {
                let value = lambda.get("c").unwrap().unwrap_or(0);
                let limit = appended.load(Ordering::SeqCst);
                assert!(value <= limit, "c = {value} with {limit} lines appended");
                reads += 1;
            }
            reads
        })
    };
    for chunk in 0..40u64 {
        let lines = 2_000 + chunk * 100..2_100 + chunk * 100;
        // Raised before the append: a reader's bound is never behind what it can see.
        appended.store(lines.end, Ordering::SeqCst);
        log.append_all(lines.clone().map(|i| (i / 10, line(i))))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for("three generations", || run.generation() >= 3);
    let all = reference(0..6_000);
    wait_for("the served generation", || served(&lambda, &all) == all);
    checking.store(false, Ordering::SeqCst);
    assert!(checker.join().unwrap() > 0);
    // Every generation before the served one is retired: views and checkpoints dropped.
    let served_generation = run.generation();
    for generation in 1..served_generation {
        for layer in ["batch", "rt"] {
            let view = format!("counts-{layer}-{generation}");
            assert_eq!(store.published(&view).unwrap(), None, "{view}");
        }
        assert!(!dir
            .path()
            .join(format!("checkpoints/rt-{generation}"))
            .exists());
    }
    assert!(store
        .published(&format!("counts-rt-{served_generation}"))
        .unwrap()
        .is_some());
    // A code change builds a generation at once, and later ones keep its program.
    let before = run.builds();
    run.redeploy(word_count_view(|w| w.to_uppercase())).unwrap();
    assert!(run.builds() > before);
    assert_eq!(lambda.get("C").unwrap(), Some(6_000));
    assert_eq!(lambda.get("c").unwrap(), None);
    run.stop().unwrap();
}
