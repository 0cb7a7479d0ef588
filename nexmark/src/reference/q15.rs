use std::collections::BTreeMap;

use crate::model::Event;
use crate::queries::q15::Q15Row;

use super::dates::{day, day_column};
use super::stats::Group;

pub fn answer(events: &[Event]) -> Vec<Q15Row> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for b in super::bids(events) {
        groups
            .entry(day(b.date_time))
            .or_default()
            .bids
            .push(b.clone());
    }
    let mut rows = Vec::new();
    for (day, group) in groups {
        let c = group.columns();
        rows.push(Q15Row {
            day: day_column(&day, group.bids[0].date_time),
            total_bids: c[0],
            rank1_bids: c[1],
            rank2_bids: c[2],
            rank3_bids: c[3],
            total_bidders: c[4],
            rank1_bidders: c[5],
            rank2_bidders: c[6],
            rank3_bidders: c[7],
            total_auctions: c[8],
            rank1_auctions: c[9],
            rank2_auctions: c[10],
            rank3_auctions: c[11],
        });
    }
    rows
}
