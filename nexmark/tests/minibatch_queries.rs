//! The windowed queries in micro-batch mode (Spark Streaming's semantics: windows of arrival
//! time) equal a reference computed over the batches: the events are cut into 1 s batches by
//! `dateTime` and run under a manual clock, so each event's arrival time is its batch's time,
//! and each reference is a plain loop over batch times, written from the SQL with "window
//! over event time" read as "window over batch time".

use sluice_nexmark::reference;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_engine::clock::{Clock, ManualClock};
use sluice_engine::prelude::*;
use sluice_minibatch::StreamingContext;
use sluice_nexmark::generator::{EventSet, NexmarkOptions};
use sluice_nexmark::model::{Bid, Event};
use sluice_nexmark::queries::q11::Q11Row;
use sluice_nexmark::queries::q5::Q5Row;
use sluice_nexmark::queries::q7::Q7Row;
use sluice_nexmark::queries::q8::Q8Row;
use sluice_nexmark::queries::{self, Params, Query, Visitor};
use sluice_nexmark::table::{Row, Table};

/// The batch interval, ms.
const INTERVAL: Time = 1000;
/// Empty batches run after the data, so that every window holding data and every session
/// (closed more than 10 s after its last bid) comes out.
const TAIL: usize = 12;

/// 10,000 events over 10 s of event time, in 1 s batches by `dateTime` (batch `i`, at time
/// `i × 1 s`, holds the events of the `i`-th second), then [`TAIL`] empty batches.
fn batches() -> Vec<Vec<Event>> {
    let options = NexmarkOptions {
        first_event_rate: 1000,
        ..NexmarkOptions::default()
    };
    let events: Vec<Event> = EventSet::new(options, 1, Some(10_000)).iter().collect();
    let first = events.iter().map(Event::date_time).min().unwrap();
    let mut batches: Vec<Vec<Event>> = Vec::new();
    for event in events {
        let i = ((event.date_time() - first) / INTERVAL as i64) as usize;
        batches.resize_with(batches.len().max(i + 1), Vec::new);
        batches[i].push(event);
    }
    batches.resize_with(batches.len() + TAIL, Vec::new);
    batches
}

/// The time of batch `i` (0-based): `(i + 1) × 1 s`.
fn batch_time(i: usize) -> i64 {
    (i as i64 + 1) * INTERVAL as i64
}

/// The bids of the batches whose times lie in `(end − length, end]`.
fn window_bids(batches: &[Vec<Event>], end: i64, length: i64) -> Vec<&Bid> {
    let within = |i: &usize| end - length < batch_time(*i) && batch_time(*i) <= end;
    let indices = (0..batches.len()).filter(within);
    indices.flat_map(|i| reference::bids(&batches[i])).collect()
}

/// The window ends of a slide over the run: `slide, 2 × slide, …` up to the last batch.
fn window_ends(batches: &[Vec<Event>], slide: i64) -> impl Iterator<Item = i64> {
    let last = batch_time(batches.len() - 1);
    (1..)
        .map(move |k| k * slide)
        .take_while(move |&t| t <= last)
}

/// Runs query `name` in micro-batch mode over `batches` (batch `i` arriving in the interval
/// ending at `(i + 1) × interval`) with `workers` workers; the final table of the changes
/// made by the last batch, as CSV.
fn engine(
    name: &str,
    batches: &[Vec<Event>],
    interval: Time,
    workers: usize,
) -> Result<String, String> {
    let run = MiniBatchRun {
        batches: batches.to_vec(),
        interval,
        workers,
    };
    queries::visit(name, run).expect("a query")
}

struct MiniBatchRun {
    batches: Vec<Vec<Event>>,
    interval: Time,
    workers: usize,
}

impl Visitor for MiniBatchRun {
    type Output = Result<String, String>;

    fn visit<Q: Query>(self) -> Self::Output {
        let _turn = sluice_minibatch::testing::exclusive();
        let clock = ManualClock::new(0);
        let execution = Execution::default()
            .workers(self.workers)
            .clock(Clock::Manual(clock.clone()));
        let mut ssc = StreamingContext::new(execution, Duration::from_millis(self.interval));
        let checkpoint = tempfile::tempdir().unwrap();
        ssc.checkpoint(checkpoint.path()).unwrap();
        let count = self.batches.len() as Time;
        let last = count * self.interval;
        let input: Vec<Option<Vec<Event>>> = self.batches.into_iter().map(Some).collect();
        let table = Arc::new(Mutex::new(Table::new()));
        let sink = table.clone();
        ssc.define(move |graph| {
            let events = graph.input_batches(input.clone(), 2);
            let changes = Q::default()
                .minibatch(events, &Params::default())
                .expect("a micro-batch query");
            let sink = sink.clone();
            // A graceful stop runs one more batch: keep the changes of the batches given.
            changes.with_processing_time().for_each(
                move |(t, (row, diff)): (Time, (Q::Row, i64))| {
                    if t <= last {
                        sink.lock().unwrap().add(&row, diff);
                    }
                },
            );
        })
        .map_err(|e| e.to_string())?;
        ssc.start().map_err(|e| e.to_string())?;
        for i in 1..=count {
            clock.advance_to(i * self.interval);
            ssc.await_batch(i * self.interval)
                .map_err(|e| e.to_string())?;
        }
        ssc.stop(true).map_err(|e| e.to_string())?;
        let table = table.lock().unwrap();
        table.finish(Q::Row::COLUMNS).map_err(|e| e.to_string())
    }
}

/// The engine's micro-batch table for `query` equals `expected` (not empty), with 1 and 2
/// workers.
fn check(query: &str, batches: &[Vec<Event>], expected: String) {
    assert!(
        expected.lines().count() > 1,
        "{query}: the reference table is empty; the check would prove nothing"
    );
    for workers in [1, 2] {
        let actual = engine(query, batches, INTERVAL, workers).unwrap();
        if actual != expected {
            let (a, e): (Vec<_>, Vec<_>) = (actual.lines().collect(), expected.lines().collect());
            let first = a.iter().zip(&e).position(|(x, y)| x != y);
            panic!(
                "{query}, {workers} worker(s): {} rows, expected {}; first difference at row {first:?}: {:?} vs {:?}",
                a.len(),
                e.len(),
                first.map(|i| a[i]),
                first.map(|i| e[i]),
            );
        }
    }
}

/// q5 over batches: every 2 s, the batches of the last 10 s; each auction's bids there; the
/// auctions at the window's maximum.
fn q5_batches(batches: &[Vec<Event>]) -> Vec<Q5Row> {
    let mut rows = Vec::new();
    for end in window_ends(batches, 2000) {
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for b in window_bids(batches, end, 10_000) {
            *counts.entry(b.auction).or_insert(0) += 1;
        }
        let max = counts.values().copied().max().unwrap_or(0);
        for (&auction, &num) in &counts {
            if num == max {
                rows.push(Q5Row { auction, num });
            }
        }
    }
    rows
}

/// q7 over batches: every 10 s, the batches of the last 10 s; their bids at the highest price.
fn q7_batches(batches: &[Vec<Event>]) -> Vec<Q7Row> {
    let mut rows = Vec::new();
    for end in window_ends(batches, 10_000) {
        let bids = window_bids(batches, end, 10_000);
        let max = bids.iter().map(|b| b.price).max();
        for b in bids {
            if Some(b.price) == max {
                rows.push(Q7Row {
                    auction: b.auction,
                    price: b.price,
                    bidder: b.bidder,
                    date_time: b.date_time,
                    extra: b.extra,
                });
            }
        }
    }
    rows
}

/// q8 over batches: every 10 s, the distinct people of the last 10 s's batches who are sellers
/// of an auction of those batches; `stime` is the window's start in batch time.
fn q8_batches(batches: &[Vec<Event>]) -> Vec<Q8Row> {
    let mut rows = Vec::new();
    for end in window_ends(batches, 10_000) {
        let (mut people, mut sellers) = (BTreeSet::new(), BTreeSet::new());
        for (i, batch) in batches.iter().enumerate() {
            if !(end - 10_000 < batch_time(i) && batch_time(i) <= end) {
                continue;
            }
            for event in batch {
                match event {
                    Event::Person(p) => {
                        people.insert((p.id, p.name.clone()));
                    }
                    Event::Auction(a) => {
                        sellers.insert(a.seller);
                    }
                    Event::Bid(_) => {}
                }
            }
        }
        for (id, name) in people {
            if sellers.contains(&id) {
                let stime = end - 10_000;
                rows.push(Q8Row { id, name, stime });
            }
        }
    }
    rows
}

/// q11 over batches: per bidder, the times of the batches holding its bids, cut where two are
/// more than 10 s apart: (bidder, bids, first batch time, last batch time + 10 s), for the
/// sessions some batch of the run came more than 10 s after (those known to be closed).
fn q11_batches(batches: &[Vec<Event>]) -> Vec<Q11Row> {
    let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (i, batch) in batches.iter().enumerate() {
        for b in reference::bids(batch) {
            times.entry(b.bidder).or_default().push(batch_time(i));
        }
    }
    let last_batch = batch_time(batches.len() - 1);
    let mut rows = Vec::new();
    for (bidder, times) in times {
        let mut start = 0;
        for i in 0..times.len() {
            if i + 1 < times.len() && times[i + 1] - times[i] <= 10_000 {
                continue;
            }
            if last_batch > times[i] + 10_000 {
                rows.push(Q11Row {
                    bidder,
                    bid_count: (i + 1 - start) as i64,
                    starttime: times[start],
                    endtime: times[i] + 10_000,
                });
            }
            start = i + 1;
        }
    }
    rows
}

#[test]
fn q5() {
    let batches = batches();
    check("q5", &batches, reference::csv(q5_batches(&batches)));
}

#[test]
fn q7() {
    let batches = batches();
    check("q7", &batches, reference::csv(q7_batches(&batches)));
}

#[test]
fn q8() {
    let batches = batches();
    check("q8", &batches, reference::csv(q8_batches(&batches)));
}

#[test]
fn q11() {
    let batches = batches();
    check("q11", &batches, reference::csv(q11_batches(&batches)));
}

/// A D-Stream window must be a multiple of the batch interval: q5's 10 s window sliding by 2 s
/// cannot run in 3 s batches, and the run fails at its start with Spark's message.
#[test]
fn windows_not_a_multiple_of_the_batch_interval_fail_the_run() {
    let batches = vec![Vec::new(); 2];
    for query in ["q5", "q7", "q8"] {
        let error = engine(query, &batches, 3000, 1).unwrap_err();
        assert!(
            error.contains("must be a multiple of the slide duration of parent DStream (3000 ms)"),
            "{query}: {error}"
        );
    }
}

/// The runner runs the stateful micro-batch queries over the generator (it gives them the
/// checkpoint directory they need), in real 1 s batches, and refuses 3 s batches for q5.
#[test]
fn the_runner_runs_them_over_the_generator() {
    use sluice_nexmark::job::{Input, NexmarkRun};
    let _turn = sluice_minibatch::testing::exclusive();
    let events = || Input::generated(EventSet::new(NexmarkOptions::default(), 1, Some(2000)));
    let second = Duration::from_secs(1);
    let outcome = NexmarkRun::new("q11", events())
        .micro_batches(second)
        .run(Execution::default().workers(2))
        .unwrap();
    let csv = outcome.csv().unwrap();
    assert!(
        csv.starts_with("bidder,bid_count,starttime,endtime\n"),
        "{csv}"
    );
    let refused = NexmarkRun::new("q5", events())
        .micro_batches(3 * second)
        .run(Execution::default());
    assert!(refused.is_err());
}
