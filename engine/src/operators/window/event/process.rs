//! Full-window functions: when a function needs all of a window's records at once (a median,
//! a sort, a pattern over the sequence), the window buffers them and the function runs when the
//! window fires (Flink's `ProcessWindowFunction`). It is an aggregate whose accumulator is the
//! buffer, so firing, lateness and updates are exactly those of
//! [`aggregate_by_event_window`](super::EventWindowAggregates::aggregate_by_event_window).
//!
//! The function sees the records sorted by event time, so its result does not depend on arrival
//! order (records with equal event times stay in arrival order).
//!
//! Co-grouping applies one function to two streams' records of the same key and window; window
//! joins ([`WindowJoin`](crate::operators::join::WindowJoin)) are co-groups.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_window::ProcessWindows;
//! # fn f<'s>(readings: Stream<'s, (String, Time, u64)>) {
//! // (sensor, time, reading) -> each sensor's median reading per minute
//! let (medians, _late) = readings.process_event_window(
//!     WindowSpec::tumbling(Duration::from_secs(60)),
//!     0,
//!     |_sensor, _window, readings| {
//!         let mut values: Vec<u64> = readings.into_iter().map(|(_, r)| r).collect();
//!         values.sort();
//!         values[values.len() / 2]
//!     },
//! );
//! # }
//! ```

use std::hash::Hash;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{EventWindowAggregates, Late, WindowAggregate};
use crate::operators::stateless::Stateless;
use crate::operators::window::WindowSpec;
use crate::stream::{Data, Stream};
use crate::time::Time;

/// Full-window functions on `(key, event time, value)` streams.
pub trait ProcessWindows<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Each key's result per window: `f(key, start..end, records)` over the window's records
    /// as `(event time, value)`, in event-time order; see the module docs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, event time, value) -> per key and second: the values in event-time order
    /// let events = vec![('a', 900u64, 'y'), ('a', 100, 'x'), ('a', 1200, 'z')];
    /// let out = run_sorted(2, events, |s| {
    ///     let s = s.with_event_time(|(_, t, _)| *t, Watermarks::ascending());
    ///     let second = WindowSpec::tumbling(Duration::from_secs(1));
    ///     let (windows, _late) = s.process_event_window(second, 0, |_, _, records| {
    ///         records.into_iter().map(|(_, v)| v).collect::<String>()
    ///     });
    ///     windows.map(|w| (w.start, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![(0, "xy".to_string()), (1000, "z".to_string())]);
    /// ```
    fn process_event_window<O: 'static>(
        self,
        spec: WindowSpec,
        lateness: Time,
        f: impl Fn(&K, Range<Time>, Vec<(Time, V)>) -> O + 'static,
    ) -> (Stream<'scope, WindowAggregate<K, O>>, Late<'scope, K, V>);
}

impl<'scope, K: Data + Hash + Eq, V: Data> ProcessWindows<'scope, K, V>
    for Stream<'scope, (K, Time, V)>
{
    fn process_event_window<O: 'static>(
        self,
        spec: WindowSpec,
        lateness: Time,
        f: impl Fn(&K, Range<Time>, Vec<(Time, V)>) -> O + 'static,
    ) -> (Stream<'scope, WindowAggregate<K, O>>, Late<'scope, K, V>) {
        let (buffers, late) = self
            .map(|(k, t, v)| (k, t, (t, v)))
            .aggregate_by_event_window(spec, lateness, |buffer: &mut Vec<(Time, V)>, record| {
                buffer.push(record.clone())
            });
        let results = buffers.map(move |mut w| {
            w.value.sort_by_key(|(t, _)| *t);
            WindowAggregate {
                value: f(&w.key, w.start..w.end, w.value),
                end: w.end,
                start: w.start,
                key: w.key,
                update: w.update,
            }
        });
        (results, late.map(|(k, t, (_, v))| (k, t, v)))
    }
}

/// A record of the left or the right stream of a co-group.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Side<A, B> {
    Left(A),
    Right(B),
}

/// Co-grouping two `(key, event time, value)` streams per key and window.
pub trait CoGroupWindows<'scope, K: Data + Hash + Eq, A: Data>: Sized {
    /// For each key and window holding records of either stream, `f(key, lefts, rights)` over
    /// both streams' records in the window, each as `(event time, value)` in event-time order;
    /// either side may be empty. Firing, lateness and updates as in
    /// [`process_event_window`](ProcessWindows::process_event_window); the records too late
    /// for all their windows come out of the second (left) and third (right) streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_two_sorted};
    /// // Per key and second: (left records, right records).
    /// let left = vec![(0, ('a', 100u64, 1u64)), (0, ('a', 200, 2))];
    /// let right = vec![(0, ('a', 300u64, 10u64)), (0, ('b', 100, 20))];
    /// let out = run_two_sorted(2, left, right, |l, r| {
    ///     let second = WindowSpec::tumbling(Duration::from_secs(1));
    ///     let (windows, _, _) =
    ///         l.cogroup_by_event_window(r, second, 0, |_, ls, rs| (ls.len(), rs.len()));
    ///     windows.map(|w| (w.key, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', (2, 1)), ('b', (0, 1))]);
    /// ```
    #[allow(clippy::type_complexity)]
    fn cogroup_by_event_window<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        spec: WindowSpec,
        lateness: Time,
        f: impl Fn(&K, Vec<(Time, A)>, Vec<(Time, B)>) -> O + 'static,
    ) -> (
        Stream<'scope, WindowAggregate<K, O>>,
        Late<'scope, K, A>,
        Late<'scope, K, B>,
    );
}

impl<'scope, K: Data + Hash + Eq, A: Data> CoGroupWindows<'scope, K, A>
    for Stream<'scope, (K, Time, A)>
{
    fn cogroup_by_event_window<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        spec: WindowSpec,
        lateness: Time,
        f: impl Fn(&K, Vec<(Time, A)>, Vec<(Time, B)>) -> O + 'static,
    ) -> (
        Stream<'scope, WindowAggregate<K, O>>,
        Late<'scope, K, A>,
        Late<'scope, K, B>,
    ) {
        let both = self
            .map(|(k, t, a)| (k, t, Side::Left(a)))
            .union(right.map(|(k, t, b)| (k, t, Side::Right(b))));
        let (results, late) = both.process_event_window(spec, lateness, move |key, _, records| {
            let (mut lefts, mut rights) = (Vec::new(), Vec::new());
            for (t, record) in records {
                match record {
                    Side::Left(a) => lefts.push((t, a)),
                    Side::Right(b) => rights.push((t, b)),
                }
            }
            f(key, lefts, rights)
        });
        let late_left = late.clone().flat_map(|(k, t, side)| match side {
            Side::Left(a) => Some((k, t, a)),
            Side::Right(_) => None,
        });
        let late_right = late.flat_map(|(k, t, side)| match side {
            Side::Left(_) => None,
            Side::Right(b) => Some((k, t, b)),
        });
        (results, late_left, late_right)
    }
}
