//! A keyed stream's final table: the last value of each key once the input has ended.
//!
//! Running aggregations emit a new value per key after every arrival; a job that wants only the
//! outcome (the `--final-counts` of word count, a test's expected table) keeps the last value
//! per key and emits the table when its input frontier is empty. [`Gather`] then brings a
//! distributed table to worker 0, which is the one that writes job-wide outputs.

use std::hash::Hash;

use serde::Serialize;
use timely::dataflow::channels::pact::Exchange as ExchangePact;
use timely::dataflow::operators::{Capability, Exchange, Operator};

use crate::checkpointed::{At, Checkpointed, EpochGate, Frontiers};
use crate::hash::worker_of;
use crate::keyed_state::KeyedState;
use crate::stream::{Data, OutputSession, Stream};

/// The final value per key.
pub trait LastByKey<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Emits each key's last value when the input ends (the frontier is empty). Holds its
    /// output back until then, so downstream sees one final table.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // One worker, so "last" is the input order.
    /// let pairs = vec![('a', 1u64), ('b', 2), ('a', 3)];
    /// let out = run_sorted(1, pairs, |s| s.last_by_key()).unwrap();
    /// assert_eq!(out, vec![('a', 3), ('b', 2)]);
    /// ```
    fn last_by_key(self) -> Stream<'scope, (K, V)>;
}

impl<'scope, K: Data + Hash + Eq, V: Data> LastByKey<'scope, K, V> for Stream<'scope, (K, V)> {
    fn last_by_key(self) -> Stream<'scope, (K, V)> {
        let scope = self.scope();
        let peers = self.scope().peers();
        let pact = ExchangePact::new(move |(k, _): &(K, V)| worker_of(k, peers));
        // Not `checkpointed_unary`: records are numbered as they arrive, before the gate.
        self.unary_frontier(pact, "LastByKey", move |capability, info| {
            let mut gate = EpochGate::new(scope, "LastByKey", &info.address);
            let mut last = Last {
                capability: Some(capability),
                table: KeyedState::new(),
            };
            if let Some(image) = gate.restore_keyed::<K, (u64, V)>() {
                last.table.restore(image);
            }
            let mut arrivals = last
                .table
                .iter()
                .map(|(_, (n, _))| n + 1)
                .max()
                .unwrap_or(0);
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let numbered = data.flat_map(|batch| batch.drain(..)).map(|(k, v)| {
                        arrivals += 1;
                        (k, (arrivals, v))
                    });
                    gate.arrive(&cap, numbered, &mut last, output);
                });
                let inputs = [frontier];
                gate.settle(Frontiers::new(&inputs, frontier), &mut last, output);
            }
        })
    }
}

/// Each key's last value on one worker, with its arrival number: a checkpoint holds records
/// back and applies them later, and the arrival number keeps "last" meaning last to arrive.
struct Last<K, V> {
    /// Held until the input ends, to emit the table.
    capability: Option<Capability<crate::Time>>,
    table: KeyedState<K, (u64, V)>,
}

impl<'a, K: Data + Hash + Eq, V: Data> Checkpointed<OutputSession<'a, (K, V)>> for Last<K, V> {
    type Record = (K, (u64, V));

    fn apply(
        &mut self,
        _: &At<'_>,
        records: impl Iterator<Item = (K, (u64, V))>,
        _: &mut OutputSession<'a, (K, V)>,
    ) {
        records.for_each(|(k, v)| keep_last(&mut self.table, k, v));
    }

    fn image(&self) -> impl Serialize + '_ {
        &self.table
    }

    fn on_frontier(&mut self, frontiers: &Frontiers<'_>, out: &mut OutputSession<'a, (K, V)>) {
        if frontiers.all().is_empty() {
            if let Some(cap) = self.capability.take() {
                let last = self.table.drain().map(|(k, (_, v))| (k, v));
                out.session(&cap).give_iterator(last);
            }
        }
    }
}

/// Keeps `value` for `key` unless the key holds a value that arrived later.
fn keep_last<K: Hash + Eq, V>(table: &mut KeyedState<K, (u64, V)>, key: K, value: (u64, V)) {
    match table.get_mut(&key) {
        Some(held) if held.0 > value.0 => {}
        Some(held) => *held = value,
        None => table.insert(key, value),
    }
}

/// Bringing every record to worker 0.
pub trait Gather<'scope, D: Data>: Sized {
    /// Sends every record to worker 0 (process 0), e.g. to write one output file.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (worker, record): every record ends up on worker 0.
    /// let out = run_sorted(2, vec![1u64, 2, 3], |s| {
    ///     let worker = s.scope().index();
    ///     s.gather().map(move |x| (worker, x))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![(0, 1), (0, 2), (0, 3)]);
    /// ```
    fn gather(self) -> Stream<'scope, D>;
}

impl<'scope, D: Data> Gather<'scope, D> for Stream<'scope, D> {
    fn gather(self) -> Stream<'scope, D> {
        self.exchange(|_: &D| 0)
    }
}
