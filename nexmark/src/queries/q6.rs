//! q6, average selling price by seller: for each auction's winning bid, the average of that
//! price and the seller's 10 winning prices before it — a join, a top-1 per auction and an
//! `OVER` window per seller, all updating.
//!
//! ```sql
//! SELECT
//!     Q.seller,
//!     AVG(Q.price) OVER
//!         (PARTITION BY Q.seller ORDER BY Q.dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
//! FROM (
//!     SELECT *, ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC) AS rownum
//!     FROM (SELECT A.id, A.seller, B.price, B.dateTime
//!         FROM auction AS A,
//!             bid AS B
//!         WHERE A.id = B.auction
//!             and B.dateTime between A.dateTime and A.expires)
//!     WHERE rownum <= 1
//! ) AS Q;
//! ```
//!
//! Flink's streaming SQL cannot run it (FLINK-19059: an `OVER` window over an updating
//! input), so this follows the query's definition:
//! - each auction's winning bid is its highest price among the bids made while it was open
//!   (`between` is inclusive); `ROW_NUMBER` leaves ties open, so they go to the earliest bid
//!   (further ties give the same `(price, dateTime)`, all the row uses);
//! - each seller's winning bids are ordered by `dateTime`, ties by auction id; each has the
//!   row `(seller, AVG of its price and the up to 10 prices before it)`, a `BIGINT` average,
//!   truncated (see [`averages`]).
//!
//! The result is a changelog: when a seller's list changes (a new winner, or a better one),
//! the rows that changed are retracted and the new ones inserted.
//!
//! Native mode, two keyed stages:
//! 1. keyed by auction: the auction (and the bids that arrived before it, waiting) and its
//!    winner; each time the winner improves it sends `(seller, (auction, price, time))` on;
//! 2. keyed by seller: each auction's winner — the better of what it has and what arrives,
//!    so the order in which stage 1's updates reach it does not matter — and the rows; after
//!    each update it retracts the rows that are gone and inserts the new ones.
//!
//! The state is kept forever, as a regular join's and an unbounded `OVER`'s.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use sluice_engine::prelude::*;

use super::{Params, Query};
use crate::model::Event;
use crate::table::Change;

crate::row! {
    /// A seller and a running average of its winning prices.
    pub struct Q6Row {
        seller: i64 = "seller",
        avg_price: i64 = "avg_price",
    }
}

/// q6.
#[derive(Clone, Debug, Default)]
pub struct Q6;

/// How many preceding rows each average takes in.
pub const PRECEDING: usize = 10;

/// The `OVER` window's averages of `prices` (in the window's order): each the truncated
/// average of its price and the up to [`PRECEDING`] before it.
///
/// ```
/// use sluice_nexmark::queries::q6::averages;
/// assert_eq!(averages(&[10, 21, 3]), vec![10, 15, 11]);
/// // The 12th takes in the 11 prices from the 2nd on: (11 × 1 + 100) / 11.
/// let prices = [1000, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 100];
/// assert_eq!(averages(&prices)[11], 10);
/// ```
pub fn averages(prices: &[i64]) -> Vec<i64> {
    (0..prices.len())
        .map(|i| {
            let window = &prices[i.saturating_sub(PRECEDING)..=i];
            window.iter().sum::<i64>() / window.len() as i64
        })
        .collect()
}

/// A winning bid: `(price, time)`; the better one has the higher price, then the earlier time.
type Winner = (i64, i64);

fn better(a: Winner, b: Winner) -> bool {
    (a.0, Reverse(a.1)) > (b.0, Reverse(b.1))
}

/// One side of the join, keyed by auction id.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// The auction: `(seller, opens, closes)`.
    Auction(i64, i64, i64),
    /// A bid: `(price, time)`.
    Bid(Winner),
}

/// Stage 1's state for an auction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AuctionState {
    /// `(seller, opens, closes)`, once the auction is seen.
    auction: Option<(i64, i64, i64)>,
    /// Bids that came before the auction.
    waiting: Vec<Winner>,
    winner: Option<Winner>,
}

/// Stage 2's state for a seller: each auction's winner.
type SellerState = BTreeMap<i64, Winner>;

/// A seller's rows' averages, in window order.
fn seller_averages(winners: &SellerState) -> Vec<i64> {
    let mut ordered: Vec<(i64, i64, i64)> = winners
        .iter()
        .map(|(&auction, &(price, time))| (time, auction, price))
        .collect();
    ordered.sort_unstable();
    averages(
        &ordered
            .iter()
            .map(|&(_, _, price)| price)
            .collect::<Vec<_>>(),
    )
}

/// The changes from multiset `old` to multiset `new`: `-1` for what only `old` has, `+1` for
/// what only `new` has.
fn changes(mut old: Vec<i64>, mut new: Vec<i64>, mut emit: impl FnMut(i64, i64)) {
    old.sort_unstable();
    new.sort_unstable();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if j == new.len() || (i < old.len() && old[i] < new[j]) {
            emit(old[i], -1);
            i += 1;
        } else if i == old.len() || new[j] < old[i] {
            emit(new[j], 1);
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
}

fn side(event: Event) -> Option<(i64, Side)> {
    match event {
        Event::Auction(a) => Some((a.id, Side::Auction(a.seller, a.date_time, a.expires))),
        Event::Bid(b) => Some((b.auction, Side::Bid((b.price, b.date_time)))),
        Event::Person(_) => None,
    }
}

impl Query for Q6 {
    const NAME: &'static str = "q6";
    type Row = Q6Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q6Row>> {
        let winners = events.flat_map(side).flat_map_with_state(
            |&auction, side, state: &mut Option<AuctionState>, emit| {
                let state = state.get_or_insert_with(AuctionState::default);
                let bids = match side {
                    Side::Auction(seller, opens, closes) => {
                        state.auction = Some((seller, opens, closes));
                        std::mem::take(&mut state.waiting)
                    }
                    Side::Bid(bid) => vec![bid],
                };
                let Some((seller, opens, closes)) = state.auction else {
                    state.waiting.extend(bids);
                    return;
                };
                let best = bids
                    .into_iter()
                    .filter(|&(_, time)| opens <= time && time <= closes)
                    .reduce(|x, y| if better(y, x) { y } else { x });
                if let Some(best) = best.filter(|&b| state.winner.is_none_or(|w| better(b, w))) {
                    state.winner = Some(best);
                    emit((seller, (auction, best)));
                }
            },
        );
        winners.flat_map_with_state(
            |&seller, (auction, winner), state: &mut Option<SellerState>, emit| {
                let winners = state.get_or_insert_with(SellerState::new);
                if winners.get(&auction).is_some_and(|&w| !better(winner, w)) {
                    return;
                }
                let old = seller_averages(winners);
                winners.insert(auction, winner);
                changes(old, seller_averages(winners), |avg_price, diff| {
                    emit((Q6Row { seller, avg_price }, diff))
                });
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_the_multiset_difference() {
        let mut out = Vec::new();
        changes(vec![5, 3, 3, 7], vec![3, 7, 8, 8], |v, d| out.push((v, d)));
        assert_eq!(out, vec![(3, -1), (5, -1), (8, 1), (8, 1)]);
    }

    #[test]
    fn rows_are_ordered_by_time_then_auction() {
        // Auctions 2 and 1 won at the same time: auction 1's row comes first.
        let winners = SellerState::from([(2, (30, 100)), (1, (10, 100)), (3, (20, 50))]);
        // Order: auction 3 (20), auction 1 (10), auction 2 (30).
        assert_eq!(seller_averages(&winners), vec![20, 15, 20]);
    }
}
