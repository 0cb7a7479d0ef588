//! Stream–table joins: each record with a table as of the record's time.
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

use serde::Serialize;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Capability;

use crate::checkpointed::{At, Checkpointed, CheckpointedOperator, Frontiers, Saving, Side};
use crate::hash::{new_map, HashMap};
use crate::operators::stateless::Stateless;
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// Joining a stream with a table given as a stream of updates.
pub trait TableJoin<'scope, D: Data>: Sized {
    /// Inner join: each record whose key is in the table (as of the record's time), with its
    /// value, through `f`; records without a match are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_two_sorted};
    /// // The table is set at time 0; the records come at time 1, "c" has no entry.
    /// let records = vec![(1, 'a'), (1, 'c')];
    /// let table = vec![(0, ('a', Some(10u64))), (0, ('b', Some(20)))];
    /// let out = run_two_sorted(2, records, table, |records, table| {
    ///     records.join_table(table, |r| *r, |r, v| (r, *v))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', 10)]);
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_two_sorted};
    /// // "a" is set at time 0 and removed at time 2: only the record at time 1 sees it.
    /// let records = vec![(1, 'a'), (1, 'c'), (3, 'a')];
    /// let table = vec![(0, ('a', Some(10u64))), (2, ('a', None))];
    /// let out = run_two_sorted(2, records, table, |records, table| {
    ///     records.left_join_table(table, |r| *r, |r, v| (r, v.copied()))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', None), ('a', Some(10)), ('c', None)]);
    /// ```
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

impl<'scope, D: Data> TableJoin<'scope, D> for Stream<'scope, D> {
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
        let scope = self.scope();
        // Every worker gets every update: one copy addressed to each.
        let peers = scope.peers() as u64;
        let broadcast =
            table.flat_map(move |update| (0..peers).map(move |to| (to, update.clone())));
        let to_worker = Exchange::new(|(to, _): &(u64, (K, Option<V>))| *to);
        // One gate for both inputs: a checkpoint holds the table and the waiting records as of
        // an epoch that both inputs have passed.
        let pacts = (Pipeline, to_worker);
        self.checkpointed_binary(broadcast, pacts, "JoinTable", move |initial, gate| {
            let mut state = Temporal::<K, V, D> {
                rows: new_map(),
                updates: BTreeMap::new(),
                waiting: BTreeMap::new(),
            };
            if let Some((rows, updates, waiting)) = gate.restore::<Saved<K, V, D>>() {
                state.rows = rows.into_iter().collect();
                state.updates = updates.into_iter().collect();
                for (t, records) in waiting {
                    state.waiting.insert(t, (initial.delayed(&t), records));
                }
            }
            Joining { state, key, f }
        })
    }
}

/// What arrives at the join: a record, or a table update addressed to this worker.
type Arrival<D, K, V> = Side<D, (u64, (K, Option<V>))>;

/// A temporal join on one worker: its state, the records' key, and the function that makes
/// its results.
struct Joining<K, V, D, KF, F> {
    state: Temporal<K, V, D>,
    key: KF,
    f: F,
}

impl<K, V, D, KF, F> Joining<K, V, D, KF, F>
where
    K: Data + Hash + Eq,
    V: Data,
    KF: Fn(&D) -> K,
{
    /// Joins the records whose time the table has passed, in time order, each against the
    /// updates at or before its time.
    fn join<O: 'static>(&mut self, frontiers: &Frontiers<'_>, out: &mut OutputSession<'_, O>)
    where
        F: Fn(D, Option<&V>) -> O,
    {
        let table = frontiers.input(1);
        let passed = |t| !table.less_equal(&t);
        self.state.join(passed, &self.key, &self.f, out);
    }
}

impl<'a, K, V, D, O, KF, F> Checkpointed<OutputSession<'a, O>> for Joining<K, V, D, KF, F>
where
    K: Data + Hash + Eq,
    V: Data,
    D: Data,
    O: 'static,
    KF: Fn(&D) -> K,
    F: Fn(D, Option<&V>) -> O,
{
    type Record = Arrival<D, K, V>;

    fn apply(
        &mut self,
        at: &At<'_>,
        arrivals: impl Iterator<Item = Arrival<D, K, V>>,
        _: &mut OutputSession<'a, O>,
    ) {
        self.state.take(at.delayed(&at.time(), 0), arrivals);
    }

    fn close_before(&mut self, saving: &Saving<'_>, out: &mut OutputSession<'a, O>) {
        self.join(saving.frontiers, out);
    }

    fn image(&self) -> impl Serialize + '_ {
        let state = &self.state;
        (
            state.rows.iter().collect::<Vec<_>>(),
            state.updates.iter().collect::<Vec<_>>(),
            state
                .waiting
                .iter()
                .map(|(t, (_, records))| (t, records))
                .collect::<Vec<_>>(),
        )
    }

    fn on_frontier(&mut self, frontiers: &Frontiers<'_>, out: &mut OutputSession<'a, O>) {
        self.join(frontiers, out);
    }
}

/// The join as checkpointed: the table's rows, its updates not yet applied, and the records
/// waiting for the table to pass their time.
type Saved<K, V, D> = (
    Vec<(K, V)>,
    Vec<(Time, Vec<(K, Option<V>)>)>,
    Vec<(Time, Vec<D>)>,
);

/// A temporal join's state on one worker.
struct Temporal<K, V, D> {
    /// The table as of the last record joined.
    rows: HashMap<K, V>,
    /// Updates not yet applied, by time.
    updates: BTreeMap<Time, Vec<(K, Option<V>)>>,
    /// Records waiting for the table's frontier to pass their time.
    waiting: BTreeMap<Time, (Capability<Time>, Vec<D>)>,
}

impl<K: Data + Hash + Eq, V: Data, D> Temporal<K, V, D> {
    /// Takes in what arrived at `cap`'s time.
    fn take(&mut self, cap: Capability<Time>, arrivals: impl Iterator<Item = Arrival<D, K, V>>) {
        let t = *cap.time();
        for arrival in arrivals {
            match arrival {
                Side::Left(record) => {
                    let (_, waiting) = self
                        .waiting
                        .entry(t)
                        .or_insert_with(|| (cap.clone(), Vec::new()));
                    waiting.push(record);
                }
                Side::Right((_, update)) => self.updates.entry(t).or_default().push(update),
            }
        }
    }

    /// Joins the waiting records whose time `passed` says the table has passed.
    fn join<O: 'static>(
        &mut self,
        passed: impl Fn(Time) -> bool,
        key: &impl Fn(&D) -> K,
        f: &impl Fn(D, Option<&V>) -> O,
        output: &mut OutputSession<'_, O>,
    ) {
        while let Some(first) = self.waiting.first_entry() {
            let t = *first.key();
            if !passed(t) {
                break;
            }
            let (cap, batch) = first.remove();
            while let Some(update) = self.updates.first_entry() {
                if *update.key() > t {
                    break;
                }
                for (k, v) in update.remove() {
                    match v {
                        Some(v) => self.rows.insert(k, v),
                        None => self.rows.remove(&k),
                    };
                }
            }
            let mut session = output.session(&cap);
            for record in batch {
                let value = self.rows.get(&key(&record));
                session.give(f(record, value));
            }
        }
    }
}
