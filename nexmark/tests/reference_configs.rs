//! The generator equals the reference (Flink's Nexmark generator) for configurations other than
//! `public.options`: another seed, base time, rate, proportions, sizes, hot ratios and first event
//! id (`alt.options`); `public.options` at 2 generators (Flink's source at parallelism 2); edge
//! values at 3 generators (`edge.options`). The references were written by the upstream Java
//! generator with the seeding patch (`tests/data/README-configs.md`, harness in
//! `tests/data/reference-generator/`); a multi-generator file holds the generators' events in
//! turn, as `sluice gen nexmark --generators P` writes them.
//!
//! The helpers mirror those of `reference_events.rs` (each test file is its own crate).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sluice_nexmark::generator::{EventSet, NexmarkOptions};
use sluice_nexmark::model::Event;

/// One reference configuration: its options file, how many events and generators, the reference
/// file and the sha256 of its decompressed JSON lines (as published in README-configs.md).
struct Case {
    options: &'static str,
    events: u64,
    generators: usize,
    reference: &'static str,
    sha256: &'static str,
}

const ALT: Case = Case {
    options: "alt.options",
    events: 5_000,
    generators: 1,
    reference: "events-alt-5k.jsonl.gz",
    sha256: "6d0f04f206b212f2d77ae87825688501c238870c072f013268f6c3612c620652",
};

const PUBLIC_P2: Case = Case {
    options: "public.options",
    events: 5_000,
    generators: 2,
    reference: "events-p2-5k.jsonl.gz",
    sha256: "e1d7c3a1948025830ff3ba4033cf8d75f274b371c64aa51c00ec840dabc5c435",
};

const EDGE_P3: Case = Case {
    options: "edge.options",
    events: 2_000,
    generators: 3,
    reference: "events-edge-p3-2k.jsonl.gz",
    sha256: "83dadf85b9bc06dc241ec78b0a40fe723d10900b81c2c49c84771ba08f2a2cc2",
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn options(name: &str) -> NexmarkOptions {
    let mut options = NexmarkOptions::default();
    options.read_file(&data(name)).unwrap();
    options
}

fn reference_lines(name: &str) -> Vec<String> {
    let mut text = String::new();
    let file = std::fs::File::open(data(name)).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(String::from).collect()
}

fn json(event: Event) -> String {
    let mut line = String::new();
    event.write_json(&mut line);
    line
}

/// The fields of one canonical JSON line, in order, each with its raw JSON text: `event_type`,
/// the kind (`person`, `auction`, `bid`), then the event's own fields. `None` if the line is not
/// of that shape.
fn fields(line: &str) -> Option<Vec<(String, String)>> {
    let rest = line.strip_prefix("{\"event_type\":")?;
    let (event_type, rest) = rest.split_once(",\"")?;
    let (kind, mut rest) = rest.split_once("\":{")?;
    let mut fields = vec![
        ("event_type".to_string(), event_type.to_string()),
        ("kind".to_string(), kind.to_string()),
    ];
    loop {
        let (key, after) = rest.strip_prefix('"')?.split_once("\":")?;
        let end = if let Some(string) = after.strip_prefix('"') {
            // Up to the closing quote: the only escapes are `\"` and `\\`.
            let bytes = string.as_bytes();
            let mut i = 0;
            while bytes.get(i)? != &b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i + 2
        } else {
            after.find([',', '}'])?
        };
        fields.push((key.to_string(), after[..end].to_string()));
        match after[end..].strip_prefix(',') {
            Some(next) => rest = next,
            None => return (&after[end..] == "}}").then_some(fields),
        }
    }
}

/// Where two event lines differ: the first differing field with both values, or `None`.
fn first_difference(ours: &str, theirs: &str) -> Option<String> {
    if ours == theirs {
        return None;
    }
    let short = |s: &str| -> String {
        if s.len() > 120 {
            format!("{}… ({} bytes)", &s[..120], s.len())
        } else {
            s.to_string()
        }
    };
    let (Some(a), Some(b)) = (fields(ours), fields(theirs)) else {
        return Some(format!(
            "not both canonical: ours {} / reference {}",
            short(ours),
            short(theirs)
        ));
    };
    let none = (String::from("(missing)"), String::new());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).unwrap_or(&none), b.get(i).unwrap_or(&none));
        if x != y {
            return Some(format!(
                "field {} (reference field {}): ours {} / reference {}",
                x.0,
                y.0,
                short(&x.1),
                short(&y.1)
            ));
        }
    }
    Some("the lines differ outside their fields".to_string())
}

/// Compares Sluice's events with the reference's lines, naming the first differing event
/// index and field.
fn assert_equal(what: &str, ours: impl Iterator<Item = Event>, reference: &[&str]) {
    let mut ours = ours.map(json);
    for (i, theirs) in reference.iter().enumerate() {
        let Some(line) = ours.next() else {
            panic!(
                "{what}: Sluice made {i} events, the reference {}",
                reference.len()
            );
        };
        if let Some(difference) = first_difference(&line, theirs) {
            panic!("{what}: event {i} differs: {difference}");
        }
    }
    assert!(
        ours.next().is_none(),
        "{what}: Sluice made more events than the reference's {}",
        reference.len()
    );
}

fn check(case: &Case) {
    let reference = reference_lines(case.reference);
    assert_eq!(reference.len() as u64, case.events, "{}", case.reference);
    let events = EventSet::new(options(case.options), case.generators, Some(case.events));
    let all: Vec<&str> = reference.iter().map(String::as_str).collect();
    assert_equal(
        &format!(
            "{} at {} generator(s), in turn",
            case.options, case.generators
        ),
        events.iter(),
        &all,
    );
    if case.generators == 1 {
        return;
    }
    // Each generator on its own (Flink's source subtask i): the reference's lines taken back
    // out of turn. Generator i makes events / P, the last one the rest (GeneratorConfig.split).
    let p = case.generators;
    let share = case.events as usize / p;
    let mut left: Vec<usize> = (0..p).map(|_| share).collect();
    left[p - 1] = case.events as usize - share * (p - 1);
    let mut own: Vec<Vec<&str>> = vec![Vec::new(); p];
    let mut lines = all.iter();
    while left.iter().any(|&n| n > 0) {
        for i in 0..p {
            if left[i] > 0 {
                left[i] -= 1;
                own[i].push(lines.next().unwrap());
            }
        }
    }
    for (i, lines) in own.iter().enumerate() {
        assert_equal(
            &format!("{} generator {i} of {p}", case.options),
            events.generator(i),
            lines,
        );
    }
}

#[test]
fn alt_options_equal_the_reference_field_for_field() {
    check(&ALT);
}

#[test]
fn public_options_at_two_generators_equal_the_reference_field_for_field() {
    check(&PUBLIC_P2);
}

#[test]
fn edge_options_at_three_generators_equal_the_reference_field_for_field() {
    check(&EDGE_P3);
}

#[test]
fn the_references_have_their_published_digests() {
    for case in [&ALT, &PUBLIC_P2, &EDGE_P3] {
        let mut digest = Sha256::new();
        for line in reference_lines(case.reference) {
            digest.update(line.as_bytes());
            digest.update(b"\n");
        }
        let hex: String = digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, case.sha256, "{}", case.reference);
    }
}

#[test]
fn a_difference_is_named_by_its_field() {
    let a = r#"{"event_type":2,"bid":{"auction":1000,"bidder":2001,"url":"x\"y\\","extra":"a"}}"#;
    assert_eq!(fields(a).unwrap().len(), 6);
    assert_eq!(first_difference(a, a), None);
    let b = a.replace("\"extra\":\"a\"", "\"extra\":\"b\"");
    let difference = first_difference(a, &b).unwrap();
    assert!(difference.starts_with("field extra"), "{difference}");
    let c = a.replace("2001", "2002");
    assert!(first_difference(a, &c).unwrap().starts_with("field bidder"));
}
