//! The reference answer of every query: a plain single-threaded loop over the events, written
//! from the query's SQL without any of the engine's operators, so that the engine's answer is
//! checked against something obviously correct.
//!
//! Each `qN` returns the query's final table (rows, any order).

#![allow(dead_code)]

use sluice_nexmark::model::{Bid, Event};
use sluice_nexmark::queries::Params;
use sluice_nexmark::table::{Row, Table};

mod q0;
mod q1;
mod q11;
mod q2;
mod q5;
mod q7;
mod q8;

/// The bids, in the order given.
pub fn bids(events: &[Event]) -> impl Iterator<Item = &Bid> {
    events.iter().filter_map(|e| match e {
        Event::Bid(b) => Some(b),
        _ => None,
    })
}

/// The final table of `rows`, as CSV with the query's header.
pub fn csv<R: Row>(rows: Vec<R>) -> String {
    let mut table = Table::new();
    for row in &rows {
        table.add(row, 1);
    }
    table.finish(R::COLUMNS).unwrap()
}

/// The reference CSV of query `name`.
pub fn answer(name: &str, events: &[Event], params: &Params) -> String {
    let _ = params;
    match name {
        "q0" => csv(q0::answer(events)),
        "q1" => csv(q1::answer(events)),
        "q2" => csv(q2::answer(events)),
        "q5" => csv(q5::answer(events)),
        "q7" => csv(q7::answer(events)),
        "q8" => csv(q8::answer(events)),
        "q11" => csv(q11::answer(events)),
        _ => panic!("no reference for {name}"),
    }
}
