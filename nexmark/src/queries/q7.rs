//! q7, highest bid: the bids at the highest price of each 10 s window — a tumbling window's
//! maximum joined back with the bids, by price and by time.
//!
//! ```sql
//! SELECT B.auction, B.price, B.bidder, B.`dateTime`, B.extra
//! from bid B
//! JOIN (
//!   SELECT MAX(price) AS maxprice, window_end as `dateTime`
//!   FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
//!   GROUP BY window_start, window_end
//! ) B1
//! ON B.price = B1.maxprice
//! WHERE B.`dateTime` BETWEEN B1.`dateTime`  - INTERVAL '10' SECOND AND B1.`dateTime`;
//! ```
//!
//! **The boundary.** `BETWEEN` includes both ends, while the window `[end − 10 s, end)`
//! excludes its end: a bid at exactly `end` belongs to the next window, yet is also compared
//! with this window's maximum. So a bid at exactly a window's end is a row once if its price is
//! the maximum of the window it belongs to, once more if it is also the maximum of the window
//! that ends at its time, and twice if both (the final table is a multiset). A bid at exactly
//! a window's start is compared with that window's maximum (and with the previous window's,
//! which ends there).
//!
//! Native: the maximum per window over all bids (one key, as Flink's global window
//! aggregate), emitted at the window's end with event time `end`, is interval-joined by price
//! with the bids whose event time lies in `[end − 10 s, end]`. The join frees a bid once the
//! maxima's watermark passes `dateTime + 10 s`, and a maximum once the bids' watermark passes
//! its `end`; insert only.
//!
//! Micro-batch mode (Spark Streaming): windows of 10 s of **arrival time**, tumbling
//! (`window(10 s, 10 s)`): each window's bids are joined by price with their own maximum. A
//! window is the batches of `(t − 10 s, t]`, which are disjoint, so a bid is compared with the
//! maximum of exactly one window — the one it arrived in — and the event-time boundary rule
//! above has no counterpart. 10 s must be a multiple of the batch interval.

use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{bids, Params, Query};
use crate::model::{Bid, Event, Extra};
use crate::table::Change;

crate::row! {
    /// A bid at its window's highest price (columns in the SQL's order).
    pub struct Q7Row {
        auction: i64 = "auction",
        price: i64 = "price",
        bidder: i64 = "bidder",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
    }
}

/// q7.
#[derive(Clone, Debug, Default)]
pub struct Q7;

/// The window length, ms.
const LENGTH_MS: i64 = 10_000;

fn row(bid: &Bid) -> Change<Q7Row> {
    let row = Q7Row {
        auction: bid.auction,
        price: bid.price,
        bidder: bid.bidder,
        date_time: bid.date_time,
        extra: bid.extra,
    };
    (row, 1)
}

impl Query for Q7 {
    const NAME: &'static str = "q7";
    const WINDOWED: bool = true;
    const MINIBATCH: bool = true;
    const ARRIVAL_TIME: bool = true;
    type Row = Q7Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q7Row>> {
        let bids = events.flat_map(bids);
        let window = WindowSpec::tumbling(Duration::from_millis(LENGTH_MS as u64));
        let prices = bids.clone().map(|b| ((), b.date_time as Time, b.price));
        let (maxima, _late) =
            prices.aggregate_by_event_window(window, 0, |max: &mut Option<i64>, &p| {
                *max = Some(max.map_or(p, |m| m.max(p)))
            });
        // (max price, window end as event time, window end)
        let maxima = maxima.flat_map(|w| Some((w.value?, w.end, w.end)));
        let bids = bids.map(|b| (b.price, b.date_time as Time, b));
        // A bid pairs with a maximum of its price whose end lies in [dateTime, dateTime + 10 s].
        maxima.interval_join(bids, -LENGTH_MS, 0, false, |_, _, bid| {
            row(bid.expect("an inner join"))
        })
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q7Row>>> {
        let length = Duration::from_millis(LENGTH_MS as u64);
        let window = events.flat_map(bids).window(length, length);
        let max = window
            .map(|b| ((), b.price))
            .reduce_by_key(|a, b| *a.max(b));
        let rows = window
            .map(|b| (b.price, b))
            .join(&max.map(|((), max)| (max, ())))
            .map(|(_, (bid, ()))| row(&bid));
        Some(rows.into_stream())
    }
}
