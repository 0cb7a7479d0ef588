//! q9, winning bids: every auction with its best bid among those made while it was open — a
//! regular join and a top-1 per auction, updating.
//!
//! ```sql
//! SELECT
//!     id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra,
//!     auction, bidder, price, bid_dateTime, bid_extra
//! FROM (
//!    SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
//!      ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum
//!    FROM auction A, bid B
//!    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//! )
//! WHERE rownum <= 1;
//! ```
//!
//! The winner is the highest price, then the earliest bid; `ROW_NUMBER` leaves further ties
//! open, so they go to the smallest bidder, then the smallest `extra` (bytewise) — see
//! [`better`]. `BETWEEN` is inclusive at both ends.
//!
//! Native mode: bids and auctions keyed by auction id into one per-key process function,
//! which keeps the auction (and the bids that arrived before it, waiting) and its winning bid;
//! when a better bid comes, it retracts the old winner's row and inserts the new one. The
//! state is kept forever, as Flink's (no TTL).
//!
//! ```
//! use sluice_nexmark::model::{Bid, Channel, Extra};
//! use sluice_nexmark::queries::q9::better;
//! let bid = |bidder, price, date_time| Bid {
//!     auction: 1000, bidder, price, channel: Channel::hot(0), date_time, extra: Extra::default(),
//! };
//! assert!(better(&bid(2001, 11, 500), &bid(2000, 10, 100))); // higher price
//! assert!(better(&bid(2001, 10, 100), &bid(2000, 10, 500))); // same price, earlier
//! assert!(better(&bid(2000, 10, 100), &bid(2001, 10, 100))); // then the smaller bidder
//! ```

use std::cmp::Reverse;

use sluice_engine::prelude::*;

use super::{Params, Query};
use crate::model::{Auction, Bid, Event, Extra};
use crate::table::Change;

crate::row! {
    /// An auction and its winning bid.
    pub struct Q9Row {
        id: i64 = "id",
        item_name: String = "itemName",
        description: String = "description",
        initial_bid: i64 = "initialBid",
        reserve: i64 = "reserve",
        date_time: i64 = "dateTime",
        expires: i64 = "expires",
        seller: i64 = "seller",
        category: i64 = "category",
        extra: Extra = "extra",
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        bid_date_time: i64 = "bid_dateTime",
        bid_extra: Extra = "bid_extra",
    }
}

/// q9.
#[derive(Clone, Debug, Default)]
pub struct Q9;

/// Whether bid `a` beats bid `b`: a higher price, then an earlier time, then a smaller bidder,
/// then a smaller `extra`.
pub fn better(a: &Bid, b: &Bid) -> bool {
    let rank = |x: &Bid| (Reverse(x.price), x.date_time, x.bidder, x.extra.as_str());
    rank(a) < rank(b)
}

/// An auction's state: the auction once seen, the bids waiting for it, and the winner.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct State {
    auction: Option<Auction>,
    waiting: Vec<Bid>,
    winner: Option<Bid>,
}

fn row(a: &Auction, b: &Bid) -> Q9Row {
    Q9Row {
        id: a.id,
        item_name: a.item_name.clone(),
        description: a.description.clone(),
        initial_bid: a.initial_bid,
        reserve: a.reserve,
        date_time: a.date_time,
        expires: a.expires,
        seller: a.seller,
        category: a.category,
        extra: a.extra,
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        bid_date_time: b.date_time,
        bid_extra: b.extra,
    }
}

/// The event keyed by auction id, if it is an auction or a bid.
fn keyed(event: Event) -> Option<(i64, Event)> {
    match &event {
        Event::Auction(a) => Some((a.id, event)),
        Event::Bid(b) => Some((b.auction, event)),
        Event::Person(_) => None,
    }
}

impl Query for Q9 {
    const NAME: &'static str = "q9";
    type Row = Q9Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q9Row>> {
        events
            .flat_map(keyed)
            .flat_map_with_state(|_, event, state: &mut Option<State>, emit| {
                let state = state.get_or_insert_with(State::default);
                let bids = match event {
                    Event::Auction(a) => {
                        state.auction = Some(a);
                        std::mem::take(&mut state.waiting)
                    }
                    Event::Bid(b) => vec![b],
                    Event::Person(_) => unreachable!("only auctions and bids are keyed"),
                };
                let Some(auction) = &state.auction else {
                    state.waiting.extend(bids);
                    return;
                };
                let open =
                    |b: &Bid| auction.date_time <= b.date_time && b.date_time <= auction.expires;
                let best = bids
                    .into_iter()
                    .filter(open)
                    .reduce(|x, y| if better(&y, &x) { y } else { x });
                let Some(best) = best else { return };
                if state.winner.as_ref().is_some_and(|w| !better(&best, w)) {
                    return;
                }
                if let Some(old) = &state.winner {
                    emit((row(auction, old), -1));
                }
                emit((row(auction, &best), 1));
                state.winner = Some(best);
            })
    }
}
