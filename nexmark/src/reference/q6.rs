use std::collections::BTreeMap;

use crate::model::Event;
use crate::queries::q6::Q6Row;

pub fn answer(events: &[Event]) -> Vec<Q6Row> {
    // Each auction's winning bid: highest price, ties to the earliest (the row keeps only
    // price and time, so further ties do not matter).
    let mut by_seller: BTreeMap<i64, Vec<(i64, i64, i64)>> = BTreeMap::new();
    for a in super::auctions(events) {
        let mut winner: Option<(i64, i64)> = None;
        for b in super::bids_on(events, a.id) {
            if a.date_time <= b.date_time && b.date_time <= a.expires {
                let better = match winner {
                    None => true,
                    Some((price, time)) => {
                        b.price > price || (b.price == price && b.date_time < time)
                    }
                };
                if better {
                    winner = Some((b.price, b.date_time));
                }
            }
        }
        if let Some((price, time)) = winner {
            by_seller
                .entry(a.seller)
                .or_default()
                .push((time, a.id, price));
        }
    }
    // Per seller, in order of time then auction id: the average of each price and the up to
    // 10 before it.
    let mut rows = Vec::new();
    for (seller, mut winners) in by_seller {
        winners.sort();
        for i in 0..winners.len() {
            let from = i.saturating_sub(10);
            let mut sum = 0;
            for w in &winners[from..=i] {
                sum += w.2;
            }
            rows.push(Q6Row {
                seller,
                avg_price: sum / (i - from + 1) as i64,
            });
        }
    }
    rows
}
