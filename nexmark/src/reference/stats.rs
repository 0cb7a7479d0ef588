//! The `count(*) filter (...)` and `count(distinct ...) filter (...)` columns of q15 and q16.

use std::collections::BTreeSet;

use crate::model::Bid;

/// A group's bids.
#[derive(Default)]
pub struct Group {
    pub bids: Vec<Bid>,
}

impl Group {
    /// total_bids, rank1_bids … rank3_auctions: 12 columns.
    pub fn columns(&self) -> [i64; 12] {
        let ranks: [fn(i64) -> bool; 4] = [
            |_| true,
            |p| p < 10000,
            |p| (10000..1000000).contains(&p),
            |p| p >= 1000000,
        ];
        let mut out = [0; 12];
        for (i, in_rank) in ranks.iter().enumerate() {
            let chosen: Vec<&Bid> = self.bids.iter().filter(|b| in_rank(b.price)).collect();
            out[i] = chosen.len() as i64;
            out[4 + i] = chosen
                .iter()
                .map(|b| b.bidder)
                .collect::<BTreeSet<_>>()
                .len() as i64;
            out[8 + i] = chosen
                .iter()
                .map(|b| b.auction)
                .collect::<BTreeSet<_>>()
                .len() as i64;
        }
        out
    }
}
