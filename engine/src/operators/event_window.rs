//! Keyed event-time windows with allowed lateness and a late side output (Flink's model).
//!
//! The input is `(key, event time)` pairs on a stream stamped by
//! [`with_event_time`](super::event_time::EventTime::with_event_time), so a record's timestamp
//! is `max(event time, watermark)`. For each window `[end − length, end)` containing its event
//! time, a record is:
//! - **on time** if its timestamp is before `end`: counted, and the window's result is emitted
//!   once, when the frontier (the watermark) reaches `end`, at time `end`;
//! - **late but allowed** if its timestamp is before `end + lateness`: counted, and if the
//!   window has already fired, an updated result is emitted at once, marked
//!   [`update`](WindowCount::update) so that a sink can tell it from the first firing;
//! - **too late** otherwise. A record too late for *every* window it belongs to goes to the late
//!   side output, which the caller can consume and count; nothing is dropped silently.
//!
//! A window's state is freed when the frontier passes `end + lateness`, so state stays bounded
//! on an endless stream. Whether a record is late is decided by its own timestamp, not by when
//! it happened to be processed, so the final count of every window does not depend on arrival
//! order within the lateness, nor on the number of workers.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_time::{EventTime, Watermarks};
//! use sluice_engine::operators::event_window::EventWindows;
//! let (counts, late) = (Collector::new(), Collector::new());
//! let (c, l) = (counts.clone(), late.clone());
//! execute(Execution::default(), move |worker| {
//!     worker.dataflow(|scope| {
//!         let clicks = vec![("a", 100u64), ("a", 1500), ("a", 300), ("b", 2500), ("a", 50)];
//!         let (windows, too_late) = scope
//!             .iterator_source(clicks.into_iter().map(|(k, t)| (k.to_string(), t)))
//!             .with_event_time(|(_, t)| *t, Watermarks::ascending())
//!             .count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 1000);
//!         windows.map(|w| (w.end, w.key, w.count, w.update)).collect_into(&c);
//!         too_late.collect_into(&l);
//!     });
//! })
//! .unwrap();
//! // "a"@300 arrives after the watermark passed 1000, but within the lateness: it counts (in
//! // the first firing if the window has not fired yet when it is processed, else as an update).
//! let final_a = counts.take().into_iter().filter(|c| c.0 == 1000 && c.1 == "a").map(|c| c.2).max();
//! assert_eq!(final_a, Some(2));
//! // "a"@50 arrives when the watermark is 2500 ≥ 1000 + 1000: too late.
//! assert_eq!(late.take(), vec![("a".to_string(), 50)]);
//! ```

use std::collections::BTreeMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;

use super::stateless::Stateless;
use super::window::WindowSpec;
use crate::hash::{new_map, route, HashMap};
use crate::stream::{Data, Stream};
use crate::time::Time;

/// One window's count for one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowCount<K> {
    /// The window's end (exclusive); its start is `end − length`.
    pub end: Time,
    pub key: K,
    pub count: u64,
    /// `false` for the window's first firing, `true` for a later update caused by a late record.
    pub update: bool,
}

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
        let counts = counts.map(|w| WindowCount {
            end: w.end,
            key: w.key,
            count: w.value,
            update: w.update,
        });
        (counts, late.map(|(key, time, ())| (key, time)))
    }
}

/// One window's aggregate for one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowAggregate<K, A> {
    /// The window's end (exclusive); its start is `end − length`.
    pub end: Time,
    pub key: K,
    pub value: A,
    /// `false` for the window's first firing, `true` for a later update caused by a late record.
    pub update: bool,
}

/// Incremental event-time window aggregations on `(key, event time, value)` streams.
pub trait EventWindowAggregates<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Each key's aggregate per window: `add` folds each value into an accumulator that starts
    /// at `A::default()`, as it arrives (nothing is buffered but the accumulator, as Flink's
    /// incremental `AggregateFunction`). Firing, lateness, updates and the late output work as
    /// in [`count_by_event_window`](EventWindows::count_by_event_window), which is this with a
    /// counter.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::prelude::*;
    /// # use sluice_engine::operators::event_window::{EventWindowAggregates, WindowAggregate};
    /// # fn average<'s>(readings: Stream<'s, (String, Time, f64)>) -> Stream<'s, WindowAggregate<String, (f64, u64)>> {
    /// // (sensor, time, reading) -> per sensor and minute: (sum, count)
    /// let (sums, _late) = readings.aggregate_by_event_window(
    ///     WindowSpec::tumbling(Duration::from_secs(60)),
    ///     0,
    ///     |acc: &mut (f64, u64), reading| { acc.0 += reading; acc.1 += 1 },
    /// );
    /// sums
    /// # }
    /// ```
    #[allow(clippy::type_complexity)]
    fn aggregate_by_event_window<A: Data + Default>(
        self,
        spec: WindowSpec,
        lateness: Time,
        add: impl Fn(&mut A, &V) + 'static,
    ) -> (
        Stream<'scope, WindowAggregate<K, A>>,
        Stream<'scope, (K, Time, V)>,
    );
}

impl<'scope, K: Data + Hash + Eq, V: Data> EventWindowAggregates<'scope, K, V>
    for Stream<'scope, (K, Time, V)>
{
    fn aggregate_by_event_window<A: Data + Default>(
        self,
        spec: WindowSpec,
        lateness: Time,
        add: impl Fn(&mut A, &V) + 'static,
    ) -> (
        Stream<'scope, WindowAggregate<K, A>>,
        Stream<'scope, (K, Time, V)>,
    ) {
        let mut builder = OperatorBuilder::new("AggregateByEventWindow".to_owned(), self.scope());
        let mut input = builder.new_input(self, Exchange::new(|(k, _, _): &(K, Time, V)| route(k)));
        let (results_out, results) = builder.new_output::<Vec<WindowAggregate<K, A>>>();
        let (late_out, late) = builder.new_output::<Vec<(K, Time, V)>>();
        let mut results_out = OutputBuilder::<
            _,
            CapacityContainerBuilder<Vec<WindowAggregate<K, A>>>,
        >::from(results_out);
        let mut late_out =
            OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, Time, V)>>>::from(late_out);
        builder.build(move |_| {
            let mut windows: BTreeMap<Time, Window<K, A>> = BTreeMap::new();
            move |frontiers| {
                let (mut results_out, mut late_out) = (results_out.activate(), late_out.activate());
                input.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let mut updates = results_out.session(&cap);
                    let mut too_late = late_out.session(&cap);
                    for batch in data {
                        for (key, event_time, value) in batch.drain(..) {
                            let mut accepted = false;
                            for end in spec.ends_containing(event_time) {
                                if t >= end + lateness {
                                    continue; // too late for this window
                                }
                                accepted = true;
                                let window = windows.entry(end).or_insert_with(|| Window {
                                    capability: (t < end).then(|| cap.delayed(&end, 0)),
                                    values: new_map(),
                                });
                                let acc = window.values.entry(key.clone()).or_default();
                                add(acc, &value);
                                if window.capability.is_none() {
                                    updates.give(WindowAggregate {
                                        end,
                                        key: key.clone(),
                                        value: acc.clone(),
                                        update: true,
                                    });
                                }
                            }
                            if !accepted {
                                too_late.give((key, event_time, value));
                            }
                        }
                    }
                });
                // Fire the windows the watermark has reached; free those past their lateness.
                let frontier = &frontiers[0];
                for (&end, window) in windows.range_mut(..) {
                    if frontier.less_than(&end) {
                        break;
                    }
                    if let Some(capability) = window.capability.take() {
                        results_out
                            .session(&capability)
                            .give_iterator(window.values.iter().map(|(key, value)| {
                                WindowAggregate {
                                    end,
                                    key: key.clone(),
                                    value: value.clone(),
                                    update: false,
                                }
                            }));
                    }
                }
                windows.retain(|&end, w| {
                    w.capability.is_some() || frontier.less_than(&(end + lateness))
                });
            }
        });
        (results, late)
    }
}

/// One key's open session.
struct Session {
    /// The last event time plus the gap: where the session closes.
    end: Time,
    count: u64,
    /// Held until the session fires (at its end).
    capability: Option<Capability<Time>>,
}

/// Event-time session windows on `(key, event time)` streams.
pub trait SessionWindows<'scope, K: Data + Hash + Eq>: Sized {
    /// Each key's count per session — a run of events less than `gap` ms apart, closing `gap`
    /// after its last event — emitted when the watermark passes the session's end, as a
    /// [`WindowCount`] whose `end` is the session's end. An event within `gap` of two sessions
    /// merges them. Lateness works as in
    /// [`count_by_event_window`](EventWindows::count_by_event_window): an allowed late event
    /// updates (or merges into) a fired session and the new count is emitted as an update;
    /// an event whose session would already be past `end + lateness` goes to the late output.
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
        let gap = gap.max(1);
        let mut builder = OperatorBuilder::new("CountBySession".to_owned(), self.scope());
        let mut input = builder.new_input(self, Exchange::new(|(k, _): &(K, Time)| route(k)));
        let (counts_out, counts) = builder.new_output::<Vec<WindowCount<K>>>();
        let (late_out, late) = builder.new_output::<Vec<(K, Time)>>();
        let mut counts_out =
            OutputBuilder::<_, CapacityContainerBuilder<Vec<WindowCount<K>>>>::from(counts_out);
        let mut late_out =
            OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, Time)>>>::from(late_out);
        builder.build(move |_| {
            // Per key, the open sessions by start time; they never overlap.
            let mut sessions: HashMap<K, BTreeMap<Time, Session>> = new_map();
            move |frontiers| {
                let (mut counts_out, mut late_out) = (counts_out.activate(), late_out.activate());
                input.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let mut updates = counts_out.session(&cap);
                    let mut too_late = late_out.session(&cap);
                    for batch in data {
                        for (key, event_time) in batch.drain(..) {
                            let open = sessions.entry(key.clone()).or_default();
                            // The sessions this event touches: those overlapping [e, e + gap).
                            let touching: Vec<Time> = open
                                .range(..event_time + gap)
                                .filter(|(_, s)| s.end > event_time)
                                .map(|(start, _)| *start)
                                .collect();
                            let mut start = event_time;
                            let mut merged = Session {
                                end: event_time + gap,
                                count: 1,
                                capability: None,
                            };
                            for s in &touching {
                                start = start.min(*s);
                                merged.end = merged.end.max(open[s].end);
                            }
                            if t >= merged.end + lateness {
                                too_late.give((key, event_time));
                                continue;
                            }
                            let mut fired = t >= merged.end;
                            for s in touching {
                                let old = open.remove(&s).expect("a session just found");
                                merged.count += old.count;
                                fired |= old.capability.is_none();
                            }
                            if fired {
                                updates.give(WindowCount {
                                    end: merged.end,
                                    key: key.clone(),
                                    count: merged.count,
                                    update: true,
                                });
                            } else {
                                merged.capability = Some(cap.delayed(&merged.end, 0));
                            }
                            open.insert(start, merged);
                        }
                    }
                });
                // Fire the sessions the watermark has passed; free those past their lateness.
                let frontier = &frontiers[0];
                for (key, open) in sessions.iter_mut() {
                    for session in open.values_mut() {
                        if frontier.less_than(&session.end) {
                            continue;
                        }
                        if let Some(capability) = session.capability.take() {
                            counts_out.session(&capability).give(WindowCount {
                                end: session.end,
                                key: key.clone(),
                                count: session.count,
                                update: false,
                            });
                        }
                    }
                    open.retain(|_, s| {
                        s.capability.is_some() || frontier.less_than(&(s.end + lateness))
                    });
                }
                sessions.retain(|_, open| !open.is_empty());
            }
        });
        (counts, late)
    }
}
