//! The query checks catch the bugs they are there for: for each family of queries, a changelog
//! mutated as a typical bug would mutate it — a retraction dropped, a window shifted, a join
//! match lost, a value changed — no longer adds up to the reference's table.

use std::sync::Arc;

use sluice_engine::Execution;
use sluice_nexmark::generator::{EventSet, NexmarkOptions};
use sluice_nexmark::job::{Input, NexmarkRun, Output};
use sluice_nexmark::model::Event;
use sluice_nexmark::queries::Params;
use sluice_nexmark::reference;
use sluice_nexmark::table::Table;

fn events() -> Vec<Event> {
    let options = NexmarkOptions {
        first_event_rate: 1000,
        ..NexmarkOptions::default()
    };
    EventSet::new(options, 1, Some(20_000)).iter().collect()
}

/// The query's changelog (2 workers), after checking that it adds up to the reference.
fn changelog(
    query: &str,
    events: &[Event],
) -> (Vec<(String, i64)>, String, &'static [&'static str]) {
    let outcome = NexmarkRun::new(query, Input::Given(Arc::new(events.to_vec())))
        .output(Output::Changelog)
        .run(Execution::default().workers(2))
        .unwrap();
    let table = outcome.table.as_ref().unwrap();
    let expected = reference::answer(query, events, &Params::default()).unwrap();
    assert_eq!(
        table.finish(outcome.columns).unwrap(),
        expected,
        "{query} unmutated"
    );
    (
        table.changelog().unwrap().to_vec(),
        expected,
        outcome.columns,
    )
}

/// `mutate` changes the changelog of `query`; the result must not match the reference.
fn caught(query: &str, mutate: impl Fn(&mut Vec<(String, i64)>)) {
    let events = events();
    let (mut changes, expected, columns) = changelog(query, &events);
    mutate(&mut changes);
    // An unbalanced changelog (a retraction without its insert) is caught too.
    let mutated = Table::of_changes(&changes).finish(columns).ok();
    assert!(
        mutated.as_ref() != Some(&expected),
        "{query}: the mutated changelog still matches the reference"
    );
}

/// Replaces field `column` of the first change's row with `f(field)`.
fn change_field(changes: &mut [(String, i64)], column: usize, f: impl Fn(i64) -> i64) {
    let (line, _) = &mut changes[0];
    let mut fields: Vec<String> = line.split(',').map(String::from).collect();
    let value: i64 = fields[column].parse().unwrap();
    fields[column] = f(value).to_string();
    *line = fields.join(",");
}

fn drop_first_retraction(changes: &mut Vec<(String, i64)>) {
    let i = changes
        .iter()
        .position(|(_, diff)| *diff < 0)
        .expect("an updating query retracts");
    changes.remove(i);
}

#[test]
fn updating_aggregates_and_top_n_a_dropped_retraction() {
    for query in ["q4", "q6", "q9", "q15", "q16", "q17", "q18", "q19"] {
        caught(query, drop_first_retraction);
    }
}

#[test]
fn windows_a_shifted_window() {
    // q8's stime and q11's starttime and endtime: one result moved to the next window.
    caught("q8", |c| change_field(c, 2, |start| start + 10_000));
    caught("q11", |c| {
        change_field(c, 2, |start| start + 10_000);
        change_field(c, 3, |end| end + 10_000);
    });
    // q5 and q7 show no window: one window's result lost instead.
    caught("q5", |c| {
        c.remove(0);
    });
    caught("q7", |c| {
        c.remove(0);
    });
}

#[test]
fn joins_a_lost_match() {
    for query in ["q3", "q13", "q20"] {
        caught(query, |c| {
            c.remove(0);
        });
    }
}

#[test]
fn projections_a_changed_value() {
    for (query, column) in [("q0", 2), ("q2", 1), ("q10", 2), ("q17", 2), ("q21", 2)] {
        caught(query, |c| change_field(c, column, |v| v + 1));
    }
}
