//! q20, expand bid with auction: every bid on a category-10 auction, with the auction's
//! columns — an append-only regular join of bids with auctions on the auction id.
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel, url, B.dateTime, B.extra,
//!     itemName, description, initialBid, reserve, A.dateTime, expires, seller, category, A.extra
//! FROM
//!     bid AS B INNER JOIN auction AS A on B.auction = A.id
//! WHERE A.category = 10;
//! ```
//!
//! The columns are named as the sink table's (`bid_dateTime`, `bid_extra`,
//! `auction_dateTime`, `auction_extra`).
//!
//! Native mode: bids and auctions keyed by auction id into one per-key process function. An
//! auction id is unique, so a key's state is the category-10 auction once seen — every later
//! bid is joined with it at once — or the bids waiting for their auction. Each row is emitted
//! once, when its second side arrives: inserts only. Flink keeps the bids of every auction
//! that has not passed its filter, for ever; here an auction of another category is
//! remembered as such, and its bids dropped, which gives the same rows.

use sluice_engine::prelude::*;

use super::{Params, Query};
use crate::model::{Auction, Bid, Channel, Event, Extra};
use crate::table::{Change, Url};

crate::row! {
    /// A bid and its category-10 auction.
    pub struct Q20Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        channel: Channel = "channel",
        url: Url = "url",
        bid_date_time: i64 = "bid_dateTime",
        bid_extra: Extra = "bid_extra",
        item_name: String = "itemName",
        description: String = "description",
        initial_bid: i64 = "initialBid",
        reserve: i64 = "reserve",
        auction_date_time: i64 = "auction_dateTime",
        expires: i64 = "expires",
        seller: i64 = "seller",
        category: i64 = "category",
        auction_extra: Extra = "auction_extra",
    }
}

/// q20.
#[derive(Clone, Debug, Default)]
pub struct Q20;

/// An auction id's join state.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum State {
    /// The auction is not known yet: its bids wait.
    Waiting(Vec<Bid>),
    /// The category-10 auction.
    Joined(Auction),
    /// An auction of another category: its bids join nothing.
    Filtered,
}

fn row(b: &Bid, a: &Auction) -> Q20Row {
    Q20Row {
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        channel: b.channel,
        url: Url(b.channel),
        bid_date_time: b.date_time,
        bid_extra: b.extra,
        item_name: a.item_name.clone(),
        description: a.description.clone(),
        initial_bid: a.initial_bid,
        reserve: a.reserve,
        auction_date_time: a.date_time,
        expires: a.expires,
        seller: a.seller,
        category: a.category,
        auction_extra: a.extra,
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

impl Query for Q20 {
    const NAME: &'static str = "q20";
    type Row = Q20Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q20Row>> {
        events
            .flat_map(keyed)
            .flat_map_with_state(|_, event, state: &mut Option<State>, emit| {
                let state = state.get_or_insert_with(|| State::Waiting(Vec::new()));
                match (event, &mut *state) {
                    (Event::Bid(b), State::Waiting(bids)) => bids.push(b),
                    (Event::Bid(b), State::Joined(a)) => emit((row(&b, a), 1)),
                    (Event::Bid(_), State::Filtered) => {}
                    (Event::Auction(a), State::Waiting(bids)) => {
                        if a.category == 10 {
                            for b in bids.drain(..) {
                                emit((row(&b, &a), 1));
                            }
                            *state = State::Joined(a);
                        } else {
                            *state = State::Filtered;
                        }
                    }
                    (event, _) => unreachable!("a second auction with its id: {event:?}"),
                }
            })
    }
}
