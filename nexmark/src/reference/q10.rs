use crate::model::Event;
use crate::queries::q10::Q10Row;

use super::dates::{day, minute};

pub fn answer(events: &[Event]) -> Vec<Q10Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        rows.push(Q10Row {
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            date_time: b.date_time,
            extra: b.extra,
            dt: day(b.date_time),
            hm: minute(b.date_time),
        });
    }
    rows
}
