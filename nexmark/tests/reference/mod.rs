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
mod q2;

mod dates;
mod q10;
mod q13;
mod q14;
mod q15;
mod q16;
mod q17;
mod q18;
mod q19;
mod q21;
mod q22;
mod stats;

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
        "q10" => csv(q10::answer(events)),
        "q13" => csv(q13::answer(events, params)),
        "q14" => csv(q14::answer(events)),
        "q15" => csv(q15::answer(events)),
        "q16" => csv(q16::answer(events)),
        "q17" => csv(q17::answer(events)),
        "q18" => csv(q18::answer(events)),
        "q19" => csv(q19::answer(events)),
        "q21" => csv(q21::answer(events)),
        "q22" => csv(q22::answer(events)),
        _ => panic!("no reference for {name}"),
    }
}
