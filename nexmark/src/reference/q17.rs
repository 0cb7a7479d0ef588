use std::collections::BTreeMap;

use crate::model::Event;
use crate::queries::q17::Q17Row;

use super::dates::{day, day_column};

pub fn answer(events: &[Event]) -> Vec<Q17Row> {
    let mut groups: BTreeMap<(i64, String), (i64, Vec<i64>)> = BTreeMap::new();
    for b in super::bids(events) {
        groups
            .entry((b.auction, day(b.date_time)))
            .or_insert_with(|| (b.date_time, Vec::new()))
            .1
            .push(b.price);
    }
    let mut rows = Vec::new();
    for ((auction, day), (at, prices)) in groups {
        let count = |f: fn(i64) -> bool| prices.iter().filter(|&&p| f(p)).count() as i64;
        let sum: i64 = prices.iter().sum();
        rows.push(Q17Row {
            auction,
            day: day_column(&day, at),
            total_bids: prices.len() as i64,
            rank1_bids: count(|p| p < 10000),
            rank2_bids: count(|p| (10000..1000000).contains(&p)),
            rank3_bids: count(|p| p >= 1000000),
            min_price: *prices.iter().min().unwrap(),
            max_price: *prices.iter().max().unwrap(),
            // AVG of BIGINT: BIGINT, truncated.
            avg_price: sum / prices.len() as i64,
            sum_price: sum,
        });
    }
    rows
}
