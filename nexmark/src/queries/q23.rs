//! q23, bids with their bidder and the bidder's auctions: every bid, with the person who made
//! it and each auction that person sells — an append-only three-way regular join, all on one
//! person id.
//!
//! ```sql
//! SELECT bidder, price, channel, url, B.extra AS bid_extra,
//!        P.id AS person_id, name, emailAddress, creditCard, city, state, P.extra AS person_extra,
//!        itemName, description, initialBid, reserve, A.dateTime AS auction_dateTime, expires,
//!        seller, category, A.extra AS auction_extra
//! FROM bid B
//!          JOIN person P ON P.id = B.bidder
//!          JOIN auction A ON A.seller = B.bidder;
//! ```
//!
//! The generator's bidders are person ids plus 1000 (the reference adds the id base twice),
//! so only people with ids from 2000 on are ever matched.
//!
//! Native mode: bids (by bidder), people (by id) and auctions (by seller) keyed by person id
//! into one per-key process function that keeps all three sides — the person once seen, and
//! every bid and auction — as Flink's two regular joins keep theirs. Each arrival emits the
//! rows it completes with what is already there, so each row is inserted exactly once, when
//! its last side arrives. The state is kept forever, as Flink's (no TTL).

use sluice_engine::prelude::*;

use super::{Params, Query};
use crate::model::{Auction, Bid, Channel, Event, Extra, Person};
use crate::table::{Change, Url};

crate::row! {
    /// A bid, its bidder and one of the bidder's auctions.
    pub struct Q23Row {
        bidder: i64 = "bidder",
        price: i64 = "price",
        channel: Channel = "channel",
        url: Url = "url",
        bid_extra: Extra = "bid_extra",
        person_id: i64 = "person_id",
        name: String = "name",
        email_address: String = "emailAddress",
        credit_card: String = "creditCard",
        city: String = "city",
        state: String = "state",
        person_extra: Extra = "person_extra",
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

/// q23.
#[derive(Clone, Debug, Default)]
pub struct Q23;

/// A person id's join state: every side seen so far.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct State {
    person: Option<Person>,
    bids: Vec<Bid>,
    auctions: Vec<Auction>,
}

impl State {
    /// Takes in one event, handing each row it completes to `emit`.
    fn add(&mut self, event: Event, emit: &mut dyn FnMut(Q23Row)) {
        match event {
            Event::Person(p) => {
                for b in &self.bids {
                    for a in &self.auctions {
                        emit(row(b, &p, a));
                    }
                }
                self.person = Some(p);
            }
            Event::Bid(b) => {
                if let Some(p) = &self.person {
                    for a in &self.auctions {
                        emit(row(&b, p, a));
                    }
                }
                self.bids.push(b);
            }
            Event::Auction(a) => {
                if let Some(p) = &self.person {
                    for b in &self.bids {
                        emit(row(b, p, &a));
                    }
                }
                self.auctions.push(a);
            }
        }
    }
}

fn row(b: &Bid, p: &Person, a: &Auction) -> Q23Row {
    Q23Row {
        bidder: b.bidder,
        price: b.price,
        channel: b.channel,
        url: Url(b.channel),
        bid_extra: b.extra,
        person_id: p.id,
        name: p.name.clone(),
        email_address: p.email_address.clone(),
        credit_card: p.credit_card.clone(),
        city: p.city.clone(),
        state: p.state.clone(),
        person_extra: p.extra,
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

/// The event keyed by the person id it joins on.
fn keyed(event: Event) -> (i64, Event) {
    let person = match &event {
        Event::Person(p) => p.id,
        Event::Auction(a) => a.seller,
        Event::Bid(b) => b.bidder,
    };
    (person, event)
}

impl Query for Q23 {
    const NAME: &'static str = "q23";
    type Row = Q23Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q23Row>> {
        events
            .map(keyed)
            .flat_map_with_state(|_, event, state: &mut Option<State>, emit| {
                state
                    .get_or_insert_with(State::default)
                    .add(event, &mut |row| emit((row, 1)));
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Channel;

    fn events() -> [Event; 4] {
        let person = Person {
            id: 2000,
            name: "Ann".into(),
            email_address: String::new(),
            credit_card: String::new(),
            city: String::new(),
            state: String::new(),
            date_time: 0,
            extra: Extra::default(),
        };
        let auction = |id| Auction {
            id,
            item_name: format!("item {id}"),
            description: String::new(),
            initial_bid: 0,
            reserve: 0,
            date_time: 0,
            expires: 0,
            seller: 2000,
            category: 10,
            extra: Extra::default(),
        };
        let bid = Bid {
            auction: 1000,
            bidder: 2000,
            price: 7,
            channel: Channel::hot(0),
            date_time: 0,
            extra: Extra::default(),
        };
        [
            Event::Person(person),
            Event::Auction(auction(1)),
            Event::Auction(auction(2)),
            Event::Bid(bid),
        ]
    }

    /// Whatever order the sides arrive in, each (bid, person, auction) row is emitted once.
    #[test]
    fn each_row_once_in_any_order() {
        let events = events();
        for order in [
            [0, 1, 2, 3],
            [3, 2, 1, 0],
            [1, 0, 3, 2],
            [1, 3, 0, 2],
            [3, 1, 2, 0],
        ] {
            let mut state = State::default();
            let mut items = Vec::new();
            for i in order {
                state.add(events[i].clone(), &mut |row| items.push(row.item_name));
            }
            items.sort();
            assert_eq!(items, ["item 1", "item 2"], "order {order:?}");
        }
    }
}
