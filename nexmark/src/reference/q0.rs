//! q0 by a plain loop.

use crate::model::Event;
use crate::queries::q0::Q0Row;

/// q0's final table.
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
