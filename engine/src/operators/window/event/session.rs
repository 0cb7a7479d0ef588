//! Session windows: a key's run of events less than `gap` apart, closing `gap` after its last
//! event. A new event within `gap` of two sessions merges them, so sessions have no fixed
//! bounds; their accumulators merge too (Flink's merging windows).
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_window::SessionAggregates;
//! # fn f<'s>(clicks: Stream<'s, (String, Time, u64)>) {
//! // (user, time, cents) -> spending per visit; a visit ends after 30 minutes without a click
//! let (visits, _late) = clicks.aggregate_by_session(
//!     30 * 60 * 1000,
//!     0,
//!     |spent: &mut u64, cents| *spent += cents,
//!     |spent, other| *spent += other,
//! );
//! # }
//! ```

use std::collections::BTreeMap;
use std::hash::Hash;

use serde::Serialize;
use timely::dataflow::operators::Capability;

use super::{Late, WindowAggregate, WindowCount};
use crate::checkpointed::{keyed_windows, At, Checkpointed, Frontiers, Saving, WindowOutputs};
use crate::hash::{new_map, HashMap};
use crate::operators::stateless::Stateless;
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// One key's open session.
struct Session<A> {
    /// The last event time plus the gap: where the session closes.
    end: Time,
    acc: A,
    /// Held until the session fires (at its end).
    capability: Option<Capability<Time>>,
}

/// Counting events per session on `(key, event time)` streams.
pub trait SessionWindows<'scope, K: Data + Hash + Eq>: Sized {
    /// Each key's count per session, emitted when the watermark passes the session's end, as a
    /// [`WindowCount`] from the session's first event to its end. Lateness works as for
    /// [time windows](super): an allowed late event updates (or merges into) a fired session
    /// and the new count is emitted as an update; an event whose session would already be past
    /// `end + lateness` goes to the late output. `gap` and `lateness` are in ms.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, event time) -> sessions closed by 10 ms of inactivity: (key, start, end, count)
    /// let clicks = vec![('a', 0u64), ('a', 5), ('a', 30), ('b', 7)];
    /// let out = run_sorted(2, clicks, |s| {
    ///     let s = s.with_event_time(|(_, t)| *t, Watermarks::ascending());
    ///     s.count_by_session(10, 0)
    ///         .0
    ///         .map(|w| (w.key, w.start, w.end, w.count))
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![('a', 0, 15, 2), ('a', 30, 40, 1), ('b', 7, 17, 1)]
    /// );
    /// ```
    #[allow(clippy::type_complexity)]
    fn count_by_session(
        self,
        gap: Time,
        lateness: Time,
    ) -> (Stream<'scope, WindowCount<K>>, Stream<'scope, (K, Time)>);
}

impl<'scope, K: Data + Hash + Eq> SessionWindows<'scope, K> for Stream<'scope, (K, Time)> {
    fn count_by_session(
        self,
        gap: Time,
        lateness: Time,
    ) -> (Stream<'scope, WindowCount<K>>, Stream<'scope, (K, Time)>) {
        let (counts, late) = self
            .map(|(key, time)| (key, time, ()))
            .aggregate_by_session(
                gap,
                lateness,
                |count: &mut u64, _| *count += 1,
                |count, other| *count += other,
            );
        (
            counts.map(WindowCount::from),
            late.map(|(key, time, ())| (key, time)),
        )
    }
}

/// Aggregating per session on `(key, event time, value)` streams.
pub trait SessionAggregates<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Each key's aggregate per session: `add` folds each value into its session's accumulator
    /// (starting at `A::default()`), and `merge` folds one session's accumulator into another's
    /// when an event joins them; `merge` must agree with `add` in any order (as Flink's
    /// `AggregateFunction::merge`). Firing and lateness as in
    /// [`count_by_session`](SessionWindows::count_by_session), which is this with a counter.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, event time, amount) -> each session's total
    /// let spends = vec![('a', 0u64, 3u64), ('a', 5, 4), ('a', 30, 1)];
    /// let out = run_sorted(2, spends, |s| {
    ///     let s = s.with_event_time(|(_, t, _)| *t, Watermarks::ascending());
    ///     let (totals, _late) = s.aggregate_by_session(
    ///         10,
    ///         0,
    ///         |sum: &mut u64, v| *sum += v,
    ///         |sum, other| *sum += other,
    ///     );
    ///     totals.map(|w| (w.key, w.start, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', 0, 7), ('a', 30, 1)]);
    /// ```
    fn aggregate_by_session<A: Data + Default>(
        self,
        gap: Time,
        lateness: Time,
        add: impl Fn(&mut A, &V) + 'static,
        merge: impl Fn(&mut A, A) + 'static,
    ) -> (Stream<'scope, WindowAggregate<K, A>>, Late<'scope, K, V>);
}

impl<'scope, K: Data + Hash + Eq, V: Data> SessionAggregates<'scope, K, V>
    for Stream<'scope, (K, Time, V)>
{
    fn aggregate_by_session<A: Data + Default>(
        self,
        gap: Time,
        lateness: Time,
        add: impl Fn(&mut A, &V) + 'static,
        merge: impl Fn(&mut A, A) + 'static,
    ) -> (Stream<'scope, WindowAggregate<K, A>>, Late<'scope, K, V>) {
        let gap = gap.max(1);
        let mut sessions = Sessions {
            gap,
            lateness,
            add,
            merge,
            open: new_map(),
            updates: Vec::new(),
            too_late: Vec::new(),
        };
        keyed_windows(self, "AggregateBySession", move |initial, gate| {
            let saved: Saved<K, A> = gate.restore_keyed().unwrap_or_default();
            for (key, saved) in saved {
                let open = saved.into_iter().map(|(start, end, acc, fired)| {
                    let capability = (!fired).then(|| initial.delayed(&end));
                    (
                        start,
                        Session {
                            end,
                            acc,
                            capability,
                        },
                    )
                });
                sessions.open.insert(key, open.collect());
            }
            sessions
        })
    }
}

impl<'a, K, V, A, F, M> Checkpointed<WindowOutputs<'a, WindowAggregate<K, A>, K, V>>
    for Sessions<K, V, A, F, M>
where
    K: Data + Hash + Eq,
    V: Data,
    A: Data + Default,
    F: Fn(&mut A, &V),
    M: Fn(&mut A, A),
{
    type Record = (K, Time, V);

    fn apply(
        &mut self,
        at: &At<'_>,
        records: impl Iterator<Item = (K, Time, V)>,
        (results, late): &mut WindowOutputs<'a, WindowAggregate<K, A>, K, V>,
    ) {
        self.add_all(at.time(), records, |end| at.delayed(&end, 0));
        results.session(at).give_container(&mut self.updates);
        late.session(at).give_container(&mut self.too_late);
    }

    /// Sessions ending before the epoch fire before it is saved; after the input's end, all
    /// of them.
    fn close_before(
        &mut self,
        saving: &Saving<'_>,
        (results, _): &mut WindowOutputs<'a, WindowAggregate<K, A>, K, V>,
    ) {
        self.fire(results, |end| saving.closes(end));
    }

    fn image(&self) -> impl Serialize + '_ {
        self.open
            .iter()
            .map(|(key, open)| {
                let open: Vec<_> = open
                    .iter()
                    .map(|(start, s)| (*start, s.end, &s.acc, s.capability.is_none()))
                    .collect();
                (key, open)
            })
            .collect::<Vec<_>>()
    }

    /// Fires the sessions the watermark has passed; frees those past their lateness.
    fn on_frontier(
        &mut self,
        frontiers: &Frontiers<'_>,
        (results, _): &mut WindowOutputs<'a, WindowAggregate<K, A>, K, V>,
    ) {
        let frontier = frontiers.all();
        self.fire(results, |end| !frontier.less_than(&end));
        let lateness = self.lateness;
        for open in self.open.values_mut() {
            open.retain(|_, s| s.capability.is_some() || frontier.less_than(&(s.end + lateness)));
        }
        self.open.retain(|_, open| !open.is_empty());
    }

    fn state_entries(&self) -> Option<usize> {
        Some(self.open.values().map(BTreeMap::len).sum())
    }
}

/// The sessions as checkpointed: per key, each open session's start, end, accumulator, and
/// whether it has fired.
type Saved<K, A> = Vec<(K, Vec<(Time, Time, A, bool)>)>;

/// The open sessions of one worker, and how events join them.
struct Sessions<K, V, A, F, M> {
    gap: Time,
    lateness: Time,
    add: F,
    merge: M,
    /// Per key, the open sessions by start time; they never overlap.
    open: HashMap<K, BTreeMap<Time, Session<A>>>,
    /// The updates of fired sessions, and the events too late for theirs, to emit.
    updates: Vec<WindowAggregate<K, A>>,
    too_late: Vec<(K, Time, V)>,
}

impl<K: Data + Hash + Eq, V, A: Data + Default, F, M> Sessions<K, V, A, F, M> {
    /// Adds `records`, stamped `t`, to their sessions, merging those an event joins; a fired
    /// session's new aggregate goes to `updates`, an event too late for its session to
    /// `too_late`. `cap_at(end)` holds a new session open until its end.
    fn add_all(
        &mut self,
        t: Time,
        records: impl Iterator<Item = (K, Time, V)>,
        cap_at: impl Fn(Time) -> Capability<Time>,
    ) where
        F: Fn(&mut A, &V),
        M: Fn(&mut A, A),
    {
        let gap = self.gap;
        for (key, event_time, value) in records {
            let open = self.open.entry(key.clone()).or_default();
            // The sessions this event touches: those overlapping [e, e + gap).
            let touching: Vec<Time> = open
                .range(..event_time + gap)
                .filter(|(_, s)| s.end > event_time)
                .map(|(start, _)| *start)
                .collect();
            let start = touching.first().map_or(event_time, |s| event_time.min(*s));
            let end = touching
                .iter()
                .map(|s| open[s].end)
                .fold(event_time + gap, Time::max);
            if t >= end + self.lateness {
                self.too_late.push((key, event_time, value));
                continue;
            }
            let mut merged = Session {
                end,
                acc: A::default(),
                capability: None,
            };
            (self.add)(&mut merged.acc, &value);
            let mut fired = t >= end;
            for s in touching {
                let old = open.remove(&s).expect("a session just found");
                (self.merge)(&mut merged.acc, old.acc);
                fired |= old.capability.is_none();
            }
            if fired {
                self.updates.push(WindowAggregate {
                    end,
                    start,
                    key: key.clone(),
                    value: merged.acc.clone(),
                    update: true,
                });
            } else {
                merged.capability = Some(cap_at(end));
            }
            open.insert(start, merged);
        }
    }

    /// Fires the sessions not yet fired whose end `due` says has come.
    fn fire(
        &mut self,
        out: &mut OutputSession<'_, WindowAggregate<K, A>>,
        due: impl Fn(Time) -> bool,
    ) {
        for (key, open) in self.open.iter_mut() {
            for (&start, session) in open.iter_mut() {
                if !due(session.end) {
                    continue;
                }
                if let Some(capability) = session.capability.take() {
                    out.session(&capability).give(WindowAggregate {
                        end: session.end,
                        start,
                        key: key.clone(),
                        value: session.acc.clone(),
                        update: false,
                    });
                }
            }
        }
    }
}
