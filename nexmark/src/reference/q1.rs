//! q1 by a plain loop.

use crate::model::Event;
use crate::queries::q1::Q1Row;
use crate::table::Thousandths;

/// q1's final table.
pub fn answer(events: &[Event]) -> Vec<Q1Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        rows.push(Q1Row {
            auction: b.auction,
            bidder: b.bidder,
            // 0.908 × price, in thousandths.
            price: Thousandths(b.price * 908),
            date_time: b.date_time,
            extra: b.extra,
        });
    }
    rows
}
