//! q5, hot items: the auctions with the most bids in each sliding window — sliding windows,
//! a windowed aggregate of a windowed aggregate, and a join of the two per window.
//!
//! ```sql
//! SELECT AuctionBids.auction, AuctionBids.num
//!  FROM (
//!    SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
//!    FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!    GROUP BY auction, window_start, window_end
//!  ) AS AuctionBids
//!  JOIN (
//!    SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
//!    FROM (
//!      SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
//!      FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!      GROUP BY auction, window_start, window_end
//!    ) AS CountBids
//!    GROUP BY CountBids.starttime, CountBids.endtime
//!  ) AS MaxBids
//!  ON AuctionBids.starttime = MaxBids.starttime AND
//!     AuctionBids.endtime = MaxBids.endtime AND
//!     AuctionBids.num >= MaxBids.maxn;
//! ```
//!
//! Windows are 10 s long and start every 2 s, aligned to the epoch: a bid at `t` counts in the
//! five windows `[s, s + 10 s)` with `s` a multiple of 2 s and `t - 10 s < s ≤ t`. Each window
//! yields every auction whose count equals the window's highest count (all of them on a tie),
//! so a row `(auction, num)` appears once per window in which the auction is hottest.
//!
//! Native: [`count_by_event_window`](EventWindows::count_by_event_window) counts per auction
//! and sliding window; all counts of a window come out at its end, so re-keying them by the
//! window's end, stamped at the end, and gathering them in a 1 ms tumbling full-window function
//! hands the whole window's counts to one call, which keeps the maxima. Window state is freed
//! by the watermark; insert only.
//!
//! Micro-batch mode (Spark Streaming): the same windows over **arrival time** — each window at
//! batch time `t` (every 2 s) holds the batches of `(t − 10 s, t]`, counted with
//! `reduce_by_key_and_window`, and each window's counts are joined with their maximum. A bid
//! is counted in the windows of the batch it arrived in, not of its `dateTime`, so the rows
//! differ from native by design whenever arrival order and event time disagree. Both the
//! window (10 s) and the slide (2 s) must be multiples of the batch interval: any other
//! interval fails the run when it starts, with Spark's message.

use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{bids, Params, Query};
use crate::model::Event;
use crate::table::Change;

crate::row! {
    /// A hottest auction of a window, and its number of bids there.
    pub struct Q5Row {
        auction: i64 = "auction",
        num: i64 = "num",
    }
}

/// q5.
#[derive(Clone, Debug, Default)]
pub struct Q5;

/// The window length.
const LENGTH: Duration = Duration::from_secs(10);
/// The slide.
const SLIDE: Duration = Duration::from_secs(2);

/// The rows of one window: the auctions whose count is the highest, given `(auction, count)`.
fn hottest(counts: &[(i64, u64)]) -> Vec<Change<Q5Row>> {
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let hot = counts.iter().filter(|(_, n)| *n >= max);
    hot.map(|&(auction, num)| {
        let num = num as i64;
        (Q5Row { auction, num }, 1)
    })
    .collect()
}

impl Query for Q5 {
    const NAME: &'static str = "q5";
    const WINDOWED: bool = true;
    const MINIBATCH: bool = true;
    const MINIBATCH_CHECKPOINT: bool = true;
    const ARRIVAL_TIME: bool = true;
    type Row = Q5Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q5Row>> {
        let bids = events
            .flat_map(bids)
            .map(|b| (b.auction, b.date_time as Time));
        let (counts, _late) = bids.count_by_event_window(WindowSpec::sliding(LENGTH, SLIDE), 0);
        // All counts of the window ending at `end` are stamped `end`: a 1 ms window at `end`
        // gathers them, complete, on one worker.
        let by_window = counts.map(|w| (w.end, w.end, (w.key, w.count)));
        let gathered = WindowSpec::tumbling(Duration::from_millis(1));
        let (hot, _late) = by_window.process_event_window(gathered, 0, |_, _, counts| {
            let counts: Vec<(i64, u64)> = counts.into_iter().map(|(_, c)| c).collect();
            hottest(&counts)
        });
        hot.flat_map(|w| w.value)
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q5Row>>> {
        let counts = events
            .flat_map(bids)
            .map(|b| (b.auction, 1u64))
            .reduce_by_key_and_window(|a, b| a + b, LENGTH, SLIDE);
        let max = counts.map(|(_, n)| ((), n)).reduce_by_key(|a, b| *a.max(b));
        let rows = counts
            .map(|count| ((), count))
            .join(&max)
            .filter(|((), ((_, num), max))| num >= max)
            .map(|((), ((auction, num), _))| {
                let num = num as i64;
                (Q5Row { auction, num }, 1)
            });
        Some(rows.into_stream())
    }
}
