//! Windows over a stream's timestamps, closed by the frontier.
//!
//! A record's timely timestamp is its time (processing time, or event time once a source
//! assigns it); a window `[end − length, end)` is complete as soon as the frontier reaches
//! `end`, and only then is its result emitted — at time `end`, so downstream knows which window
//! a result belongs to. Windows slide by `slide` (a tumbling window slides by its length) and
//! are aligned to multiples of the slide, as Flink aligns them to the epoch.
//!
//! The micro-batch layer's windows hold the batches in `(t − length, t]`, and batch `t` holds the
//! arrivals in `[t − interval, t)`; so a native window ending at `t` and a micro-batch window at
//! `t` cover the same arrivals, and the two modes count the same.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::window::{WindowSpec, Windowed};
//! let out = Collector::new();
//! let sink = out.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     let mine = if worker.index() == 0 { vec![(100, "a"), (150, "a"), (250, "b")] } else { vec![] };
//!     worker.dataflow(|scope| {
//!         scope
//!             .timed_source(mine.into_iter().map(|(t, k)| (t, k.to_string())))
//!             .count_by_key_and_window(WindowSpec::tumbling(Duration::from_millis(200)))
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let mut out = out.take();
//! out.sort();
//! assert_eq!(out, vec![(200, "a".to_string(), 2), (400, "b".to_string(), 1)]);
//! ```

use std::collections::BTreeMap;
use std::hash::Hash;

use serde::Serialize;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;

use super::WindowSpec;
use crate::checkpointed::{At, Checkpointed, CheckpointedOperator, Frontiers, Saving};
use crate::hash::{new_map, worker_of, HashMap};
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// Keyed window aggregations.
pub trait Windowed<'scope, K: Data + Hash + Eq>: Sized {
    /// Each key's number of records in each window, as `(window end, key, count)`, emitted at
    /// the window's end once the frontier has passed it; windows without records emit nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_timed_sorted};
    /// // (timestamp, key): per second, each key's count as (window end, key, count).
    /// let keys = vec![(100, 'a'), (900, 'a'), (1500, 'a'), (1500, 'b')];
    /// let second = WindowSpec::tumbling(Duration::from_secs(1));
    /// let out = run_timed_sorted(2, keys, move |s| s.count_by_key_and_window(second)).unwrap();
    /// assert_eq!(out, vec![(1000, 'a', 2), (2000, 'a', 1), (2000, 'b', 1)]);
    /// ```
    fn count_by_key_and_window(self, spec: WindowSpec) -> Stream<'scope, (Time, K, u64)>;
}

impl<'scope, K: Data + Hash + Eq> Windowed<'scope, K> for Stream<'scope, K> {
    fn count_by_key_and_window(self, spec: WindowSpec) -> Stream<'scope, (Time, K, u64)> {
        let peers = self.scope().peers();
        let pact = Exchange::new(move |k: &K| worker_of(k, peers));
        self.checkpointed_unary(pact, "CountByKeyAndWindow", move |initial, gate| {
            // The open windows by end, each with the capability to emit it at its end.
            let mut open: Open<K> = BTreeMap::new();
            for (end, counts) in gate
                .restore_rescaled::<Vec<(Time, Vec<(K, u64)>)>>()
                .unwrap_or_default()
            {
                open.insert(end, (initial.delayed(&end), counts.into_iter().collect()));
            }
            WindowCounts { spec, open }
        })
    }
}

/// Open windows by end: the capability to emit each at its end, and its counts.
type Open<K> = BTreeMap<Time, (Capability<Time>, HashMap<K, u64>)>;

/// The open windows of one worker.
struct WindowCounts<K> {
    spec: WindowSpec,
    open: Open<K>,
}

impl<'a, K: Data + Hash + Eq> Checkpointed<OutputSession<'a, (Time, K, u64)>> for WindowCounts<K> {
    type Record = K;

    fn apply(
        &mut self,
        at: &At<'_>,
        records: impl Iterator<Item = K>,
        _: &mut OutputSession<'a, (Time, K, u64)>,
    ) {
        let records: Vec<K> = records.collect();
        count_into(&mut self.open, self.spec, at.time(), &records, |end| {
            at.delayed(&end, 0)
        });
    }

    /// Windows ending before the epoch emit their results before it, so they are not saved in
    /// it. A window ending *at* the epoch emits at the epoch, on the far side of the cut: it is
    /// saved, and re-emitted after a restore (the sink writes the epoch from the epoch on
    /// again). After the input's end, all of them.
    fn close_before(&mut self, saving: &Saving<'_>, out: &mut OutputSession<'a, (Time, K, u64)>) {
        emit(take_closed(&mut self.open, |end| saving.closes(end)), out);
    }

    fn image(&self) -> impl Serialize + '_ {
        self.open
            .iter()
            .map(|(end, (_, counts))| (*end, counts.iter().collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    }

    fn on_frontier(
        &mut self,
        frontiers: &Frontiers<'_>,
        out: &mut OutputSession<'a, (Time, K, u64)>,
    ) {
        let frontier = frontiers.all();
        emit(
            take_closed(&mut self.open, |end| !frontier.less_than(&end)),
            out,
        );
    }
}

/// Emits closed windows' counts at their ends.
fn emit<K: Data>(closed: Open<K>, out: &mut OutputSession<'_, (Time, K, u64)>) {
    for (end, (cap, counts)) in closed {
        out.session(&cap)
            .give_iterator(counts.into_iter().map(|(k, n)| (end, k, n)));
    }
}

/// Removes the windows whose end is `closed`, in order of end.
fn take_closed<K>(open: &mut Open<K>, closed: impl Fn(Time) -> bool) -> Open<K> {
    let first_open = open.keys().copied().find(|&end| !closed(end));
    match first_open {
        Some(end) => {
            let still_open = open.split_off(&end);
            std::mem::replace(open, still_open)
        }
        None => std::mem::take(open),
    }
}

/// Counts `records`, which arrived at time `t`, into the windows containing `t`; a window
/// opened here gets its capability from `at(end)`.
fn count_into<K: Data + Hash + Eq>(
    open: &mut Open<K>,
    spec: WindowSpec,
    t: Time,
    records: &[K],
    at: impl Fn(Time) -> Capability<Time>,
) {
    for end in spec.ends_containing(t) {
        let (_, counts) = open.entry(end).or_insert_with(|| (at(end), new_map()));
        for k in records {
            *counts.entry(k.clone()).or_default() += 1;
        }
    }
}
