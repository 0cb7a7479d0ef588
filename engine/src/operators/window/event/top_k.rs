//! Top-k per window: the `k` keys with the highest counts in each window, across all keys — the
//! D-Streams paper's TopKCount, and a window function over keyed results.
//!
//! The counts come from a keyed window ([`count_by_event_window`](super::EventWindows::count_by_event_window)
//! or any [`WindowCount`] stream); each window's ranking is made in one place (windows are spread
//! over the workers by their end) once the frontier shows every key's count has arrived. A late
//! record's updated count re-ranks its window, and a changed ranking is emitted again as an
//! update. Ties are broken by key, so the ranking is deterministic.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_window::{EventWindows, TopKPerWindow};
//! # fn f<'s>(hashtags: Stream<'s, (String, Time)>) {
//! // the 10 most used hashtags of each minute
//! let (counts, _late) = hashtags.count_by_event_window(WindowSpec::tumbling(Duration::from_secs(60)), 0);
//! let top = counts.top_k_per_window(10, 0); // WindowAggregate<(), Vec<(String, u64)>>
//! # }
//! ```

use std::collections::BTreeMap;
use std::hash::Hash;

use serde::Serialize;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;

use super::{WindowAggregate, WindowCount};
use crate::checkpointed::{At, Checkpointed, CheckpointedOperator, Frontiers, Saving};
use crate::hash::{new_map, worker_of, HashMap};
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// The `k` highest counts, highest first; ties by key.
pub fn top_k<K: Ord>(mut counts: Vec<(K, u64)>, k: usize) -> Vec<(K, u64)> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(k);
    counts
}

/// One window's counts and what was last emitted for it.
struct Ranking<K> {
    start: Time,
    counts: HashMap<K, u64>,
    emitted: Option<Vec<(K, u64)>>,
}

/// Ranking windowed counts.
pub trait TopKPerWindow<'scope, K: Data + Hash + Ord>: Sized {
    /// Each window's `k` highest counts, highest first, as one result with the key `()`;
    /// `lateness` (ms) must be the lateness the counts were made with, so that a window's
    /// ranking is kept exactly as long as its counts may change. See the module docs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // The most clicked key of each second.
    /// let clicks = vec![('a', 100u64), ('b', 200), ('b', 300), ('a', 1100)];
    /// let out = run_sorted(2, clicks, |s| {
    ///     let s = s.with_event_time(|(_, t)| *t, Watermarks::ascending());
    ///     let (counts, _) =
    ///         s.count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 0);
    ///     counts.top_k_per_window(1, 0).map(|w| (w.start, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![(0, vec![('b', 2)]), (1000, vec![('a', 1)])]);
    /// ```
    fn top_k_per_window(
        self,
        k: usize,
        lateness: Time,
    ) -> Stream<'scope, WindowAggregate<(), Vec<(K, u64)>>>;
}

impl<'scope, K: Data + Hash + Ord> TopKPerWindow<'scope, K> for Stream<'scope, WindowCount<K>> {
    fn top_k_per_window(
        self,
        k: usize,
        lateness: Time,
    ) -> Stream<'scope, WindowAggregate<(), Vec<(K, u64)>>> {
        let peers = self.scope().peers();
        let by_window = Exchange::new(move |w: &WindowCount<K>| worker_of(&w.end, peers));
        self.checkpointed_unary(by_window, "TopKPerWindow", move |_, gate| {
            let mut windows: BTreeMap<Time, Ranking<K>> = BTreeMap::new();
            // Windows are routed by their end: after a rescale, this worker's ends.
            let saved = gate.restore_divided(|parts: Vec<Saved<K>>, share| {
                Ok(parts
                    .into_iter()
                    .flatten()
                    .filter(|(end, ..)| share.owns(end))
                    .collect())
            });
            for (end, start, counts, emitted) in saved.unwrap_or_default() {
                let counts = counts.into_iter().collect();
                windows.insert(
                    end,
                    Ranking {
                        start,
                        counts,
                        emitted,
                    },
                );
            }
            TopK {
                k,
                lateness,
                windows,
                changed: BTreeMap::new(),
            }
        })
    }
}

/// The rankings of one worker's windows.
struct TopK<K> {
    k: usize,
    lateness: Time,
    windows: BTreeMap<Time, Ranking<K>>,
    /// The windows whose counts changed at each time, ranked once the frontier passes it.
    changed: Changed,
}

impl<'a, K: Data + Hash + Ord> Checkpointed<OutputSession<'a, WindowAggregate<(), Vec<(K, u64)>>>>
    for TopK<K>
{
    type Record = WindowCount<K>;

    fn apply(
        &mut self,
        at: &At<'_>,
        counts: impl Iterator<Item = WindowCount<K>>,
        _: &mut OutputSession<'a, WindowAggregate<(), Vec<(K, u64)>>>,
    ) {
        let cap = at.delayed(&at.time(), 0);
        count(&mut self.windows, &mut self.changed, cap, counts);
    }

    /// Every change before the epoch is ranked before it is saved.
    fn close_before(
        &mut self,
        saving: &Saving<'_>,
        out: &mut OutputSession<'a, WindowAggregate<(), Vec<(K, u64)>>>,
    ) {
        let epoch = saving.epoch;
        rank(&mut self.windows, &mut self.changed, self.k, out, |t| {
            t < epoch
        });
    }

    fn image(&self) -> impl Serialize + '_ {
        self.windows
            .iter()
            .map(|(end, r)| {
                (
                    *end,
                    r.start,
                    r.counts.iter().collect::<Vec<_>>(),
                    &r.emitted,
                )
            })
            .collect::<Vec<_>>()
    }

    fn on_frontier(
        &mut self,
        frontiers: &Frontiers<'_>,
        out: &mut OutputSession<'a, WindowAggregate<(), Vec<(K, u64)>>>,
    ) {
        let frontier = frontiers.all();
        rank(&mut self.windows, &mut self.changed, self.k, out, |t| {
            !frontier.less_equal(&t)
        });
        // Counts change at `end` (the first firing) and before `end + lateness`.
        let lateness = self.lateness;
        self.windows
            .retain(|&end, _| frontier.less_equal(&(end + lateness)));
    }

    fn state_entries(&self) -> Option<usize> {
        Some(self.windows.values().map(|r| r.counts.len()).sum())
    }
}

/// The windows as checkpointed: end, start, counts, and the ranking last emitted.
type Saved<K> = Vec<(Time, Time, Vec<(K, u64)>, Option<Vec<(K, u64)>>)>;

/// The windows whose counts changed at each time, with a capability at that time.
type Changed = BTreeMap<Time, (Capability<Time>, Vec<Time>)>;

/// Takes in windowed counts that arrived at `cap`'s time.
fn count<K: Data + Hash + Eq>(
    windows: &mut BTreeMap<Time, Ranking<K>>,
    changed: &mut Changed,
    cap: Capability<Time>,
    counts: impl Iterator<Item = WindowCount<K>>,
) {
    let (_, ends) = changed
        .entry(*cap.time())
        .or_insert_with(|| (cap, Vec::new()));
    for w in counts {
        let ranking = windows.entry(w.end).or_insert_with(|| Ranking {
            start: w.start,
            counts: new_map(),
            emitted: None,
        });
        let count = ranking.counts.entry(w.key).or_default();
        *count = (*count).max(w.count); // updates only raise a count
        ends.push(w.end);
    }
}

/// Ranks the windows changed at the times `ready` says are complete, in time order, emitting
/// the rankings that changed.
fn rank<K: Data + Hash + Ord>(
    windows: &mut BTreeMap<Time, Ranking<K>>,
    changed: &mut Changed,
    k: usize,
    output: &mut OutputSession<'_, WindowAggregate<(), Vec<(K, u64)>>>,
    ready: impl Fn(Time) -> bool,
) {
    while let Some(entry) = changed.first_entry() {
        if !ready(*entry.key()) {
            break;
        }
        let (cap, mut ends) = entry.remove();
        ends.sort_unstable();
        ends.dedup();
        let mut session = output.session(&cap);
        for end in ends {
            let Some(ranking) = windows.get_mut(&end) else {
                continue;
            };
            let counts = ranking.counts.iter().map(|(k, n)| (k.clone(), *n));
            let top = top_k(counts.collect(), k);
            if ranking.emitted.as_ref() != Some(&top) {
                session.give(WindowAggregate {
                    end,
                    start: ranking.start,
                    key: (),
                    value: top.clone(),
                    update: ranking.emitted.is_some(),
                });
                ranking.emitted = Some(top);
            }
        }
    }
}
