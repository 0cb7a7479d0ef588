//! q18, find last bid: each bidder's last bid on each auction — a deduplication
//! (`ROW_NUMBER` ≤ 1 ordered by time descending), an updating top-1 per key.
//!
//! ```sql
//! SELECT auction, bidder, price, channel, url, `dateTime`, extra
//!  FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY `dateTime` DESC) AS rank_number
//!        FROM bid)
//!  WHERE rank_number <= 1;
//! ```
//!
//! **Ties.** Two bids of a bidder on an auction at the same `dateTime` are ordered by the
//! remaining columns: the last bid is the greatest by (`dateTime`, `price`, `channel`, `url`,
//! `extra`), compared as numbers and strings ([`is_later`]), so the answer does not depend on
//! arrival order.
//!
//! An updating result, as Flink's: a bid that becomes its pair's last retracts the previous
//! last and inserts itself; a bid that does not changes nothing. The state per (bidder,
//! auction) is its last bid, kept for good as Flink's without a state TTL.

use std::cmp::Ordering;

use sluice_engine::prelude::*;

use super::{bids, Params, Query};
use crate::model::{Bid, Channel, Event, Extra};
use crate::table::{Change, Url};

crate::row! {
    /// A bidder's last bid on an auction.
    pub struct Q18Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        channel: Channel = "channel",
        url: Url = "url",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
    }
}

impl From<&Bid> for Q18Row {
    fn from(bid: &Bid) -> Self {
        Q18Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            url: Url(bid.channel),
            date_time: bid.date_time,
            extra: bid.extra,
        }
    }
}

/// q18.
#[derive(Clone, Debug, Default)]
pub struct Q18;

/// Whether `a` comes after `b`: a later `dateTime`, then, on a tie, a greater `price`,
/// `channel`, `url` and `extra`.
///
/// ```
/// use sluice_nexmark::model::{Bid, Channel, Extra};
/// use sluice_nexmark::queries::q18::is_later;
/// let bid = |date_time, price| Bid {
///     auction: 1, bidder: 2, price, channel: Channel::hot(0), date_time, extra: Extra::default(),
/// };
/// assert!(is_later(&bid(2, 1), &bid(1, 9)));
/// assert!(is_later(&bid(1, 9), &bid(1, 1)));
/// assert!(!is_later(&bid(1, 1), &bid(1, 1)));
/// ```
pub fn is_later(a: &Bid, b: &Bid) -> bool {
    let order = |x: &Bid| {
        (
            x.date_time,
            x.price,
            x.channel.name(),
            x.url(),
            x.extra.as_str(),
        )
    };
    order(a).cmp(&order(b)) == Ordering::Greater
}

impl Query for Q18 {
    const NAME: &'static str = "q18";
    type Row = Q18Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q18Row>> {
        events
            .flat_map(|event| bids(event).map(|bid| ((bid.bidder, bid.auction), bid)))
            .flat_map_with_state(|_, bid, last: &mut Option<Bid>, emit| {
                if let Some(previous) = last {
                    if !is_later(&bid, previous) {
                        return;
                    }
                    emit((Q18Row::from(&*previous), -1));
                }
                emit((Q18Row::from(&bid), 1));
                *last = Some(bid);
            })
    }
}
