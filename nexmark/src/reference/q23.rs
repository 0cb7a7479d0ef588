use crate::model::Event;
use crate::queries::q23::Q23Row;
use crate::table::Url;

pub fn answer(events: &[Event]) -> Vec<Q23Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        for p in super::persons(events) {
            if p.id != b.bidder {
                continue;
            }
            for a in super::auctions(events) {
                if a.seller != b.bidder {
                    continue;
                }
                rows.push(Q23Row {
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
                });
            }
        }
    }
    rows
}
