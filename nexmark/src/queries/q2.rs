//! q2, selection: the bids on every 123rd auction — a filter.
//!
//! ```sql
//! SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
//! ```
//!
//! Micro-batch mode: the same rows, batch by batch.

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{bids, Params, Query};
use crate::model::Event;
use crate::table::Change;

crate::row! {
    /// A selected bid.
    pub struct Q2Row {
        auction: i64 = "auction",
        price: i64 = "price",
    }
}

/// q2.
#[derive(Clone, Debug, Default)]
pub struct Q2;

fn row(event: Event) -> Option<Change<Q2Row>> {
    let bid = bids(event).filter(|bid| bid.auction % 123 == 0)?;
    Some((
        Q2Row {
            auction: bid.auction,
            price: bid.price,
        },
        1,
    ))
}

impl Query for Q2 {
    const NAME: &'static str = "q2";
    const MINIBATCH: bool = true;
    type Row = Q2Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q2Row>> {
        events.flat_map(row)
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q2Row>>> {
        Some(events.flat_map(row).into_stream())
    }
}
