use crate::model::Event;
use crate::queries::q7::Q7Row;

/// For each 10 s tumbling window `[end - 10 s, end)` with bids, its highest price; every bid
/// at that price with `end - 10 s <= dateTime <= end` (both ends included, so a bid at exactly
/// `end` is compared with this window's maximum and its own window's).
pub fn answer(events: &[Event]) -> Vec<Q7Row> {
    let mut ends: Vec<i64> = super::bids(events)
        .map(|b| b.date_time.div_euclid(10_000) * 10_000 + 10_000)
        .collect();
    ends.sort();
    ends.dedup();
    let mut rows = Vec::new();
    for end in ends {
        let mut max = i64::MIN;
        for b in super::bids(events) {
            if end - 10_000 <= b.date_time && b.date_time < end {
                max = max.max(b.price);
            }
        }
        for b in super::bids(events) {
            if b.price == max && end - 10_000 <= b.date_time && b.date_time <= end {
                rows.push(Q7Row {
                    auction: b.auction,
                    price: b.price,
                    bidder: b.bidder,
                    date_time: b.date_time,
                    extra: b.extra,
                });
            }
        }
    }
    rows
}
