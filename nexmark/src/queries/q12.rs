//! q12, processing-time windows: how many bids each bidder made per 10 s of processing time —
//! tumbling windows over the time records are processed, not their `dateTime`.
//!
//! ```sql
//! CREATE VIEW B AS SELECT *, PROCTIME() as p_time FROM bid;
//!
//! SELECT bidder, count(*) as bid_count, window_start AS starttime, window_end AS endtime
//! FROM TABLE(TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
//! GROUP BY bidder, window_start, window_end;
//! ```
//!
//! Native: each bid is stamped with `PROCTIME()` — the job's clock (wall-clock ms since the
//! epoch, or a test's manual clock) when the query reads it — and counted per bidder in 10 s
//! tumbling windows aligned to the epoch, over a stream re-stamped in that time, so a window
//! fires when processing time passes its end and nothing is ever late. At the end of a bounded
//! input every open window fires. The result depends on when records are processed: every run
//! differs, but per bidder the counts always add up to its bids, and every window is 10 s long
//! and aligned to 10 s. Insert only.
//!
//! No micro-batch mode: a processing-time window is what a D-Stream window already is (windows
//! of arrival time), which the micro-batch forms of q5, q7 and q8 exercise.

use std::time::Duration;

use sluice_engine::prelude::*;

use super::{bids, Params, Query};
use crate::model::Event;
use crate::table::Change;

crate::row! {
    /// A bidder's bids in a window of processing time.
    pub struct Q12Row {
        bidder: i64 = "bidder",
        bid_count: i64 = "bid_count",
        starttime: i64 = "starttime",
        endtime: i64 = "endtime",
    }
}

/// q12.
#[derive(Clone, Debug, Default)]
pub struct Q12;

/// The window length.
pub const LENGTH: Duration = Duration::from_secs(10);

impl Query for Q12 {
    const NAME: &'static str = "q12";
    const WINDOWED: bool = true;
    type Row = Q12Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q12Row>> {
        let clock = JobContext::of(events.scope()).clock().clone();
        // PROCTIME(): the clock as each bid is read; a worker's clock readings only grow, so
        // the re-stamped stream is in order and no bid is ever behind its watermark.
        let timed = events
            .flat_map(bids)
            .map(move |bid| (clock.now_ms(), bid.bidder))
            .with_event_time(|(t, _)| *t, Watermarks::ascending())
            .map(|(t, bidder)| (bidder, t));
        let (counts, _late) = timed.count_by_event_window(WindowSpec::tumbling(LENGTH), 0);
        counts.map(|w| {
            let row = Q12Row {
                bidder: w.key,
                bid_count: w.count as i64,
                starttime: w.start as i64,
                endtime: w.end as i64,
            };
            (row, 1)
        })
    }
}
