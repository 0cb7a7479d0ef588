use sluice_nexmark::model::Event;
use sluice_nexmark::queries::q0::Q0Row;

pub fn answer(events: &[Event]) -> Vec<Q0Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        rows.push(Q0Row {
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            date_time: b.date_time,
            extra: b.extra,
        });
    }
    rows
}
