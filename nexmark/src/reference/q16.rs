use std::collections::BTreeMap;

use crate::model::{Channel, Event};
use crate::queries::q16::Q16Row;

use super::dates::{day, day_column, minute, minute_column};
use super::stats::Group;

pub fn answer(events: &[Event]) -> Vec<Q16Row> {
    let mut groups: BTreeMap<(Channel, String), Group> = BTreeMap::new();
    for b in super::bids(events) {
        groups
            .entry((b.channel, day(b.date_time)))
            .or_default()
            .bids
            .push(b.clone());
    }
    let mut rows = Vec::new();
    for ((channel, day), group) in groups {
        let c = group.columns();
        let (minute, at) = group
            .bids
            .iter()
            .map(|b| (minute(b.date_time), b.date_time))
            .max()
            .unwrap();
        rows.push(Q16Row {
            channel,
            day: day_column(&day, at),
            minute: minute_column(&minute, at),
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
