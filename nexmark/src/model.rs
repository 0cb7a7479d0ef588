//! Nexmark's three event kinds — people, auctions and bids — as the reference generates them,
//! and their JSON form (`../shared/nexmark/README.md`: canonical, keys in schema order).
//!
//! Times are milliseconds since the Unix epoch (UTC), as the SQL's `TIMESTAMP(3)` columns hold
//! them. Every `extra` is a slice of the generator's text pool and a bid's channel and URL an
//! entry of its channel table ([`tables`](crate::tables)), so events refer to that text rather
//! than copy it.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

pub use crate::tables::{Channel, Extra};

/// A person: a seller of auctions and a bidder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Person id (from 1000).
    pub id: i64,
    /// "First Last".
    pub name: String,
    /// A random address `….com`.
    pub email_address: String,
    /// Four groups of four digits.
    pub credit_card: String,
    /// A US city.
    pub city: String,
    /// A US state code.
    pub state: String,
    /// Event time, ms.
    pub date_time: i64,
    /// Padding up to the configured average size.
    pub extra: Extra,
}

/// An auction: an item a person sells, open from `date_time` until `expires`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Auction {
    /// Auction id (from 1000).
    pub id: i64,
    /// The item's name.
    pub item_name: String,
    /// The item's description.
    pub description: String,
    /// The opening bid, in cents.
    pub initial_bid: i64,
    /// The reserve price, in cents.
    pub reserve: i64,
    /// Event time, ms: the auction opens.
    pub date_time: i64,
    /// When it closes, ms.
    pub expires: i64,
    /// The seller's person id.
    pub seller: i64,
    /// Category id (10–14 by default).
    pub category: i64,
    /// Padding up to the configured average size.
    pub extra: Extra,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bid {
    /// The auction's id.
    pub auction: i64,
    /// The bidder's id: a person id + 1000 (the reference adds the base twice; kept).
    pub bidder: i64,
    /// The price, in cents.
    pub price: i64,
    /// The channel the bid came through (`Google`, …, `channel-123`), and its URL.
    pub channel: Channel,
    /// Event time, ms.
    pub date_time: i64,
    /// Padding up to the configured average size.
    pub extra: Extra,
}

impl Bid {
    /// The bid's URL: its channel's.
    pub fn url(&self) -> &'static str {
        self.channel.url()
    }
}

/// One Nexmark event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Event {
    /// `event_type` 0.
    Person(Person),
    /// `event_type` 1.
    Auction(Auction),
    /// `event_type` 2.
    Bid(Bid),
}

impl Event {
    /// The event's time, ms: the table's `dateTime` column and its event time.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }

    /// Appends the event as one line of canonical JSON (no newline), the format of the
    /// reference events.
    ///
    /// ```
    /// use sluice_nexmark::model::{Bid, Channel, Event, Extra};
    /// let bid = Event::Bid(Bid {
    ///     auction: 1000, bidder: 2001, price: 42, channel: Channel::hot(0),
    ///     date_time: 7, extra: Extra::default(),
    /// });
    /// let mut line = String::new();
    /// bid.write_json(&mut line);
    /// let url = Channel::hot(0).url();
    /// assert_eq!(line, format!(r#"{{"event_type":2,"bid":{{"auction":1000,"bidder":2001,"price":42,"channel":"Google","url":"{url}","dateTime":7,"extra":""}}}}"#));
    /// ```
    pub fn write_json(&self, out: &mut String) {
        let mut json = Json(out);
        match self {
            Event::Person(p) => {
                json.open(0, "person");
                json.int("id", p.id, true);
                json.str("name", &p.name);
                json.str("emailAddress", &p.email_address);
                json.str("creditCard", &p.credit_card);
                json.str("city", &p.city);
                json.str("state", &p.state);
                json.int("dateTime", p.date_time, false);
                json.str("extra", p.extra.as_str());
            }
            Event::Auction(a) => {
                json.open(1, "auction");
                json.int("id", a.id, true);
                json.str("itemName", &a.item_name);
                json.str("description", &a.description);
                json.int("initialBid", a.initial_bid, false);
                json.int("reserve", a.reserve, false);
                json.int("dateTime", a.date_time, false);
                json.int("expires", a.expires, false);
                json.int("seller", a.seller, false);
                json.int("category", a.category, false);
                json.str("extra", a.extra.as_str());
            }
            Event::Bid(b) => {
                json.open(2, "bid");
                json.int("auction", b.auction, true);
                json.int("bidder", b.bidder, false);
                json.int("price", b.price, false);
                json.str("channel", b.channel.name());
                json.str("url", b.url());
                json.int("dateTime", b.date_time, false);
                json.str("extra", b.extra.as_str());
            }
        }
        json.0.push_str("}}");
    }
}

/// The few JSON shapes an event needs, written straight into a `String`.
struct Json<'a>(&'a mut String);

impl Json<'_> {
    fn open(&mut self, event_type: u8, kind: &str) {
        let _ = write!(self.0, "{{\"event_type\":{event_type},\"{kind}\":{{");
    }
    fn key(&mut self, key: &str, first: bool) {
        if !first {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
    }
    fn int(&mut self, key: &str, value: i64, first: bool) {
        self.key(key, first);
        let _ = write!(self.0, "{value}");
    }
    fn str(&mut self, key: &str, value: &str) {
        self.key(key, false);
        self.0.push('"');
        for c in value.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }
}
