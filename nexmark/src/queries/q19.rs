//! q19, auction top-k: each auction's ten highest bids, with their rank — an updating top-N
//! (`ROW_NUMBER` ≤ 10 per key).
//!
//! ```sql
//! SELECT * FROM
//! (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
//! WHERE rank_number <= 10;
//! ```
//!
//! **Ties.** Bids of equal price are ranked by the remaining columns ([`ranks_before`]): the
//! earlier `dateTime` first, then the smaller `bidder`, `channel`, `url` and `extra` (numbers
//! and strings, ascending). Bids equal in every column are interchangeable rows, so the answer
//! does not depend on arrival order.
//!
//! An updating result, as Flink's top-N with row numbers: when a bid enters an auction's top
//! ten, every rank whose bid changed has its old row retracted and its new row inserted (the
//! bids below the newcomer move down a rank; the tenth leaves). The state per auction is its
//! top ten, as Flink keeps for an insert-only input.

use std::cmp::Ordering;

use sluice_engine::prelude::*;

use super::{bids, Params, Query};
use crate::model::{Bid, Channel, Event, Extra};
use crate::table::Change;
use crate::table::Url;

/// How many bids per auction.
pub const TOP: usize = 10;

crate::row! {
    /// One of an auction's top bids.
    pub struct Q19Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        channel: Channel = "channel",
        url: Url = "url",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
        rank_number: i64 = "rank_number",
    }
}

fn row(bid: &Bid, rank_number: usize) -> Q19Row {
    Q19Row {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel,
        url: Url(bid.channel),
        date_time: bid.date_time,
        extra: bid.extra,
        rank_number: rank_number as i64,
    }
}

/// q19.
#[derive(Clone, Debug, Default)]
pub struct Q19;

/// Whether `a` ranks before `b`: a higher price, then an earlier `dateTime`, then the smaller
/// `bidder`, `channel`, `url` and `extra`.
///
/// ```
/// use sluice_nexmark::model::{Bid, Channel, Extra};
/// use sluice_nexmark::queries::q19::ranks_before;
/// let bid = |price, date_time| Bid {
///     auction: 1, bidder: 2, price, channel: Channel::hot(0), date_time, extra: Extra::default(),
/// };
/// assert!(ranks_before(&bid(9, 5), &bid(1, 1)));
/// assert!(ranks_before(&bid(9, 1), &bid(9, 5)));
/// assert!(!ranks_before(&bid(9, 1), &bid(9, 1)));
/// ```
pub fn ranks_before(a: &Bid, b: &Bid) -> bool {
    order(a, b) == Ordering::Less
}

fn order(a: &Bid, b: &Bid) -> Ordering {
    let rest = |x: &Bid| {
        (
            x.date_time,
            x.bidder,
            x.channel.name(),
            x.url(),
            x.extra.as_str(),
        )
    };
    b.price.cmp(&a.price).then_with(|| rest(a).cmp(&rest(b)))
}

impl Query for Q19 {
    const NAME: &'static str = "q19";
    type Row = Q19Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q19Row>> {
        events
            .flat_map(|event| bids(event).map(|bid| (bid.auction, bid)))
            .flat_map_with_state(|_, bid, top: &mut Option<Vec<Bid>>, emit| {
                let top = top.get_or_insert_with(Vec::new);
                // Equal bids go after the ones already there: either order is the same rows.
                let at = top.partition_point(|x| order(x, &bid) != Ordering::Greater);
                if at == TOP {
                    return;
                }
                top.insert(at, bid);
                // The ranks from `at` down each change bid; the eleventh leaves.
                for (i, pair) in top[at..].windows(2).enumerate() {
                    if pair[0] != pair[1] {
                        let rank = at + i + 1;
                        emit((row(&pair[1], rank), -1));
                        emit((row(&pair[0], rank), 1));
                    }
                }
                let last = top.len() - 1;
                if top.len() > TOP {
                    top.truncate(TOP);
                } else {
                    emit((row(&top[last], last + 1), 1));
                }
            })
    }
}
