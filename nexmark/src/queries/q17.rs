//! q17, auction statistics report: per auction and day, the number of bids in all and per
//! price rank, and the minimum, maximum, average and total price — a non-windowed aggregate.
//!
//! ```sql
//! SELECT
//!      auction,
//!      DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//!      count(*) AS total_bids,
//!      count(*) filter (where price < 10000) AS rank1_bids,
//!      count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!      count(*) filter (where price >= 1000000) AS rank3_bids,
//!      min(price) AS min_price,
//!      max(price) AS max_price,
//!      avg(price) AS avg_price,
//!      sum(price) AS sum_price
//! FROM bid
//! GROUP BY auction, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//! ```
//!
//! An updating result, as Flink's: every bid retracts its group's row and inserts the new one.
//! `AVG` of a `BIGINT` is a `BIGINT`: the sum divided by the count, truncated. The state per
//! (auction, day) is the row itself, kept for good as Flink's without a state TTL.

use sluice_engine::prelude::*;

use super::dates::Day;
use super::q15::rank;
use super::{bids, Params, Query};
use crate::model::{Bid, Event};
use crate::table::Change;

crate::row! {
    /// An auction's statistics of a day.
    pub struct Q17Row {
        auction: i64 = "auction",
        day: Day = "day",
        total_bids: i64 = "total_bids",
        rank1_bids: i64 = "rank1_bids",
        rank2_bids: i64 = "rank2_bids",
        rank3_bids: i64 = "rank3_bids",
        min_price: i64 = "min_price",
        max_price: i64 = "max_price",
        avg_price: i64 = "avg_price",
        sum_price: i64 = "sum_price",
    }
}

/// q17.
#[derive(Clone, Debug, Default)]
pub struct Q17;

impl Q17Row {
    /// The row of a group's first bid.
    fn first(auction: i64, day: Day, bid: &Bid) -> Self {
        let mut row = Q17Row {
            auction,
            day,
            total_bids: 0,
            rank1_bids: 0,
            rank2_bids: 0,
            rank3_bids: 0,
            min_price: bid.price,
            max_price: bid.price,
            avg_price: 0,
            sum_price: 0,
        };
        row.add(bid);
        row
    }

    /// Adds one bid of the group.
    fn add(&mut self, bid: &Bid) {
        self.total_bids += 1;
        *match rank(bid.price) {
            1 => &mut self.rank1_bids,
            2 => &mut self.rank2_bids,
            _ => &mut self.rank3_bids,
        } += 1;
        self.min_price = self.min_price.min(bid.price);
        self.max_price = self.max_price.max(bid.price);
        self.sum_price += bid.price;
        self.avg_price = self.sum_price / self.total_bids;
    }
}

impl Query for Q17 {
    const NAME: &'static str = "q17";
    type Row = Q17Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q17Row>> {
        events
            .flat_map(|event| {
                let bid = bids(event)?;
                Some(((bid.auction, Day::of(bid.date_time)), bid))
            })
            .flat_map_with_state(
                |(auction, day), bid, state: &mut Option<Q17Row>, emit| match state {
                    Some(row) => {
                        emit((row.clone(), -1));
                        row.add(&bid);
                        emit((row.clone(), 1));
                    }
                    None => {
                        let row = Q17Row::first(*auction, *day, &bid);
                        emit((row.clone(), 1));
                        *state = Some(row);
                    }
                },
            )
    }
}
