//! q11, user sessions: how many bids each bidder made per session of activity — session
//! windows.
//!
//! ```sql
//! SELECT
//!     B.bidder,
//!     count(*) as bid_count,
//!     SESSION_START(B.`dateTime`, INTERVAL '10' SECOND) as starttime,
//!     SESSION_END(B.`dateTime`, INTERVAL '10' SECOND) as endtime
//! FROM bid B
//! GROUP BY B.bidder, SESSION(B.`dateTime`, INTERVAL '10' SECOND);
//! ```
//!
//! **Flink's sessions.** Each bid opens a window `[dateTime, dateTime + 10 s]`, and windows
//! that *touch* merge (`TimeWindow::intersects`: `start <= other.end && end >= other.start`):
//! a bidder's bids at most 10 s apart — exactly 10 s included — are one session, from its first
//! bid (`starttime`) to its last bid plus 10 s (`endtime`). The engine's sessions merge bids
//! *less than* the gap apart and end at the last bid plus the gap; so this query runs them with
//! a gap of 10 s + 1 ms (bids up to exactly 10 s apart merge) and reports the end 1 ms earlier
//! (last bid + 10 s), which is Flink's session exactly.
//!
//! Native: [`count_by_session`](SessionWindows::count_by_session) per bidder; a session fires
//! when the watermark passes its end, and its state is then freed; insert only.
//!
//! Micro-batch mode (Spark Streaming has no session windows): `update_state_by_key` keeps each
//! bidder's open session over **arrival time**. A bid's time is its batch's time `t`. At each
//! batch `t`, a bidder's open session whose last bid came at `last` with `t − last > 10 s` is
//! closed — no later bid can join it — and emitted in that batch as `(bidder, bids, first
//! batch time, last + 10 s)`; then the batch's bids, if any, join the open session (a batch at
//! most 10 s after the last bid) or open a new one. So a session is the bidder's bids whose
//! *batches* are at most 10 s apart, it is emitted in the first batch more than 10 s after its
//! last bid, and any batch interval works. Unlike native mode, a session still open when the
//! input ends is never emitted (the stream has no end of time to fire it), and bids group by
//! arrival, not by `dateTime`.

use serde::{Deserialize, Serialize};
use sluice_engine::prelude::*;
use sluice_minibatch::{DStream, StateUpdate};

use super::{bids, Params, Query};
use crate::model::Event;
use crate::table::Change;

crate::row! {
    /// A bidder's session.
    pub struct Q11Row {
        bidder: i64 = "bidder",
        bid_count: i64 = "bid_count",
        starttime: i64 = "starttime",
        endtime: i64 = "endtime",
    }
}

/// q11.
#[derive(Clone, Debug, Default)]
pub struct Q11;

/// The session gap, ms.
pub const GAP_MS: i64 = 10_000;

/// A micro-batch session: its first and last bids' batch times and its number of bids.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    start: i64,
    last: i64,
    bids: i64,
}

/// A bidder's micro-batch state: its open session, and the session closed in this batch.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Sessions {
    open: Option<Session>,
    closed: Option<Session>,
}

impl Sessions {
    /// The state after batch `t`, which brought `bids` bids; `None` when nothing is left.
    fn step(self, t: i64, bids: i64) -> Option<Sessions> {
        let (mut open, mut closed) = (self.open, None);
        if open.as_ref().is_some_and(|s| t - s.last > GAP_MS) {
            closed = open.take();
        }
        if bids > 0 {
            let session = open.get_or_insert(Session {
                start: t,
                last: t,
                bids: 0,
            });
            session.last = t;
            session.bids += bids;
        }
        (open.is_some() || closed.is_some()).then_some(Sessions { open, closed })
    }
}

impl Query for Q11 {
    const NAME: &'static str = "q11";
    const WINDOWED: bool = true;
    const MINIBATCH: bool = true;
    const MINIBATCH_CHECKPOINT: bool = true;
    const ARRIVAL_TIME: bool = true;
    type Row = Q11Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q11Row>> {
        let bids = events
            .flat_map(bids)
            .map(|b| (b.bidder, b.date_time as Time));
        // Gap + 1 ms: bids exactly 10 s apart merge, as Flink's touching windows do.
        let (sessions, _late) = bids.count_by_session(GAP_MS as Time + 1, 0);
        sessions.map(|s| {
            let row = Q11Row {
                bidder: s.key,
                bid_count: s.count as i64,
                starttime: s.start as i64,
                endtime: s.end as i64 - 1,
            };
            (row, 1)
        })
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q11Row>>> {
        let update = StateUpdate::new(|t, _, bids: Vec<()>, state: Option<Sessions>| {
            state.unwrap_or_default().step(t as i64, bids.len() as i64)
        });
        let sessions = events
            .flat_map(bids)
            .map(|b| (b.bidder, ()))
            .update_state_by_key_with(update);
        let rows = sessions.flat_map(|(bidder, state)| {
            let s = state.closed?;
            let row = Q11Row {
                bidder,
                bid_count: s.bids,
                starttime: s.start,
                endtime: s.last + GAP_MS,
            };
            Some((row, 1))
        });
        Some(rows.into_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches at most the gap apart are one session; it closes in the first batch more than
    /// the gap after its last bid.
    #[test]
    fn micro_batch_sessions_close_after_the_gap() {
        let s = Sessions::default().step(1000, 2).unwrap();
        let s = s.step(11_000, 1).unwrap(); // exactly 10 s later: same session
        assert!(s.closed.is_none());
        let s = s.step(21_000, 0).unwrap(); // 10 s after the last bid: still open
        assert!(s.closed.is_none());
        let s = s.step(22_000, 1).unwrap(); // 11 s: closed, and a new one opens
        let closed = s.closed.as_ref().unwrap();
        assert_eq!((closed.start, closed.last, closed.bids), (1000, 11_000, 3));
        let open = s.open.as_ref().unwrap();
        assert_eq!((open.start, open.bids), (22_000, 1));
        let s = s.step(40_000, 0).unwrap();
        assert_eq!(s.closed.as_ref().unwrap().bids, 1);
        assert!(s.step(41_000, 0).is_none());
    }
}
