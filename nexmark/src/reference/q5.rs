use std::collections::BTreeMap;

use crate::model::Event;
use crate::queries::q5::Q5Row;

/// HOP(10 s, slide 2 s): for each window start `s` (a multiple of 2 s), the count of each
/// auction's bids with `s <= dateTime < s + 10 s`; the auctions whose count is the window's
/// maximum.
pub fn answer(events: &[Event]) -> Vec<Q5Row> {
    let times: Vec<i64> = super::bids(events).map(|b| b.date_time).collect();
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    // The first window holding `first` starts after first - 10 s.
    let mut start = (first - 10_000).div_euclid(2000) * 2000 + 2000;
    while start <= last {
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for b in super::bids(events) {
            if start <= b.date_time && b.date_time < start + 10_000 {
                *counts.entry(b.auction).or_insert(0) += 1;
            }
        }
        let max = counts.values().copied().max().unwrap_or(0);
        for (&auction, &num) in &counts {
            if num >= max {
                rows.push(Q5Row { auction, num });
            }
        }
        start += 2000;
    }
    rows
}
