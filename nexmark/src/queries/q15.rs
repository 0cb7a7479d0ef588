//! q15, bidding statistics report: per day, how many bids, bidders and auctions there were,
//! in all and in each of three price ranks — a non-windowed aggregate with filtered
//! `COUNT(DISTINCT)`s.
//!
//! ```sql
//! SELECT
//!      DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//!      count(*) AS total_bids,
//!      count(*) filter (where price < 10000) AS rank1_bids,
//!      count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!      count(*) filter (where price >= 1000000) AS rank3_bids,
//!      count(distinct bidder) AS total_bidders,
//!      count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//!      count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//!      count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//!      count(distinct auction) AS total_auctions,
//!      count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//!      count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//!      count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//! FROM bid
//! GROUP BY DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//! ```
//!
//! An updating result, as Flink's: every bid retracts its day's row and inserts the new one.
//! The state is, per day, the counts and the sets of distinct bidders and auctions, in all and
//! per rank; like Flink's without a state TTL it is kept for good (a day never closes).
//!
//! ```
//! use sluice_nexmark::queries::q15::rank;
//! assert_eq!([rank(9_999), rank(10_000), rank(999_999), rank(1_000_000)], [1, 2, 2, 3]);
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sluice_engine::hash::FixedState;
use sluice_engine::prelude::*;

use super::dates::Day;
use super::{bids, Params, Query};
use crate::model::{Bid, Event};
use crate::table::Change;

crate::row! {
    /// A day's statistics.
    pub struct Q15Row {
        day: Day = "day",
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

/// q15.
#[derive(Clone, Debug, Default)]
pub struct Q15;

/// A price's rank: 1 below 10,000, 2 below 1,000,000, else 3.
pub fn rank(price: i64) -> usize {
    if price < 10_000 {
        1
    } else if price < 1_000_000 {
        2
    } else {
        3
    }
}

/// Bids, distinct bidders and distinct auctions, in all (index 0) and per rank (1–3): the
/// state of q15 and q16.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RankedCounts {
    bids: [i64; 4],
    bidders: Distinct,
    auctions: Distinct,
}

impl RankedCounts {
    /// Counts `bid`.
    pub fn add(&mut self, bid: &Bid) {
        let rank = rank(bid.price);
        self.bids[0] += 1;
        self.bids[rank] += 1;
        self.bidders.add(bid.bidder, rank);
        self.auctions.add(bid.auction, rank);
    }

    /// total, rank 1, 2, 3 bids; the same of bidders; the same of auctions.
    pub fn columns(&self) -> [i64; 12] {
        let mut out = [0; 12];
        out[..4].copy_from_slice(&self.bids);
        out[4..8].copy_from_slice(&self.bidders.counts);
        out[8..].copy_from_slice(&self.auctions.counts);
        out
    }
}

/// `COUNT(DISTINCT x)` in all and `COUNT(DISTINCT x) FILTER (rank)` for each rank at once:
/// each value once, with the ranks it has been seen in — one hash lookup per bid rather than
/// one per count.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Distinct {
    /// Bit `i` of a value's mask: seen in count `i` (0 all, 1–3 the ranks).
    seen: HashMap<i64, u8, FixedState>,
    counts: [i64; 4],
}

impl Distinct {
    fn add(&mut self, value: i64, rank: usize) {
        let seen = self.seen.entry(value).or_insert(0);
        for i in [0, rank] {
            if *seen & (1 << i) == 0 {
                *seen |= 1 << i;
                self.counts[i] += 1;
            }
        }
    }
}

fn row(day: Day, counts: &RankedCounts) -> Q15Row {
    let [b0, b1, b2, b3, p0, p1, p2, p3, a0, a1, a2, a3] = counts.columns();
    Q15Row {
        day,
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

impl Query for Q15 {
    const NAME: &'static str = "q15";
    type Row = Q15Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q15Row>> {
        events
            .flat_map(|event| bids(event).map(|bid| (Day::of(bid.date_time), bid)))
            .flat_map_with_state(|day, bid, state: &mut Option<RankedCounts>, emit| {
                let counts = state.get_or_insert_with(Default::default);
                if counts.bids[0] > 0 {
                    emit((row(*day, counts), -1));
                }
                counts.add(&bid);
                emit((row(*day, counts), 1));
            })
    }
}
