//! A checkpoint restored into a changed program: state is found by operator name, so a program
//! whose functions changed resumes with its state, an added stateful operator starts empty, a
//! removed one is refused by name unless its state may be dropped, and names given twice or
//! naming nothing fail the job as it is built.
//!
//! Each case runs version 1 over a log's first records, appends more, and runs version 2 over
//! the rest from version 1's checkpoint; a plain loop applies version 1 to the first records
//! and version 2 to the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sluice_engine::checkpoint::Checkpointing;
use sluice_engine::log::{EventLog, Fsync, LogConfig};
use sluice_engine::prelude::*;
use sluice_engine::sources::LogSource;

const FIRST: u64 = 3_000;
const ALL: u64 = 5_000;

/// Record `i` is `(key i mod 7, i)`, at time `i / 10` ms.
fn record(i: u64) -> (String, u64) {
    (format!("k{}", i % 7), i)
}

/// Appends records `from..to` to the log in `dir`.
fn append(dir: &Path, range: std::ops::Range<u64>) {
    let config = LogConfig::default().fsync(Fsync::Never);
    let mut log = EventLog::open_with(dir, config).unwrap();
    log.append_all(range.map(|i| (i / 10, i.to_string())))
        .unwrap();
}

/// How a version of the program treats a record's value: what it adds to its key's total.
type Step = fn(u64) -> Option<u64>;

/// Version 1: every record adds 1.
fn one(_: u64) -> Option<u64> {
    Some(1)
}

/// Version 2: even records add 10, odd ones are filtered out.
fn ten_for_even(i: u64) -> Option<u64> {
    i.is_multiple_of(2).then_some(10)
}

/// One version of the program: a total per key (`totals`), and, if `lengths`, a second
/// stateful operator counting records per key, built after it (derived names are given in
/// build order); named by uid or by kind.
#[derive(Clone, Copy)]
struct Program {
    step: Step,
    totals: bool,
    lengths: bool,
    uids: bool,
}

/// What a run gave: the last total of each key per operator.
type Totals = BTreeMap<&'static str, BTreeMap<String, u64>>;

struct Dirs {
    _root: tempfile::TempDir,
    log: PathBuf,
    checkpoints: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().unwrap();
    let (log, checkpoints) = (root.path().join("log"), root.path().join("cp"));
    append(&log, 0..FIRST);
    Dirs {
        _root: root,
        log,
        checkpoints,
    }
}

fn run(dirs: &Dirs, program: Program, allow_non_restored: bool) -> Result<Totals> {
    let (totals, lengths) = (Collector::new(), Collector::new());
    let (t, l) = (totals.clone(), lengths.clone());
    let source = LogSource::open(&dirs.log).unwrap();
    let checkpointing = Checkpointing::new(&dirs.checkpoints, 50)
        .program("upgrade", "log")
        .allow_non_restored_state(allow_non_restored);
    let execution = Execution::default().workers(2).checkpointing(checkpointing);
    execute(execution, move |worker| {
        let (source, t, l) = (source.clone(), t.clone(), l.clone());
        worker.dataflow(|scope| {
            let records = scope
                .event_log(&source)
                .map(|line: String| record(line.parse().unwrap()));
            if program.totals {
                let step = program.step;
                let steps = records
                    .clone()
                    .flat_map(move |(key, i)| step(i).map(|s| (key, s)));
                let steps = if program.uids {
                    steps.uid("totals")
                } else {
                    steps
                };
                steps
                    .update_state_by_key(|_, new: Vec<u64>, total: Option<u64>| {
                        Some(total.unwrap_or(0) + new.iter().sum::<u64>())
                    })
                    .collect_into(&t);
            }
            if program.lengths {
                let pairs = records.map(|(key, _)| (key, ()));
                let pairs = if program.uids {
                    pairs.uid("lengths")
                } else {
                    pairs
                };
                pairs
                    .update_state_by_key(|_, new: Vec<()>, n: Option<u64>| {
                        Some(n.unwrap_or(0) + new.len() as u64)
                    })
                    .collect_into(&l);
            }
        });
    })?;
    let last = |collector: Collector<(String, u64)>| {
        // Totals only grow: a key's last is its largest.
        let mut last = BTreeMap::new();
        for (key, total) in collector.take() {
            let slot: &mut u64 = last.entry(key).or_default();
            *slot = (*slot).max(total);
        }
        last
    };
    Ok(BTreeMap::from([
        ("totals", last(totals)),
        ("lengths", last(lengths)),
    ]))
}

/// The plain loop: `first` over records `0..FIRST`, `then` over `FIRST..ALL`.
fn reference(first: Step, then: Step) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for i in 0..ALL {
        let step = if i < FIRST { first } else { then };
        if let Some(s) = step(i) {
            *totals.entry(record(i).0).or_default() += s;
        }
    }
    totals
}

/// Per key, the records among `range`.
fn counts(range: std::ops::Range<u64>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for i in range {
        *counts.entry(record(i).0).or_default() += 1;
    }
    counts
}

const V1: Program = Program {
    step: one,
    totals: true,
    lengths: false,
    uids: true,
};

/// Runs `before` over the first records, then `after` over the rest from its checkpoint.
fn upgrade(before: Program, after: Program, allow: bool) -> (Dirs, Totals, Result<Totals>) {
    let dirs = dirs();
    let first = run(&dirs, before, false).unwrap();
    append(&dirs.log, FIRST..ALL);
    let second = run(&dirs, after, allow);
    (dirs, first, second)
}

#[test]
fn a_changed_function_resumes_with_the_old_state() {
    for uids in [true, false] {
        let before = Program { uids, ..V1 };
        let after = Program {
            step: ten_for_even,
            ..before
        };
        let (_dirs, first, second) = upgrade(before, after, false);
        assert_eq!(first["totals"], counts(0..FIRST));
        assert_eq!(
            second.unwrap()["totals"],
            reference(one, ten_for_even),
            "uids: {uids}"
        );
    }
}

#[test]
fn an_added_stateful_operator_starts_empty_beside_the_restored_one() {
    for uids in [true, false] {
        let before = Program { uids, ..V1 };
        let after = Program {
            lengths: true,
            ..before
        };
        let (_dirs, _, second) = upgrade(before, after, false);
        let second = second.unwrap();
        assert_eq!(second["totals"], reference(one, one), "uids: {uids}");
        assert_eq!(second["lengths"], counts(FIRST..ALL), "uids: {uids}");
    }
}

#[test]
fn a_removed_stateful_operator_is_refused_by_name_unless_its_state_may_be_dropped() {
    let before = Program {
        lengths: true,
        ..V1
    };
    let after = V1;
    let (dirs, _, refused) = upgrade(before, after, false);
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("lengths"), "{error}");
    assert!(error.contains("--allow-non-restored-state"), "{error}");
    assert!(
        error.contains(dirs.checkpoints.to_str().unwrap()),
        "{error}"
    );
    // The refused run took no checkpoint: allowed, it resumes from version 1's.
    let second = run(&dirs, after, true).unwrap();
    assert_eq!(second["totals"], reference(one, one));
    assert!(second["lengths"].is_empty());
}

#[test]
fn a_name_given_twice_or_naming_nothing_fails_the_job_as_it_is_built() {
    let dirs = dirs();
    let run_with = |name_twice: bool| {
        let source = LogSource::open(&dirs.log).unwrap();
        let execution = Execution::default()
            .workers(2)
            .checkpointing(Checkpointing::new(&dirs.checkpoints, 50));
        execute(execution, move |worker| {
            let source = source.clone();
            worker.dataflow(|scope| {
                let pairs = scope.event_log(&source).map(|line: String| (line, ()));
                let counts = pairs.clone().uid("counts").count_by_key();
                if name_twice {
                    pairs.uid("counts").count_by_key();
                } else {
                    counts.uid("nothing");
                }
            });
        })
    };
    let error = run_with(true).unwrap_err().to_string();
    assert!(
        error.contains("two stateful operators are named counts"),
        "{error}"
    );
    let error = run_with(false).unwrap_err().to_string();
    assert!(
        error.contains("uid nothing names no stateful operator"),
        "{error}"
    );
    assert!(
        std::fs::read_dir(&dirs.checkpoints)
            .unwrap()
            .all(|entry| !entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("epoch-")),
        "a refused job committed a checkpoint"
    );
}

/// A running total per key whose state type is `S`, built from and read back as a `u64`.
fn run_typed<S>(
    dirs: &Dirs,
    lift: fn(u64, Option<S>) -> S,
    total: fn(&S) -> u64,
) -> Result<BTreeMap<String, u64>>
where
    S: sluice_engine::stream::Data,
{
    let totals = Collector::new();
    let t = totals.clone();
    let source = LogSource::open(&dirs.log).unwrap();
    let checkpointing = Checkpointing::new(&dirs.checkpoints, 50).program("upgrade", "log");
    let execution = Execution::default().workers(2).checkpointing(checkpointing);
    execute(execution, move |worker| {
        let (source, t) = (source.clone(), t.clone());
        worker.dataflow(|scope| {
            scope
                .event_log(&source)
                .map(|line: String| (record(line.parse().unwrap()).0, ()))
                .uid("totals")
                .update_state_by_key(move |_, new: Vec<()>, state: Option<S>| {
                    Some(lift(new.len() as u64, state))
                })
                .map(move |(key, state)| (key, total(&state)))
                .collect_into(&t);
        });
    })?;
    let mut last = BTreeMap::new();
    for (key, value) in totals.take() {
        let slot: &mut u64 = last.entry(key).or_default();
        *slot = (*slot).max(value);
    }
    Ok(last)
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Total {
    total: u64,
    dropped_later: String,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct TotalWithCount {
    total: u64,
    #[serde(default)]
    updates: u64,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct TotalAsText {
    total: String,
}

#[test]
fn a_state_type_that_gained_or_lost_a_field_resumes_and_an_incompatible_one_is_refused() {
    let dirs = dirs();
    let first = run_typed(
        &dirs,
        |n, s: Option<Total>| Total {
            total: s.map_or(0, |s| s.total) + n,
            dropped_later: "v1".into(),
        },
        |s| s.total,
    )
    .unwrap();
    assert_eq!(first, counts(0..FIRST));
    append(&dirs.log, FIRST..ALL);
    // An incompatible type is refused, naming the operator's file and the field.
    let refused = run_typed(
        &dirs,
        |n, s: Option<TotalAsText>| TotalAsText {
            total: (s.map_or(0, |s| s.total.parse::<u64>().unwrap()) + n).to_string(),
        },
        |s| s.total.parse().unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(refused.contains("totals-w"), "{refused}");
    assert!(refused.contains(".total"), "{refused}");
    assert!(refused.contains("incompatibly"), "{refused}");
    // A field added with a default, one removed: resumes with the totals carried.
    let second = run_typed(
        &dirs,
        |n, s: Option<TotalWithCount>| {
            let s = s.unwrap_or(TotalWithCount {
                total: 0,
                updates: 0,
            });
            TotalWithCount {
                total: s.total + n,
                updates: s.updates + 1,
            }
        },
        |s| s.total,
    )
    .unwrap();
    assert_eq!(second, counts(0..ALL));
}
