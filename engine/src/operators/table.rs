//! A keyed stream's final table: the last value of each key once the input has ended.
//!
//! Running aggregations emit a new value per key after every arrival; a job that wants only the
//! outcome (the `--final-counts` of word count, a test's expected table) keeps the last value
//! per key and emits the table when its input frontier is empty. [`Gather`] then brings a
//! distributed table to worker 0, which is the one that writes job-wide outputs.

use std::hash::Hash;

use timely::dataflow::channels::pact::Exchange as ExchangePact;
use timely::dataflow::operators::{Exchange, Operator};

use crate::checkpoint::EpochGate;
use crate::hash::route;
use crate::state::KeyedState;
use crate::stream::{Data, Stream};

/// The final value per key.
pub trait LastByKey<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// Emits each key's last value when the input ends (the frontier is empty). Holds its
    /// output back until then, so downstream sees one final table.
    fn last_by_key(self) -> Stream<'scope, (K, V)>;
}

impl<'scope, K: Data + Hash + Eq, V: Data> LastByKey<'scope, K, V> for Stream<'scope, (K, V)> {
    fn last_by_key(self) -> Stream<'scope, (K, V)> {
        let scope = self.scope();
        let pact = ExchangePact::new(|(k, _): &(K, V)| route(k));
        self.unary_frontier(pact, "LastByKey", move |capability, info| {
            let mut gate = EpochGate::new(scope, "LastByKey", &info.address);
            let mut capability = Some(capability);
            // Each key's last value with its arrival number: a checkpoint holds records back
            // and applies them later, and the arrival number keeps "last" meaning last to
            // arrive.
            let mut table: KeyedState<K, (u64, V)> = KeyedState::new();
            if let Some(image) = gate.restore::<Vec<(K, (u64, V))>>() {
                table.restore(image);
            }
            let mut arrivals = table.iter().map(|(_, (n, _))| n + 1).max().unwrap_or(0);
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let numbered = data.flat_map(|batch| batch.drain(..)).map(|(k, v)| {
                        arrivals += 1;
                        (k, (arrivals, v))
                    });
                    if let Some(records) = gate.admit(&cap, numbered) {
                        records.for_each(|(k, v)| keep_last(&mut table, k, v));
                    }
                });
                while let Some(epoch) = gate.due(frontier) {
                    gate.save(epoch, &table, frontier);
                    for (_, records) in gate.release() {
                        records
                            .into_iter()
                            .for_each(|(k, v)| keep_last(&mut table, k, v));
                    }
                }
                if frontier.is_empty() {
                    if let Some(cap) = capability.take() {
                        let last = table.drain().map(|(k, (_, v))| (k, v));
                        output.session(&cap).give_iterator(last);
                    }
                }
            }
        })
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
    fn gather(self) -> Stream<'scope, D>;
}

impl<'scope, D: Data> Gather<'scope, D> for Stream<'scope, D> {
    fn gather(self) -> Stream<'scope, D> {
        self.exchange(|_: &D| 0)
    }
}
