//! Joins: a stream with a table as of each record's time ([`TableJoin`]), and two event-time
//! streams within a time interval ([`IntervalJoin`]).
//!
//! The table is a stream of updates — `(key, Some(value))` sets a key, `(key, None)` removes
//! it — broadcast to every worker, so records are joined where they are, with no shuffle (the
//! table should be small: a dimension table such as YSB's ad → campaign map). A record at time
//! `t` sees exactly the updates at times `≤ t`: it waits until the table's frontier has passed
//! `t`, so the result does not depend on which arrived first (Flink's temporal table join). A
//! static table is a stream that sends its rows at time 0 and ends; records then never wait.
//! Two updates of one key at the same time apply in arrival order.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let out = Collector::new();
//! let sink = out.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     let (clicks, rows) = if worker.index() == 0 {
//!         (vec![(10, "ad1"), (20, "ad2"), (30, "ad9")], vec![(0, ("ad1", Some("c1"))), (0, ("ad2", Some("c2")))])
//!     } else {
//!         (vec![], vec![])
//!     };
//!     worker.dataflow(|scope| {
//!         let table = scope.timed_source(rows.into_iter().map(|(t, (k, v))| (t, (k.to_string(), v.map(String::from)))));
//!         scope
//!             .timed_source(clicks.into_iter().map(|(t, ad)| (t, ad.to_string())))
//!             .left_join_table(table, |ad: &String| ad.clone(), |ad, campaign| (ad, campaign.cloned()))
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let mut out = out.take();
//! out.sort();
//! assert_eq!(out[0], ("ad1".to_string(), Some("c1".to_string())));
//! assert_eq!(out[2], ("ad9".to_string(), None)); // no campaign: kept by the outer join
//! ```

use std::collections::BTreeMap;
use std::hash::Hash;

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::{Capability, Operator};

use super::stateless::Stateless;
use crate::hash::{new_map, HashMap};
use crate::stream::{Data, Stream};
use crate::time::Time;

/// Joining a stream with a table given as a stream of updates.
pub trait TableJoin<'scope, D: 'static>: Sized {
    /// Inner join: each record whose key is in the table (as of the record's time), with its
    /// value, through `f`; records without a match are dropped.
    fn join_table<K, V, O>(
        self,
        table: Stream<'scope, (K, Option<V>)>,
        key: impl Fn(&D) -> K + 'static,
        f: impl Fn(D, &V) -> O + 'static,
    ) -> Stream<'scope, O>
    where
        K: Data + Hash + Eq,
        V: Data,
        O: 'static,
    {
        self.left_join_table(table, key, move |d, v| v.map(|v| f(d, v)))
            .flat_map(|o| o)
    }

    /// Left outer join: every record, with its key's value if the table has one as of the
    /// record's time, through `f`.
    fn left_join_table<K, V, O>(
        self,
        table: Stream<'scope, (K, Option<V>)>,
        key: impl Fn(&D) -> K + 'static,
        f: impl Fn(D, Option<&V>) -> O + 'static,
    ) -> Stream<'scope, O>
    where
        K: Data + Hash + Eq,
        V: Data,
        O: 'static;
}

impl<'scope, D: 'static> TableJoin<'scope, D> for Stream<'scope, D> {
    fn left_join_table<K, V, O>(
        self,
        table: Stream<'scope, (K, Option<V>)>,
        key: impl Fn(&D) -> K + 'static,
        f: impl Fn(D, Option<&V>) -> O + 'static,
    ) -> Stream<'scope, O>
    where
        K: Data + Hash + Eq,
        V: Data,
        O: 'static,
    {
        // Every worker gets every update: one copy addressed to each.
        let peers = self.scope().peers() as u64;
        let broadcast =
            table.flat_map(move |update| (0..peers).map(move |to| (to, update.clone())));
        let to_worker = Exchange::new(|(to, _): &(u64, (K, Option<V>))| *to);
        self.binary_frontier(broadcast, Pipeline, to_worker, "JoinTable", |_, _| {
            let mut rows: HashMap<K, V> = new_map();
            let mut updates: BTreeMap<Time, Vec<(K, Option<V>)>> = BTreeMap::new();
            let mut waiting: BTreeMap<Time, (Capability<Time>, Vec<D>)> = BTreeMap::new();
            move |(records, _), (table, table_frontier), output| {
                records.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let entry = waiting
                        .entry(t)
                        .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()));
                    data.for_each(|batch| entry.1.append(batch));
                });
                table.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let entry = updates.entry(t).or_default();
                    data.for_each(|batch| entry.extend(batch.drain(..).map(|(_, u)| u)));
                });
                // Join the records whose time the table has passed, in time order, each against
                // the updates at or before its time.
                while let Some(first) = waiting.first_entry() {
                    let t = *first.key();
                    if table_frontier.less_equal(&t) {
                        break;
                    }
                    let (cap, batch) = first.remove();
                    while let Some(update) = updates.first_entry() {
                        if *update.key() > t {
                            break;
                        }
                        for (k, v) in update.remove() {
                            match v {
                                Some(v) => rows.insert(k, v),
                                None => rows.remove(&k),
                            };
                        }
                    }
                    let mut session = output.session(&cap);
                    for record in batch {
                        let value = rows.get(&key(&record));
                        session.give(f(record, value));
                    }
                }
            }
        })
    }
}

/// A side's buffered records of one key: event time, the record, and (left side, outer join)
/// whether it found a partner plus the capability to emit it alone.
type Buffered<T> = Vec<(Time, T, bool, Option<Capability<Time>>)>;

/// Interval joins of two event-time streams of `(key, event time, record)`.
pub trait IntervalJoin<'scope, K: Data + Hash + Eq, A: Data>: Sized {
    /// Pairs each left record `a` with every right record `b` of the same key whose event time
    /// lies in `[a.time + lower, a.time + upper]` (ms, either bound may be negative), through
    /// `f(key, a, b)`, emitted when the later of the two arrives. A record is kept until the
    /// watermark (the frontier) makes further partners impossible; records behind the watermark
    /// when they arrive may miss partners already let go. With `outer`, a left record that never
    /// finds a partner is emitted once through `f(key, a, None)` when it is let go.
    #[allow(clippy::too_many_arguments)]
    fn interval_join<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        lower: i64,
        upper: i64,
        outer: bool,
        f: impl Fn(&K, &A, Option<&B>) -> O + 'static,
    ) -> Stream<'scope, O>;
}

/// `t + offset`, clamped to the time range.
fn shift(t: Time, offset: i64) -> Time {
    (t as i128 + offset as i128).clamp(0, Time::MAX as i128) as Time
}

impl<'scope, K: Data + Hash + Eq, A: Data> IntervalJoin<'scope, K, A>
    for Stream<'scope, (K, Time, A)>
{
    fn interval_join<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        lower: i64,
        upper: i64,
        outer: bool,
        f: impl Fn(&K, &A, Option<&B>) -> O + 'static,
    ) -> Stream<'scope, O> {
        let by_key_a = Exchange::new(|(k, _, _): &(K, Time, A)| crate::hash::route(k));
        let by_key_b = Exchange::new(|(k, _, _): &(K, Time, B)| crate::hash::route(k));
        self.binary_frontier(right, by_key_a, by_key_b, "IntervalJoin", move |_, _| {
            let mut lefts: HashMap<K, Buffered<A>> = new_map();
            let mut rights: HashMap<K, Buffered<B>> = new_map();
            move |(left_in, left_frontier), (right_in, right_frontier), output| {
                left_in.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let mut session = output.session(&cap);
                    for batch in data {
                        for (k, ta, a) in batch.drain(..) {
                            let (from, to) = (shift(ta, lower), shift(ta, upper));
                            let mut matched = false;
                            for (tb, b, _, _) in rights.get(&k).into_iter().flatten() {
                                if (from..=to).contains(tb) {
                                    session.give(f(&k, &a, Some(b)));
                                    matched = true;
                                }
                            }
                            let hold = (outer && !matched).then(|| cap.delayed(&t, 0));
                            lefts.entry(k).or_default().push((ta, a, matched, hold));
                        }
                    }
                });
                right_in.for_each_stamp(|cap, data| {
                    let mut session = output.session(&cap);
                    for batch in data {
                        for (k, tb, b) in batch.drain(..) {
                            let (from, to) = (shift(tb, -upper), shift(tb, -lower));
                            for (ta, a, matched, hold) in lefts.get_mut(&k).into_iter().flatten() {
                                if (from..=to).contains(ta) {
                                    session.give(f(&k, a, Some(&b)));
                                    *matched = true;
                                    *hold = None;
                                }
                            }
                            rights.entry(k).or_default().push((tb, b, true, None));
                        }
                    }
                });
                // Let go of what can no longer meet a partner: a left record once the right
                // side's watermark has passed its interval's end, a right record once the left
                // side's has passed the last left time that could reach it.
                for (k, buffered) in lefts.iter_mut() {
                    buffered.retain_mut(|(ta, a, matched, hold)| {
                        if right_frontier.less_equal(&shift(*ta, upper)) {
                            return true;
                        }
                        if let (false, Some(cap)) = (*matched, hold.take()) {
                            output.session(&cap).give(f(k, a, None));
                        }
                        false
                    });
                }
                for buffered in rights.values_mut() {
                    buffered.retain(|(tb, _, _, _)| left_frontier.less_equal(&shift(*tb, -lower)));
                }
                lefts.retain(|_, v| !v.is_empty());
                rights.retain(|_, v| !v.is_empty());
            }
        })
    }
}
