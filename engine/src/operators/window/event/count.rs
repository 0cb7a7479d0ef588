//! Count windows: a key's records grouped by number rather than by time (Flink's
//! `countWindow(size, slide)`): every `slide` records of a key, a window of its last `size`
//! records fires (fewer at the very start when `slide < size`; exactly `size` when tumbling).
//!
//! Flink counts records in arrival order, so its count windows change with the arrival order.
//! Sluice counts them in **event-time order**: a key's records are held until the watermark
//! passes them and then taken in event-time order, so the windows are the same for any
//! arrival order within the watermark's bound and any worker count. A window is emitted at its
//! last record's event time. A record already behind the watermark when it arrives can no
//! longer take its place in the order and goes to the late output (count windows have no
//! allowed lateness). A key's records that never complete a window are not emitted, as in
//! Flink.
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_window::CountWindows;
//! # fn f<'s>(readings: Stream<'s, (String, Time, f64)>) {
//! // (sensor, time, reading) -> the average of every 100 readings of each sensor
//! let (windows, _late) = readings.window_by_count(100, 100);
//! let averages = windows.map(|w| {
//!     let sum: f64 = w.value.iter().map(|(_, r)| r).sum();
//!     (w.key, w.end, sum / w.value.len() as f64)
//! });
//! # }
//! ```

use std::collections::VecDeque;
use std::hash::Hash;

use serde::Serialize;
use timely::dataflow::operators::Capability;

use super::{Late, WindowAggregate};
use crate::checkpointed::{keyed_windows, At, Checkpointed, Frontiers, Saving, WindowOutputs};
use crate::hash::{new_map, HashMap};
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// One key's records on one worker.
struct KeyState<V> {
    /// Records the watermark has not passed yet, in arrival order.
    pending: Vec<(Time, V)>,
    /// The last records taken in event-time order, at most `size` of them.
    recent: VecDeque<(Time, V)>,
    /// Records taken since the last firing.
    since_firing: usize,
}

impl<V> Default for KeyState<V> {
    fn default() -> Self {
        KeyState {
            pending: Vec::new(),
            recent: VecDeque::new(),
            since_firing: 0,
        }
    }
}

/// Count windows on `(key, event time, value)` streams.
pub trait CountWindows<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Every `slide` records of a key, the window of its last `size` records as `(event time,
    /// value)` in event-time order, from the first record's time to just after the last's; and
    /// the records late on arrival. See the module docs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, event time, value) -> every 2 records of a key, its last 2, in event-time order.
    /// let events = vec![('a', 20u64, 'y'), ('a', 10, 'x'), ('b', 30, 'w')];
    /// let out = run_sorted(2, events, |s| {
    ///     let s = s.with_event_time(|(_, t, _)| *t, Watermarks::ascending());
    ///     s.window_by_count(2, 2).0.map(|w| (w.key, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', vec![(10, 'x'), (20, 'y')])]);
    /// ```
    #[allow(clippy::type_complexity)]
    fn window_by_count(
        self,
        size: usize,
        slide: usize,
    ) -> (
        Stream<'scope, WindowAggregate<K, Vec<(Time, V)>>>,
        Late<'scope, K, V>,
    );
}

impl<'scope, K: Data + Hash + Eq, V: Data> CountWindows<'scope, K, V>
    for Stream<'scope, (K, Time, V)>
{
    fn window_by_count(
        self,
        size: usize,
        slide: usize,
    ) -> (
        Stream<'scope, WindowAggregate<K, Vec<(Time, V)>>>,
        Late<'scope, K, V>,
    ) {
        let (size, slide) = (size.max(1), slide.max(1));
        keyed_windows(self, "WindowByCount", move |initial, gate| {
            let mut windows = Counting::<K, V> {
                size,
                slide,
                keys: new_map(),
                held: None,
            };
            let saved: Saved<K, V> = gate.restore_keyed().unwrap_or_default();
            for (key, (pending, recent, since_firing)) in saved {
                if let Some(t) = pending.iter().map(|(t, _)| *t).min() {
                    let earliest = windows.held.as_ref().map_or(t, |h| t.min(*h.time()));
                    windows.held = Some(initial.delayed(&earliest));
                }
                let recent = recent.into();
                let state = KeyState {
                    pending,
                    recent,
                    since_firing,
                };
                windows.keys.insert(key, state);
            }
            windows
        })
    }
}

/// What a count window emits.
type CountWindow<K, V> = WindowAggregate<K, Vec<(Time, V)>>;

impl<'a, K: Data + Hash + Eq, V: Data> Checkpointed<WindowOutputs<'a, CountWindow<K, V>, K, V>>
    for Counting<K, V>
{
    type Record = (K, Time, V);

    fn apply(
        &mut self,
        at: &At<'_>,
        records: impl Iterator<Item = (K, Time, V)>,
        (_, late): &mut WindowOutputs<'a, CountWindow<K, V>, K, V>,
    ) {
        let mut too_late = Vec::new();
        let t = at.time();
        self.take(t, records, || at.delayed(&t, 0), &mut too_late);
        late.session(at).give_container(&mut too_late);
    }

    /// Records before the epoch are taken before it is saved (their windows come out before
    /// it); the rest are saved pending. After the end, all.
    fn close_before(
        &mut self,
        saving: &Saving<'_>,
        (windows, _): &mut WindowOutputs<'a, CountWindow<K, V>, K, V>,
    ) {
        self.fire(windows, |t| saving.closes(t));
    }

    fn image(&self) -> impl Serialize + '_ {
        self.keys
            .iter()
            .map(|(k, s)| (k, (&s.pending, &s.recent, s.since_firing)))
            .collect::<Vec<_>>()
    }

    /// Takes, per key and in event-time order, the records the watermark has passed.
    fn on_frontier(
        &mut self,
        frontiers: &Frontiers<'_>,
        (windows, _): &mut WindowOutputs<'a, CountWindow<K, V>, K, V>,
    ) {
        let frontier = frontiers.all();
        self.fire(windows, |t| !frontier.less_equal(&t));
    }

    fn state_entries(&self) -> Option<usize> {
        let entries = self.keys.values().map(|s| s.pending.len() + s.recent.len());
        Some(entries.sum())
    }
}

/// The keys as checkpointed: pending records, recent records, records since the last firing.
type Saved<K, V> = Vec<(K, (Vec<(Time, V)>, Vec<(Time, V)>, usize))>;

/// The count windows of one worker.
struct Counting<K, V> {
    size: usize,
    slide: usize,
    keys: HashMap<K, KeyState<V>>,
    /// Held at the earliest pending record's time: windows are emitted at or after it.
    held: Option<Capability<Time>>,
}

impl<K: Data + Hash + Eq, V: Data> Counting<K, V> {
    /// Takes in `records` stamped `t` (`cap` makes a capability at `t`); those already behind
    /// the watermark go to `too_late`.
    fn take(
        &mut self,
        t: Time,
        records: impl Iterator<Item = (K, Time, V)>,
        cap: impl Fn() -> Capability<Time>,
        too_late: &mut Vec<(K, Time, V)>,
    ) {
        for (key, event_time, value) in records {
            if event_time < t {
                too_late.push((key, event_time, value)); // behind the watermark
            } else {
                let state = self.keys.entry(key).or_default();
                state.pending.push((event_time, value));
                if self.held.as_ref().is_none_or(|h| t < *h.time()) {
                    self.held = Some(cap());
                }
            }
        }
    }

    /// Takes each key's pending records whose time `ready` says has come, in event-time order,
    /// and emits the windows they complete.
    fn fire(
        &mut self,
        out: &mut OutputSession<'_, WindowAggregate<K, Vec<(Time, V)>>>,
        ready: impl Fn(Time) -> bool,
    ) {
        let (size, slide) = (self.size, self.slide);
        let mut earliest_pending: Option<Time> = None;
        for (key, state) in self.keys.iter_mut() {
            let (mut taken, waiting): (Vec<_>, Vec<_>) =
                state.pending.drain(..).partition(|(t, _)| ready(*t));
            state.pending = waiting;
            if let Some(t) = state.pending.iter().map(|(t, _)| *t).min() {
                earliest_pending = Some(earliest_pending.map_or(t, |e| e.min(t)));
            }
            taken.sort_by_key(|(t, _)| *t);
            for record in taken {
                state.recent.push_back(record);
                if state.recent.len() > size {
                    state.recent.pop_front();
                }
                state.since_firing += 1;
                if state.since_firing < slide {
                    continue;
                }
                state.since_firing = 0;
                let values: Vec<(Time, V)> = state.recent.iter().cloned().collect();
                let (start, last) = (values[0].0, values[values.len() - 1].0);
                let at = self.held.as_ref().expect("held while records are pending");
                out.session(&at.delayed(&last)).give(WindowAggregate {
                    end: last + 1,
                    start,
                    key: key.clone(),
                    value: values,
                    update: false,
                });
                // Only the last `size − slide` records can be in a later window.
                while state.recent.len() > size.saturating_sub(slide) {
                    state.recent.pop_front();
                }
            }
        }
        self.keys
            .retain(|_, s| !s.pending.is_empty() || !s.recent.is_empty());
        match (earliest_pending, self.held.as_mut()) {
            (Some(t), Some(h)) => h.downgrade(&t),
            _ => self.held = None,
        }
    }
}
