//! Tumbling and sliding event-time windows with an incremental aggregate: each record is folded
//! into its windows' accumulators as it arrives, and nothing else is kept (Flink's
//! `AggregateFunction`). Counting is the aggregate that adds one.

use std::collections::BTreeMap;
use std::hash::Hash;

use serde::Serialize;
use timely::dataflow::operators::Capability;

use super::{Late, WindowAggregate, WindowCount};
use crate::checkpointed::{keyed_windows, At, Checkpointed, Frontiers, Saving, WindowOutputs};
use crate::hash::{new_map, HashMap};
use crate::operators::stateless::Stateless;
use crate::operators::window::WindowSpec;
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// A window's state on one worker.
struct Window<K, A> {
    /// Held until the window fires (at its end).
    capability: Option<Capability<Time>>,
    values: HashMap<K, A>,
}

/// Event-time window aggregations on `(key, event time)` streams.
pub trait EventWindows<'scope, K: Data + Hash + Eq>: Sized {
    /// Each key's count per window, and the records too late for all their windows; see the
    /// module docs. `lateness` is in ms.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, event time) -> per key and second: (key, window start, count)
    /// let clicks = vec![('a', 100u64), ('b', 200), ('a', 900), ('a', 1500)];
    /// let out = run_sorted(2, clicks, |s| {
    ///     let s = s.with_event_time(|(_, t)| *t, Watermarks::ascending());
    ///     let (counts, _late) =
    ///         s.count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 0);
    ///     counts.map(|w| (w.key, w.start, w.count))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', 0, 2), ('a', 1000, 1), ('b', 0, 1)]);
    /// ```
    #[allow(clippy::type_complexity)]
    fn count_by_event_window(
        self,
        spec: WindowSpec,
        lateness: Time,
    ) -> (Stream<'scope, WindowCount<K>>, Stream<'scope, (K, Time)>);
}

impl<'scope, K: Data + Hash + Eq> EventWindows<'scope, K> for Stream<'scope, (K, Time)> {
    fn count_by_event_window(
        self,
        spec: WindowSpec,
        lateness: Time,
    ) -> (Stream<'scope, WindowCount<K>>, Stream<'scope, (K, Time)>) {
        let (counts, late) = self
            .map(|(key, time)| (key, time, ()))
            .aggregate_by_event_window(spec, lateness, |count: &mut u64, _| *count += 1);
        (
            counts.map(WindowCount::from),
            late.map(|(key, time, ())| (key, time)),
        )
    }
}

/// Incremental event-time window aggregations on `(key, event time, value)` streams.
pub trait EventWindowAggregates<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Each key's aggregate per window: `add` folds each value into an accumulator that starts
    /// at `A::default()`, as it arrives (nothing is buffered but the accumulator, as Flink's
    /// incremental `AggregateFunction`). Firing, lateness, updates and the late output work as
    /// in [`count_by_event_window`](EventWindows::count_by_event_window), which is this with a
    /// counter.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (sensor, time, reading) -> per sensor and minute: (sum, count)
    /// let readings = vec![('s', 1_000u64, 2.0), ('s', 2_000, 4.0), ('s', 61_000, 1.0)];
    /// let out = run_sorted(2, readings, |s| {
    ///     let s = s.with_event_time(|(_, t, _)| *t, Watermarks::ascending());
    ///     let (sums, _late) = s.aggregate_by_event_window(
    ///         WindowSpec::tumbling(Duration::from_secs(60)),
    ///         0,
    ///         |acc: &mut (u64, u64), reading| {
    ///             acc.0 += *reading as u64;
    ///             acc.1 += 1
    ///         },
    ///     );
    ///     sums.map(|w| (w.start, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![(0, (6, 2)), (60_000, (1, 1))]);
    /// ```
    #[allow(clippy::type_complexity)]
    fn aggregate_by_event_window<A: Data + Default>(
        self,
        spec: WindowSpec,
        lateness: Time,
        add: impl Fn(&mut A, &V) + 'static,
    ) -> (Stream<'scope, WindowAggregate<K, A>>, Late<'scope, K, V>);
}

impl<'scope, K: Data + Hash + Eq, V: Data> EventWindowAggregates<'scope, K, V>
    for Stream<'scope, (K, Time, V)>
{
    fn aggregate_by_event_window<A: Data + Default>(
        self,
        spec: WindowSpec,
        lateness: Time,
        add: impl Fn(&mut A, &V) + 'static,
    ) -> (Stream<'scope, WindowAggregate<K, A>>, Late<'scope, K, V>) {
        let fold = Fold {
            spec,
            lateness,
            add,
        };
        keyed_windows(self, "AggregateByEventWindow", move |initial, gate| {
            let mut windows: BTreeMap<Time, Window<K, A>> = BTreeMap::new();
            for (end, fired, values) in gate.restore_rescaled::<Saved<K, A>>().unwrap_or_default() {
                let capability = (!fired).then(|| initial.delayed(&end));
                let values = values.into_iter().collect();
                windows.insert(end, Window { capability, values });
            }
            Aggregates {
                fold,
                windows,
                updates: Vec::new(),
                too_late: Vec::new(),
            }
        })
    }
}

/// One worker's windows, and how records fold into them.
struct Aggregates<K, V, A, F> {
    fold: Fold<F>,
    windows: BTreeMap<Time, Window<K, A>>,
    updates: Vec<WindowAggregate<K, A>>,
    too_late: Vec<(K, Time, V)>,
}

impl<'a, K, V, A, F> Checkpointed<WindowOutputs<'a, WindowAggregate<K, A>, K, V>>
    for Aggregates<K, V, A, F>
where
    K: Data + Hash + Eq,
    V: Data,
    A: Data + Default,
    F: Fn(&mut A, &V),
{
    type Record = (K, Time, V);

    fn apply(
        &mut self,
        at: &At<'_>,
        records: impl Iterator<Item = (K, Time, V)>,
        (results, late): &mut WindowOutputs<'a, WindowAggregate<K, A>, K, V>,
    ) {
        let (updates, too_late) = (&mut self.updates, &mut self.too_late);
        let window_cap = |end| at.delayed(&end, 0);
        let t = at.time();
        self.fold
            .apply(&mut self.windows, t, records, window_cap, updates, too_late);
        results.session(at).give_container(updates);
        late.session(at).give_container(too_late);
    }

    /// Windows ending before the epoch fire before it is saved (see `count_by_key_and_window`);
    /// after the input's end, all of them.
    fn close_before(
        &mut self,
        saving: &Saving<'_>,
        (results, _): &mut WindowOutputs<'a, WindowAggregate<K, A>, K, V>,
    ) {
        fire(&mut self.windows, results, self.fold.spec, |end| {
            saving.closes(end)
        });
    }

    fn image(&self) -> impl Serialize + '_ {
        self.windows
            .iter()
            .map(|(end, w)| {
                let values: Vec<(&K, &A)> = w.values.iter().collect();
                (*end, w.capability.is_none(), values)
            })
            .collect::<Vec<_>>()
    }

    /// Fires the windows the watermark has reached; frees those past their lateness.
    fn on_frontier(
        &mut self,
        frontiers: &Frontiers<'_>,
        (results, _): &mut WindowOutputs<'a, WindowAggregate<K, A>, K, V>,
    ) {
        let frontier = frontiers.all();
        fire(&mut self.windows, results, self.fold.spec, |end| {
            !frontier.less_than(&end)
        });
        let lateness = self.fold.lateness;
        self.windows
            .retain(|&end, w| w.capability.is_some() || frontier.less_than(&(end + lateness)));
    }

    fn state_entries(&self) -> Option<usize> {
        Some(self.windows.values().map(|w| w.values.len()).sum())
    }
}

/// The windows as checkpointed: end, whether fired, and each key's accumulator.
type Saved<K, A> = Vec<(Time, bool, Vec<(K, A)>)>;

/// How records fold into their windows.
struct Fold<F> {
    spec: WindowSpec,
    lateness: Time,
    add: F,
}

impl<F> Fold<F> {
    /// Folds `records`, stamped `t`, into their windows (opened with `window_cap(end)`); the
    /// updates of windows that already fired go to `updates`, records too late for all their
    /// windows to `too_late`.
    fn apply<K: Data + Hash + Eq, V, A: Data + Default>(
        &self,
        windows: &mut BTreeMap<Time, Window<K, A>>,
        t: Time,
        records: impl Iterator<Item = (K, Time, V)>,
        window_cap: impl Fn(Time) -> Capability<Time>,
        updates: &mut Vec<WindowAggregate<K, A>>,
        too_late: &mut Vec<(K, Time, V)>,
    ) where
        F: Fn(&mut A, &V),
    {
        for (key, event_time, value) in records {
            let mut accepted = false;
            for end in self.spec.ends_containing(event_time) {
                if t >= end + self.lateness {
                    continue; // too late for this window
                }
                accepted = true;
                let window = windows.entry(end).or_insert_with(|| Window {
                    capability: (t < end).then(|| window_cap(end)),
                    values: new_map(),
                });
                let acc = window.values.entry(key.clone()).or_default();
                (self.add)(acc, &value);
                if window.capability.is_none() {
                    updates.push(WindowAggregate {
                        end,
                        start: end.saturating_sub(self.spec.length()),
                        key: key.clone(),
                        value: acc.clone(),
                        update: true,
                    });
                }
            }
            if !accepted {
                too_late.push((key, event_time, value));
            }
        }
    }
}

/// Fires the windows not yet fired whose end `due` says has come, in order of end.
fn fire<K: Data, A: Data>(
    windows: &mut BTreeMap<Time, Window<K, A>>,
    results: &mut OutputSession<'_, WindowAggregate<K, A>>,
    spec: WindowSpec,
    due: impl Fn(Time) -> bool,
) {
    for (&end, window) in windows.range_mut(..) {
        if !due(end) {
            break;
        }
        if let Some(capability) = window.capability.take() {
            results
                .session(&capability)
                .give_iterator(window.values.iter().map(|(key, value)| WindowAggregate {
                    end,
                    start: end.saturating_sub(spec.length()),
                    key: key.clone(),
                    value: value.clone(),
                    update: false,
                }));
        }
    }
}
