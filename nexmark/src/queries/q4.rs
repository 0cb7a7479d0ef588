//! q4, average price for a category: the average of the winning (highest) bids of each
//! category's auctions — a regular join feeding two stacked updating aggregates.
//!
//! ```sql
//! SELECT Q.category, AVG(Q.final)
//! FROM (
//!     SELECT MAX(B.price) AS final, A.category
//!     FROM auction A, bid B
//!     WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//!     GROUP BY A.id, A.category
//! ) Q
//! GROUP BY Q.category;
//! ```
//!
//! The columns are named as the sink table's: `id` (the category) and `final`. `BETWEEN` is
//! inclusive at both ends; `AVG` of a `BIGINT` is a `BIGINT`, truncated.
//!
//! Native mode, two keyed stages, as Flink's plan has them:
//! 1. keyed by auction: the auction (and the bids that arrived before it, waiting) and its
//!    highest valid bid so far; each time that maximum rises it sends `(category, (auction,
//!    max))` on;
//! 2. keyed by category: every auction's maximum, their sum and count; when the average
//!    changes it retracts the old `(category, average)` row and inserts the new one.
//!
//! An auction's maximum only rises, so stage 2 keeps the larger of what it has and what
//! arrives: its result does not depend on the order in which stage 1's updates reach it.
//! The state is kept forever, as Flink's (no TTL).

use std::collections::BTreeMap;

use sluice_engine::prelude::*;

use super::{Params, Query};
use crate::model::{Auction, Event};
use crate::table::Change;

crate::row! {
    /// A category and the average of its auctions' winning bids.
    pub struct Q4Row {
        id: i64 = "id",
        final_price: i64 = "final",
    }
}

/// q4.
#[derive(Clone, Debug, Default)]
pub struct Q4;

/// One side of the join, keyed by auction id.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// The auction: its category, when it opens and when it closes.
    Auction {
        /// Category id.
        category: i64,
        /// Opens, ms.
        date_time: i64,
        /// Closes, ms.
        expires: i64,
    },
    /// A bid: its time and price.
    Bid {
        /// Event time, ms.
        date_time: i64,
        /// Price.
        price: i64,
    },
}

/// Stage 1's state for an auction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AuctionState {
    /// `(category, opens, closes)`, once the auction is seen.
    auction: Option<(i64, i64, i64)>,
    /// Bids that came before the auction: `(time, price)`.
    waiting: Vec<(i64, i64)>,
    /// The highest valid bid so far.
    max: Option<i64>,
}

/// Stage 2's state for a category: each auction's maximum, their sum and count.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CategoryState {
    max: BTreeMap<i64, i64>,
    sum: i64,
}

impl CategoryState {
    /// The average, if any auction has a maximum.
    fn average(&self) -> Option<i64> {
        (!self.max.is_empty()).then(|| self.sum / self.max.len() as i64)
    }
}

fn side(event: Event) -> Option<(i64, Side)> {
    match event {
        Event::Auction(Auction {
            id,
            category,
            date_time,
            expires,
            ..
        }) => Some((
            id,
            Side::Auction {
                category,
                date_time,
                expires,
            },
        )),
        Event::Bid(bid) => Some((
            bid.auction,
            Side::Bid {
                date_time: bid.date_time,
                price: bid.price,
            },
        )),
        _ => None,
    }
}

impl Query for Q4 {
    const NAME: &'static str = "q4";
    type Row = Q4Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q4Row>> {
        let maxima = events.flat_map(side).flat_map_with_state(
            |&auction, side, state: &mut Option<AuctionState>, emit| {
                let state = state.get_or_insert_with(AuctionState::default);
                let bids = match side {
                    Side::Auction {
                        category,
                        date_time,
                        expires,
                    } => {
                        state.auction = Some((category, date_time, expires));
                        std::mem::take(&mut state.waiting)
                    }
                    Side::Bid { date_time, price } => vec![(date_time, price)],
                };
                let Some((category, opens, closes)) = state.auction else {
                    state.waiting.extend(bids);
                    return;
                };
                let best = bids
                    .into_iter()
                    .filter(|&(time, _)| opens <= time && time <= closes)
                    .map(|(_, price)| price)
                    .max();
                if let Some(price) = best.filter(|&p| state.max.is_none_or(|max| p > max)) {
                    state.max = Some(price);
                    emit((category, (auction, price)));
                }
            },
        );
        maxima.flat_map_with_state(
            |&category, (auction, price), state: &mut Option<CategoryState>, emit| {
                let state = state.get_or_insert_with(CategoryState::default);
                let before = state.average();
                let old = state.max.get(&auction).copied();
                if old.is_some_and(|max| price <= max) {
                    return;
                }
                state.max.insert(auction, price);
                state.sum += price - old.unwrap_or(0);
                let after = state.average();
                if before != after {
                    let row = |avg| Q4Row {
                        id: category,
                        final_price: avg,
                    };
                    if let Some(avg) = before {
                        emit((row(avg), -1));
                    }
                    if let Some(avg) = after {
                        emit((row(avg), 1));
                    }
                }
            },
        )
    }
}
