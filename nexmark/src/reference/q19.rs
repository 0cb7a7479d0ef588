use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::model::{Bid, Event};
use crate::queries::q19::Q19Row;
use crate::table::Url;

pub fn answer(events: &[Event]) -> Vec<Q19Row> {
    let mut groups: BTreeMap<i64, Vec<&Bid>> = BTreeMap::new();
    for b in super::bids(events) {
        groups.entry(b.auction).or_default().push(b);
    }
    let mut rows = Vec::new();
    for (_, mut bids) in groups {
        // ORDER BY price DESC; ties: dateTime, bidder, channel, url, extra ascending.
        bids.sort_by_key(|b| {
            (
                Reverse(b.price),
                b.date_time,
                b.bidder,
                b.channel.name(),
                b.url(),
                b.extra.as_str(),
            )
        });
        for (i, b) in bids.iter().take(10).enumerate() {
            rows.push(Q19Row {
                auction: b.auction,
                bidder: b.bidder,
                price: b.price,
                channel: b.channel,
                url: Url(b.channel),
                date_time: b.date_time,
                extra: b.extra,
                rank_number: i as i64 + 1,
            });
        }
    }
    rows
}
