//! q2 by a plain loop.

use crate::model::Event;
use crate::queries::q2::Q2Row;

/// q2's final table.
pub fn answer(events: &[Event]) -> Vec<Q2Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        if b.auction % 123 == 0 {
            rows.push(Q2Row {
                auction: b.auction,
                price: b.price,
            });
        }
    }
    rows
}
