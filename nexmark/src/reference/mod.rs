//! The reference answer of every query: a plain single-threaded loop over the events, written
//! from the query's SQL without any of the engine's operators, so that the engine's answer is
//! checked against something obviously correct — by the tests, and by `sluice bench`'s
//! records-out check.
//!
//! Each `qN::answer` returns the query's final table (rows, any order).

use crate::model::{Auction, Bid, Event, Person};
use crate::queries::Params;
use crate::table::{Row, Table};

mod q0;
mod q1;
mod q2;
mod q20;
mod q23;
mod q3;
mod q4;
mod q6;
mod q9;

mod q11;
mod q5;
mod q7;
mod q8;

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

/// The people, in the order given.
pub fn persons(events: &[Event]) -> impl Iterator<Item = &Person> {
    events.iter().filter_map(|e| match e {
        Event::Person(p) => Some(p),
        _ => None,
    })
}

/// The auctions, in the order given.
pub fn auctions(events: &[Event]) -> impl Iterator<Item = &Auction> {
    events.iter().filter_map(|e| match e {
        Event::Auction(a) => Some(a),
        _ => None,
    })
}

/// The bids on auction `id`, in the order given.
pub fn bids_on(events: &[Event], id: i64) -> impl Iterator<Item = &Bid> {
    bids(events).filter(move |b| b.auction == id)
}

/// The final table of `rows`, as CSV with the query's header.
pub fn csv<R: Row>(rows: Vec<R>) -> String {
    let mut table = Table::new();
    for row in &rows {
        table.add(row, 1);
    }
    table.finish(R::COLUMNS).unwrap()
}

/// The reference CSV of query `name` (as [`Table::finish`] writes it), if there is a
/// reference for it.
pub fn answer(name: &str, events: &[Event], params: &Params) -> Option<String> {
    Some(match name {
        "q0" => csv(q0::answer(events)),
        "q1" => csv(q1::answer(events)),
        "q2" => csv(q2::answer(events)),
        "q3" => csv(q3::answer(events)),
        "q4" => csv(q4::answer(events)),
        "q6" => csv(q6::answer(events)),
        "q9" => csv(q9::answer(events)),
        "q20" => csv(q20::answer(events)),
        "q23" => csv(q23::answer(events)),
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
        "q5" => csv(q5::answer(events)),
        "q7" => csv(q7::answer(events)),
        "q8" => csv(q8::answer(events)),
        "q11" => csv(q11::answer(events)),
        _ => return None,
    })
}
