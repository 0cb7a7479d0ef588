use crate::model::Event;
use crate::queries::q13::Q13Row;
use crate::queries::Params;

pub fn answer(events: &[Event], params: &Params) -> Vec<Q13Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        // Inner join: every entry of the side input whose key is MOD(auction, 10000).
        for (key, value) in params.side_input.iter() {
            if *key == b.auction % 10000 {
                rows.push(Q13Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    date_time: b.date_time,
                    value: value.clone(),
                });
            }
        }
    }
    rows
}
