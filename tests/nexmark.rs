//! `sluice gen nexmark` and `sluice run nexmark` end to end: the generated events are the
//! reference's, and every query's final table from two processes on loopback equals the
//! plain-loop reference (`sluice_nexmark::reference`).

mod common;

use std::io::Read;

use common::{sluice, stderr};
use sluice::nexmark::generator::{EventSet, NexmarkOptions};
use sluice::nexmark::queries::{Params, NAMES};
use sluice::nexmark::reference;

#[test]
fn gen_nexmark_writes_the_reference_events() {
    let options = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/nexmark/tests/data/public.options"
    );
    let output = sluice()
        .args(["gen", "nexmark", "20000", "--options", options])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let mut reference = Vec::new();
    let gz = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/nexmark/tests/data/events-20k.jsonl.gz"
    );
    flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap())
        .read_to_end(&mut reference)
        .unwrap();
    assert!(
        output.stdout == reference,
        "gen nexmark differs from the reference events"
    );
}

/// The test events of the library's query tests: 20,000 at 1,000 per second of event time.
const EVENTS: &str = "20000";
const RATE: &str = "1000";

/// Runs `query` on two processes on loopback (one worker each) and returns process 0's CSV.
fn two_processes(query: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let ports = [common::free_port(), common::free_port()];
    let hostfile = format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]);
    std::fs::write(&hosts, hostfile).unwrap();
    let out = dir.path().join("table.csv");
    let children: Vec<_> = (0..2)
        .map(|process| {
            sluice()
                .args(["run", "nexmark", "--query", query, "--events", EVENTS])
                .args(["--first-event-rate", RATE, "--generators", "1"])
                .args(["--processes", "2", "--process", &process.to_string()])
                .arg("--hostfile")
                .arg(&hosts)
                .arg("--output")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{query}: {}", stderr(&output));
    }
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn every_query_on_two_processes_equals_the_reference() {
    let options = NexmarkOptions {
        first_event_rate: RATE.parse().unwrap(),
        ..NexmarkOptions::default()
    };
    let events: Vec<_> = EventSet::new(options, 1, Some(EVENTS.parse().unwrap()))
        .iter()
        .collect();
    let mut compared = 0;
    for query in NAMES {
        // q12 windows over processing time: no reference can say what it gives (its own test
        // checks what can be checked).
        let Some(expected) = reference::answer(query, &events, &Params::default()) else {
            assert_eq!(*query, "q12", "no reference for {query}");
            continue;
        };
        assert_eq!(two_processes(query), expected, "{query} on two processes");
        compared += 1;
    }
    assert_eq!(compared, NAMES.len() - 1);
}
