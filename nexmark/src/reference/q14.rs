use crate::model::Event;
use crate::queries::q14::Q14Row;
use crate::table::Thousandths;

use super::dates::hour;

pub fn answer(events: &[Event]) -> Vec<Q14Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        // 0.908 * price > 1000000 AND 0.908 * price < 50000000, in thousandths.
        let price = b.price * 908;
        if !(price > 1_000_000_000 && price < 50_000_000_000) {
            continue;
        }
        let h = hour(b.date_time);
        let bid_time_type = if (8..=18).contains(&h) {
            "dayTime"
        } else if h <= 6 || h >= 20 {
            "nightTime"
        } else {
            "otherTime"
        };
        let mut c_counts = 0;
        for c in b.extra.as_str().chars() {
            if c == 'c' {
                c_counts += 1;
            }
        }
        rows.push(Q14Row {
            auction: b.auction,
            bidder: b.bidder,
            price: Thousandths(price),
            bid_time_type: bid_time_type.to_string(),
            date_time: b.date_time,
            extra: b.extra,
            c_counts,
        });
    }
    rows
}
