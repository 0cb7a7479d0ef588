use crate::model::{Bid, Event};
use crate::queries::q9::Q9Row;

/// Whether `b` ranks before `w`: price descending, then time, bidder and extra ascending.
fn before(b: &Bid, w: &Bid) -> bool {
    if b.price != w.price {
        return b.price > w.price;
    }
    if b.date_time != w.date_time {
        return b.date_time < w.date_time;
    }
    if b.bidder != w.bidder {
        return b.bidder < w.bidder;
    }
    b.extra.as_str() < w.extra.as_str()
}

pub fn answer(events: &[Event]) -> Vec<Q9Row> {
    let mut rows = Vec::new();
    for a in super::auctions(events) {
        let mut winner: Option<&Bid> = None;
        for b in super::bids_on(events, a.id) {
            let open = a.date_time <= b.date_time && b.date_time <= a.expires;
            if open && winner.is_none_or(|w| before(b, w)) {
                winner = Some(b);
            }
        }
        if let Some(b) = winner {
            rows.push(Q9Row {
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
            });
        }
    }
    rows
}
