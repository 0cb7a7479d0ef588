//! The checkpoint directory: commits, retention, and recovery past damage and interrupted
//! commits.

use std::fs;

use sluice_engine::checkpoint::{CheckpointDir, Metadata};

type Counts = Vec<(String, u64)>;

fn counts(n: u64) -> Counts {
    (0..n).map(|i| (format!("key{i}"), i * 3)).collect()
}

/// Writes two workers' parts of `epoch` and commits it.
fn checkpoint(store: &CheckpointDir, epoch: u64) {
    for worker in 0..2 {
        store
            .write_part(
                epoch,
                &format!("count-w{worker}"),
                &counts(epoch / 100 + worker),
            )
            .unwrap();
    }
    let mut metadata = Metadata::new("wordcount", "fp", epoch);
    metadata.operators = vec!["count".to_string()];
    metadata.workers = 2;
    store.commit(metadata).unwrap();
}

#[test]
fn the_latest_commit_is_restored_and_only_the_last_few_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointDir::open(dir.path()).unwrap().retain(2);
    for epoch in [100, 200, 300] {
        checkpoint(&store, epoch);
    }
    assert_eq!(store.epochs().unwrap(), vec![200, 300]);
    let (latest, warnings) = store.latest_valid().unwrap();
    let latest = latest.unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(latest.metadata.epoch, 300);
    assert_eq!(latest.metadata.parts.len(), 2);
    assert_eq!(latest.read_part::<Counts>("count-w1").unwrap(), counts(4));
}

#[test]
fn an_interrupted_commit_leaves_the_previous_checkpoint_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointDir::open(dir.path()).unwrap();
    checkpoint(&store, 100);
    // A crash after one worker's part of epoch 200: nothing committed.
    store.write_part(200, "count-w0", &counts(9)).unwrap();
    let (latest, _) = store.latest_valid().unwrap();
    assert_eq!(latest.unwrap().metadata.epoch, 100);
    assert_eq!(store.epochs().unwrap(), vec![100]);
    // The next commit clears the stale pending epoch.
    checkpoint(&store, 300);
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".pending"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_epoch_half_removed_by_a_crash_is_not_taken_for_a_committed_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointDir::open(dir.path()).unwrap().retain(2);
    for epoch in [100, 200, 300] {
        checkpoint(&store, epoch);
    }
    // What a crash in the middle of removing epoch 200 leaves: renamed, one part gone.
    fs::rename(
        dir.path().join("epoch-200"),
        dir.path().join("epoch-200.discarded"),
    )
    .unwrap();
    fs::remove_file(dir.path().join("epoch-200.discarded/count-w0.state")).unwrap();
    assert_eq!(store.epochs().unwrap(), vec![300]);
    let (latest, warnings) = store.latest_valid().unwrap();
    assert_eq!(latest.unwrap().metadata.epoch, 300);
    assert!(warnings.is_empty(), "{warnings:?}");
    // The next commit removes the rest.
    checkpoint(&store, 400);
    assert!(!dir.path().join("epoch-200.discarded").exists());
    assert_eq!(store.epochs().unwrap(), vec![300, 400]);
}

#[test]
fn a_damaged_latest_checkpoint_is_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointDir::open(dir.path()).unwrap().retain(5);
    for epoch in [100, 200, 300] {
        checkpoint(&store, epoch);
    }
    // Flip a byte of one part of 300, truncate one part of 200.
    let flipped = dir.path().join("epoch-300/count-w1.state");
    let mut bytes = fs::read(&flipped).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&flipped, bytes).unwrap();
    let truncated = dir.path().join("epoch-200/count-w0.state");
    let bytes = fs::read(&truncated).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();

    let (latest, warnings) = store.latest_valid().unwrap();
    assert_eq!(latest.unwrap().metadata.epoch, 100);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("epoch-300/count-w1.state"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("checksum"), "{warnings:?}");
    assert!(
        warnings[1].contains("epoch-200/count-w0.state"),
        "{warnings:?}"
    );

    let reports = store.inspect().unwrap();
    let problems: Vec<(u64, bool)> = reports
        .iter()
        .map(|r| (r.epoch, r.problem.is_some()))
        .collect();
    assert_eq!(problems, vec![(100, false), (200, true), (300, true)]);
    assert!(reports[2].latest);
}

#[test]
fn a_replayed_epoch_is_committed_again_over_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointDir::open(dir.path()).unwrap();
    checkpoint(&store, 100);
    store.write_part(100, "count-w0", &counts(7)).unwrap();
    store.commit(Metadata::new("wordcount", "fp", 100)).unwrap();
    let (latest, _) = store.latest_valid().unwrap();
    let latest = latest.unwrap();
    assert_eq!(latest.read_part::<Counts>("count-w0").unwrap(), counts(7));
    assert_eq!(latest.metadata.parts.len(), 1);
}

mod damage {
    //! Random checkpoints, random damage at a random byte of a random file: every epoch whose
    //! files are intact still loads with exactly what was saved, a damaged one never loads, and
    //! recovery picks the newest intact epoch.

    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;
    use sluice_engine::checkpoint::{CheckpointDir, Metadata};

    type Part = Vec<(String, u64)>;

    /// Every file below `dir`, sorted.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files(&path));
            } else {
                found.push(path);
            }
        }
        found.sort();
        found
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn damage_never_loads_and_never_loses_an_intact_epoch(
            sizes in prop::collection::vec(0u64..40, 1..5),
            file_pick in any::<prop::sample::Index>(),
            byte_pick in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            truncate in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = CheckpointDir::open(dir.path()).unwrap().retain(10);
            let mut saved: BTreeMap<u64, Part> = BTreeMap::new();
            for (i, &size) in sizes.iter().enumerate() {
                let epoch = 100 * (i as u64 + 1);
                let part: Part = (0..size).map(|k| (format!("k{k}"), k * epoch)).collect();
                store.write_part(epoch, "count", &part).unwrap();
                let mut metadata = Metadata::new("wordcount", "fp", epoch);
                metadata.source_offsets.insert("source-w0".into(), epoch * 7);
                store.commit(metadata).unwrap();
                saved.insert(epoch, part);
            }
            let all = files(dir.path());
            let victim = &all[file_pick.index(all.len())];
            let mut bytes = std::fs::read(victim).unwrap();
            prop_assume!(!bytes.is_empty());
            let at = byte_pick.index(bytes.len());
            if truncate {
                bytes.truncate(at);
            } else {
                bytes[at] ^= flip;
            }
            std::fs::write(victim, &bytes).unwrap();
            let damaged_epoch = saved
                .keys()
                .copied()
                .find(|e| victim.starts_with(dir.path().join(format!("epoch-{e}"))));

            for (&epoch, part) in &saved {
                match store.load(epoch) {
                    Ok(checkpoint) => {
                        // Whatever loads is exactly what was saved.
                        prop_assert_eq!(&checkpoint.read_part::<Part>("count").unwrap(), part);
                        prop_assert_eq!(checkpoint.metadata.source_offsets["source-w0"], epoch * 7);
                    }
                    Err(e) => prop_assert_eq!(
                        Some(epoch), damaged_epoch, "intact epoch {} lost: {}", epoch, e
                    ),
                }
            }
            let (restored, _) = store.latest_valid().unwrap();
            let restored = restored.map(|c| c.metadata.epoch);
            let newest_intact = saved.keys().copied().rev().find(|&e| Some(e) != damaged_epoch);
            let newest = *saved.keys().last().unwrap();
            if victim.ends_with("LATEST") {
                // A damaged pointer may name an older epoch, never a damaged or a made-up one.
                prop_assert!(restored.is_some_and(|e| saved.contains_key(&e)));
            } else if damaged_epoch == Some(newest) && restored == Some(newest) {
                // The damage did not change what the epoch holds (e.g. JSON white space).
                prop_assert_eq!(
                    store.load(newest).unwrap().read_part::<Part>("count").unwrap(),
                    saved[&newest].clone()
                );
            } else {
                prop_assert_eq!(restored, newest_intact);
            }
        }
    }
}
