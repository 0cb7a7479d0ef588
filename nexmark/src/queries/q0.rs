//! q0, pass through: every bid's columns, unchanged — the cost of reading and writing events,
//! the floor every other query stands on.
//!
//! ```sql
//! SELECT auction, bidder, price, dateTime, extra FROM bid;
//! ```
//!
//! Micro-batch mode: the same rows, batch by batch.

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{bids, Params, Query};
use crate::model::{Event, Extra};
use crate::table::Change;

crate::row! {
    /// A bid, passed through.
    pub struct Q0Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
    }
}

/// q0.
#[derive(Clone, Debug, Default)]
pub struct Q0;

fn row(event: Event) -> Option<Change<Q0Row>> {
    let bid = bids(event)?;
    Some((
        Q0Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            date_time: bid.date_time,
            extra: bid.extra,
        },
        1,
    ))
}

impl Query for Q0 {
    const NAME: &'static str = "q0";
    const MINIBATCH: bool = true;
    type Row = Q0Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q0Row>> {
        events.flat_map(row)
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q0Row>>> {
        Some(events.flat_map(row).into_stream())
    }
}
