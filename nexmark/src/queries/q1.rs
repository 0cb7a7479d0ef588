//! q1, currency conversion: every bid with its price in euros (`0.908 * price`, a
//! `DECIMAL(23, 3)`, exact in thousandths) — a map.
//!
//! ```sql
//! SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid;
//! ```
//!
//! Micro-batch mode: the same rows, batch by batch.

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{bids, Params, Query};
use crate::model::{Event, Extra};
use crate::table::{Change, Thousandths};

crate::row! {
    /// A bid in euros.
    pub struct Q1Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: Thousandths = "price",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
    }
}

/// q1.
#[derive(Clone, Debug, Default)]
pub struct Q1;

fn row(event: Event) -> Option<Change<Q1Row>> {
    let bid = bids(event)?;
    Some((
        Q1Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price: Thousandths(908 * bid.price),
            date_time: bid.date_time,
            extra: bid.extra,
        },
        1,
    ))
}

impl Query for Q1 {
    const NAME: &'static str = "q1";
    const MINIBATCH: bool = true;
    type Row = Q1Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q1Row>> {
        events.flat_map(row)
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q1Row>>> {
        Some(events.flat_map(row).into_stream())
    }
}
