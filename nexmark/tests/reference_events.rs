//! The generator equals the reference (Flink's Nexmark generator) event for event: the first
//! 20,000 events of `public.options` as the reference wrote them (`tests/data`, a copy of
//! `../shared/nexmark/`), and the published digest of the first 100,000.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sluice_nexmark::generator::{EventSet, NexmarkOptions};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn public_options() -> NexmarkOptions {
    let mut options = NexmarkOptions::default();
    options.read_file(&data("public.options")).unwrap();
    options
}

fn reference_lines() -> Vec<String> {
    let mut text = String::new();
    let file = std::fs::File::open(data("events-20k.jsonl.gz")).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(String::from).collect()
}

fn json_lines(events: &EventSet, n: usize) -> impl Iterator<Item = String> + '_ {
    events.iter().take(n).map(|event| {
        let mut line = String::new();
        event.write_json(&mut line);
        line
    })
}

#[test]
fn the_first_20k_events_equal_the_reference_field_for_field() {
    let reference = reference_lines();
    assert_eq!(reference.len(), 20_000);
    let events = EventSet::new(public_options(), 1, Some(20_000));
    let mut compared = 0;
    for (i, (ours, theirs)) in json_lines(&events, 20_000).zip(&reference).enumerate() {
        assert_eq!(&ours, theirs, "event {i} differs");
        compared += 1;
    }
    assert_eq!(compared, 20_000);
}

#[test]
fn the_checked_in_copy_is_the_shared_file() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/nexmark");
    for name in ["events-20k.jsonl.gz", "public.options"] {
        if let Ok(theirs) = std::fs::read(shared.join(name)) {
            assert_eq!(std::fs::read(data(name)).unwrap(), theirs, "{name}");
        }
    }
}

#[test]
fn the_first_100k_events_have_the_published_digest() {
    let events = EventSet::new(public_options(), 1, Some(100_000));
    let mut digest = Sha256::new();
    for line in json_lines(&events, 100_000) {
        digest.update(line.as_bytes());
        digest.update(b"\n");
    }
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "56bdd437aa4da244ff886d8daf9ed03e274d77806898ab775f9d59191af4211e"
    );
}

#[test]
fn the_decompressed_reference_has_the_published_digest() {
    let mut digest = Sha256::new();
    for line in reference_lines() {
        digest.update(line.as_bytes());
        digest.update(b"\n");
    }
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "049e9fa79f664c5becd05bd4105bf3003459da94526b0b85c3aa0d36eb584029"
    );
}
