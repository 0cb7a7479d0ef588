use std::collections::BTreeMap;

use crate::model::Event;
use crate::queries::q4::Q4Row;

pub fn answer(events: &[Event]) -> Vec<Q4Row> {
    // The inner query: MAX(price) per auction over the bids made while it was open.
    let mut finals = Vec::new();
    for a in super::auctions(events) {
        let mut max = None;
        for b in super::bids_on(events, a.id) {
            if a.date_time <= b.date_time && b.date_time <= a.expires {
                max = Some(max.map_or(b.price, |m: i64| m.max(b.price)));
            }
        }
        if let Some(max) = max {
            finals.push((a.category, max));
        }
    }
    // AVG(final) per category, truncated.
    let mut by_category: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (category, price) in finals {
        let (sum, count) = by_category.entry(category).or_default();
        *sum += price;
        *count += 1;
    }
    by_category
        .into_iter()
        .map(|(id, (sum, count))| Q4Row {
            id,
            final_price: sum / count,
        })
        .collect()
}
