use std::collections::BTreeMap;

use crate::model::{Bid, Event};
use crate::queries::q18::Q18Row;
use crate::table::Url;

pub fn answer(events: &[Event]) -> Vec<Q18Row> {
    let mut groups: BTreeMap<(i64, i64), Vec<&Bid>> = BTreeMap::new();
    for b in super::bids(events) {
        groups.entry((b.bidder, b.auction)).or_default().push(b);
    }
    let mut rows = Vec::new();
    for (_, mut bids) in groups {
        // ORDER BY dateTime DESC; ties: the greatest (price, channel, url, extra) first.
        bids.sort_by_key(|b| {
            (
                b.date_time,
                b.price,
                b.channel.name(),
                b.url(),
                b.extra.as_str(),
            )
        });
        let b = bids.last().unwrap();
        rows.push(Q18Row {
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            channel: b.channel,
            url: Url(b.channel),
            date_time: b.date_time,
            extra: b.extra,
        });
    }
    rows
}
