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

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::{Capability, Operator};

use crate::hash::{new_map, HashMap};
use crate::operators::stateless::Stateless;
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
        crate::checkpoint::unsupported(self.scope(), "join_table");
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
