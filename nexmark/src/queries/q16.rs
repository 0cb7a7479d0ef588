//! q16, channel statistics report: q15's statistics per channel and day, with the day's latest
//! minute (`HH:mm`) seen — a non-windowed aggregate on a compound key, with `MAX` over strings.
//!
//! ```sql
//! SELECT
//!     channel,
//!     DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//!     max(DATE_FORMAT(`dateTime`, 'HH:mm')) as `minute`,
//!     count(*) AS total_bids,
//!     count(*) filter (where price < 10000) AS rank1_bids,
//!     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!     count(*) filter (where price >= 1000000) AS rank3_bids,
//!     count(distinct bidder) AS total_bidders,
//!     count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//!     count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//!     count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//!     count(distinct auction) AS total_auctions,
//!     count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//!     count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//!     count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//! FROM bid
//! GROUP BY channel, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//! ```
//!
//! An updating result, as Flink's: every bid retracts its group's row and inserts the new one.
//! The state per (channel, day) is q15's ([`RankedCounts`]) and the greatest minute, kept for
//! good as Flink's without a state TTL.

use sluice_engine::prelude::*;

use super::dates::{Day, Minute};
use super::q15::RankedCounts;
use super::{bids, Params, Query};
use crate::model::{Channel, Event};
use crate::table::Change;

crate::row! {
    /// A channel's statistics of a day.
    pub struct Q16Row {
        channel: Channel = "channel",
        day: Day = "day",
        minute: Minute = "minute",
        total_bids: i64 = "total_bids",
        rank1_bids: i64 = "rank1_bids",
        rank2_bids: i64 = "rank2_bids",
        rank3_bids: i64 = "rank3_bids",
        total_bidders: i64 = "total_bidders",
        rank1_bidders: i64 = "rank1_bidders",
        rank2_bidders: i64 = "rank2_bidders",
        rank3_bidders: i64 = "rank3_bidders",
        total_auctions: i64 = "total_auctions",
        rank1_auctions: i64 = "rank1_auctions",
        rank2_auctions: i64 = "rank2_auctions",
        rank3_auctions: i64 = "rank3_auctions",
    }
}

/// q16.
#[derive(Clone, Debug, Default)]
pub struct Q16;

fn row(&(channel, day): &(Channel, Day), minute: Minute, counts: &RankedCounts) -> Q16Row {
    let [b0, b1, b2, b3, p0, p1, p2, p3, a0, a1, a2, a3] = counts.columns();
    Q16Row {
        channel,
        day,
        minute,
        total_bids: b0,
        rank1_bids: b1,
        rank2_bids: b2,
        rank3_bids: b3,
        total_bidders: p0,
        rank1_bidders: p1,
        rank2_bidders: p2,
        rank3_bidders: p3,
        total_auctions: a0,
        rank1_auctions: a1,
        rank2_auctions: a2,
        rank3_auctions: a3,
    }
}

impl Query for Q16 {
    const NAME: &'static str = "q16";
    type Row = Q16Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q16Row>> {
        events
            .flat_map(|event| {
                let bid = bids(event)?;
                Some(((bid.channel, Day::of(bid.date_time)), bid))
            })
            .flat_map_with_state(
                |key, bid, state: &mut Option<(Minute, RankedCounts)>, emit| {
                    let minute = Minute::of(bid.date_time);
                    match state {
                        Some((max, counts)) => {
                            emit((row(key, *max, counts), -1));
                            if minute > *max {
                                *max = minute;
                            }
                            counts.add(&bid);
                            emit((row(key, *max, counts), 1));
                        }
                        None => {
                            let mut counts = RankedCounts::default();
                            counts.add(&bid);
                            emit((row(key, minute, &counts), 1));
                            *state = Some((minute, counts));
                        }
                    }
                },
            )
    }
}
