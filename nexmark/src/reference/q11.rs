use std::collections::BTreeMap;

use crate::model::Event;
use crate::queries::q11::Q11Row;

/// Per bidder, its bid times in order, cut where two consecutive bids are more than 10 s apart
/// (Flink's session windows `[t, t + 10 s]` merge when they touch, so exactly 10 s apart is
/// one session): (bidder, bids, first bid, last bid + 10 s).
pub fn answer(events: &[Event]) -> Vec<Q11Row> {
    let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for b in super::bids(events) {
        times.entry(b.bidder).or_default().push(b.date_time);
    }
    let mut rows = Vec::new();
    for (bidder, mut times) in times {
        times.sort();
        let mut start = 0;
        for i in 0..times.len() {
            let last = i + 1 == times.len() || times[i + 1] - times[i] > 10_000;
            if last {
                rows.push(Q11Row {
                    bidder,
                    bid_count: (i + 1 - start) as i64,
                    starttime: times[start],
                    endtime: times[i] + 10_000,
                });
                start = i + 1;
            }
        }
    }
    rows
}
