//! Session windows: each user's visits, where a visit is a run of clicks with less than
//! `GAP_MS` between one and the next.
//!
//! Tumbling and sliding windows have fixed bounds; a session has none. It opens at a user's
//! first click and stays open while clicks keep coming; `GAP_MS` of silence closes it. A late
//! click that falls between two sessions merges them into one, which is why sessions need the
//! engine's merging windows rather than a fixed grid. Clicks carry the time they happened and
//! arrive up to `DISORDER_MS` out of order; a session is emitted once the watermark passes its
//! end, so the visits do not depend on arrival order.
//!
//! ```sh
//! cargo run --release --example user_sessions
//! ```

use std::sync::Arc;

use sluice::prelude::*;

/// The silence (ms) that ends a visit: 30 minutes, as web analytics count them.
pub const GAP_MS: Time = 30 * 60 * 1000;
/// How much out of order clicks may arrive (the watermarks' bound).
pub const DISORDER_MS: Time = 60_000;

/// A click: which user, when (ms).
pub type Click = (String, Time);

/// A visit: `(user, first click, end, clicks)`; the end is the last click plus [`GAP_MS`].
pub type Visit = (String, Time, Time, u64);

/// Every user's visits, each emitted once its session has closed.
pub fn visits(clicks: Stream<'_, Click>) -> Stream<'_, Visit> {
    let (sessions, _too_late) = clicks
        .with_event_time(
            |(_, at)| *at,
            Watermarks::bounded_out_of_orderness(DISORDER_MS),
        )
        .count_by_session(GAP_MS, 0);
    sessions.map(|s| (s.key, s.start, s.end, s.count))
}

/// A day of clicks from four users: bursts of browsing with hours of silence between them.
pub fn sample() -> Vec<Click> {
    let minute = 60_000;
    let mut clicks = Vec::new();
    for (u, user) in ["ana", "bo", "cy", "dee"].into_iter().enumerate() {
        let u = u as u64;
        for burst in 0..(3 + u) {
            // A burst every 4 hours, of 5 to 12 clicks 1 to 9 minutes apart.
            let mut at = burst * 240 * minute + ((burst + u) % 3) * 20 * minute + u * 7 * minute;
            for k in 0..(5 + (burst * 3 + u) % 8) {
                at += (1 + (k + u) % 9) * minute;
                clicks.push((user.to_string(), at));
            }
        }
    }
    clicks.sort_by_key(|(_, at)| *at);
    clicks
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let clicks = Arc::new(sample());
    let found = Collector::new();
    let sink = found.clone();
    execute(Execution::default().workers(2), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<Click> = clicks.iter().skip(index).step_by(peers).cloned().collect();
        worker.dataflow(|scope| visits(scope.iterator_source(mine)).collect_into(&sink));
    })?;
    let mut found = found.take();
    found.sort();
    for (user, start, end, clicks) in found {
        let minutes = (end - GAP_MS - start) / 60_000;
        println!(
            "{user:>4}: {clicks:>2} clicks from {:>2}:{:02} over {minutes} min",
            start / 3_600_000,
            start / 60_000 % 60
        );
    }
    Ok(())
}
