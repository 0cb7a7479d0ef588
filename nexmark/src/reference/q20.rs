use crate::model::Event;
use crate::queries::q20::Q20Row;
use crate::table::Url;

pub fn answer(events: &[Event]) -> Vec<Q20Row> {
    let mut rows = Vec::new();
    for a in super::auctions(events) {
        if a.category != 10 {
            continue;
        }
        for b in super::bids_on(events, a.id) {
            rows.push(Q20Row {
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
            });
        }
    }
    rows
}
