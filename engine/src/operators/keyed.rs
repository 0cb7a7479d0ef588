//! Per-key running state, updated record by record.
//!
//! Keyed streams are streams of `(key, value)` pairs. Each operator here routes every key to one
//! worker and keeps that key's state there (in a [`KeyedState`]); after each arrival it emits the
//! key's new result, so downstream sees a running value, as in Flink's keyed `reduce` and
//! `aggregate`.
//!
//! **Pre-aggregation.** Where the aggregation is associative (reduce, aggregate, count), each
//! worker first folds what has just arrived into a small local table — a combiner, as in
//! MapReduce, Spark's map-side combine and Flink's mini-batch aggregation — and sends one partial
//! per key per arrival batch instead of one record per occurrence. This adds no latency: the
//! combiner only merges records that are already there. [`KeysWith`] goes further for
//! record types that *contain* keys (a line and its words): keys are looked up borrowed, and an
//! owned key is made only the first time a batch sees it.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let out = Collector::new();
//! let sink = out.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     let data = if worker.index() == 0 { vec![("a", 1u64), ("b", 5), ("a", 2)] } else { vec![] };
//!     worker.dataflow(|scope| {
//!         scope
//!             .iterator_source(data.into_iter().map(|(k, v)| (k.to_string(), v)))
//!             .reduce_by_key(|a, b| *a.max(b))
//!             .last_by_key()
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! let mut out = out.take();
//! out.sort();
//! assert_eq!(out, vec![("a".to_string(), 2), ("b".to_string(), 5)]);
//! ```

use std::borrow::Borrow;
use std::hash::Hash;
use std::marker::PhantomData;

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Operator;

use crate::checkpoint::EpochGate;
use crate::hash::{new_map, route, HashMap};
use crate::state::KeyedState;
use crate::stream::{Data, Stream};

/// How partial results per key are built and combined. Must be associative: the combiner and
/// the keyed state both use it, in whatever grouping arrivals happen to have.
pub trait Aggregation<V>: Clone + 'static {
    /// The per-key accumulator, which crosses workers.
    type Acc: Data;
    /// An accumulator holding one value.
    fn lift(&self, value: V) -> Self::Acc;
    /// Adds one value to an accumulator.
    fn fold(&self, acc: &mut Self::Acc, value: V);
    /// Adds a partial accumulator to another.
    fn merge(&self, acc: &mut Self::Acc, partial: Self::Acc);
}

/// Counting: the accumulator is the number of values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Count;

impl<V> Aggregation<V> for Count {
    type Acc = u64;
    fn lift(&self, _: V) -> u64 {
        1
    }
    fn fold(&self, acc: &mut u64, _: V) {
        *acc += 1;
    }
    fn merge(&self, acc: &mut u64, partial: u64) {
        *acc += partial;
    }
}

/// Summing `u64` weights: [`Combiner::add`]'s value is how many occurrences it stands for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum;

impl Aggregation<u64> for Sum {
    type Acc = u64;
    fn lift(&self, value: u64) -> u64 {
        value
    }
    fn fold(&self, acc: &mut u64, value: u64) {
        *acc += value;
    }
    fn merge(&self, acc: &mut u64, partial: u64) {
        *acc += partial;
    }
}

/// Reducing values with an associative function (Spark's `reduceByKey`).
#[derive(Clone)]
pub struct Reduce<F>(pub F);

impl<V: Data, F: Fn(&V, &V) -> V + Clone + 'static> Aggregation<V> for Reduce<F> {
    type Acc = V;
    fn lift(&self, value: V) -> V {
        value
    }
    fn fold(&self, acc: &mut V, value: V) {
        *acc = (self.0)(acc, &value);
    }
    fn merge(&self, acc: &mut V, partial: V) {
        self.fold(acc, partial)
    }
}

/// Folding values into an accumulator that starts at `A::default()` (Flink's `AggregateFunction`).
pub struct Fold<A, Add, Merge> {
    add: Add,
    merge: Merge,
    accumulator: PhantomData<fn() -> A>,
}

impl<A, Add: Clone, Merge: Clone> Clone for Fold<A, Add, Merge> {
    fn clone(&self) -> Self {
        Fold {
            add: self.add.clone(),
            merge: self.merge.clone(),
            accumulator: PhantomData,
        }
    }
}

impl<V, A, Add, Merge> Aggregation<V> for Fold<A, Add, Merge>
where
    A: Data + Default,
    Add: Fn(&mut A, V) + Clone + 'static,
    Merge: Fn(&mut A, A) + Clone + 'static,
{
    type Acc = A;
    fn lift(&self, value: V) -> A {
        let mut acc = A::default();
        (self.add)(&mut acc, value);
        acc
    }
    fn fold(&self, acc: &mut A, value: V) {
        (self.add)(acc, value)
    }
    fn merge(&self, acc: &mut A, partial: A) {
        (self.merge)(acc, partial)
    }
}

/// A worker-local table of partial aggregates, filled between two sends.
pub struct Combiner<K, V, G: Aggregation<V>> {
    partials: HashMap<K, G::Acc>,
    aggregation: G,
}

impl<K: Hash + Eq, V, G: Aggregation<V>> Combiner<K, V, G> {
    fn new(aggregation: G) -> Self {
        Combiner {
            partials: new_map(),
            aggregation,
        }
    }

    /// Adds `value` under a borrowed key; the key is copied only if this batch has not seen it.
    pub fn add<Q>(&mut self, key: &Q, value: V)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match self.partials.get_mut(key) {
            Some(acc) => self.aggregation.fold(acc, value),
            None => {
                let acc = self.aggregation.lift(value);
                self.partials.insert(key.to_owned(), acc);
            }
        }
    }

    /// Adds `value` under an owned key.
    pub fn add_owned(&mut self, key: K, value: V) {
        match self.partials.get_mut(&key) {
            Some(acc) => self.aggregation.fold(acc, value),
            None => {
                let acc = self.aggregation.lift(value);
                self.partials.insert(key, acc);
            }
        }
    }
}

/// Keyed running aggregations on `(key, value)` streams.
pub trait Keyed<'scope, K: Data + Hash + Eq, V: Data>: Sized {
    /// The running reduction of each key's values with an associative `f` (Flink's keyed
    /// `reduce`; per record, where Spark's `reduceByKey` is per batch).
    fn reduce_by_key(self, f: impl Fn(&V, &V) -> V + Clone + 'static) -> Stream<'scope, (K, V)>;

    /// The running aggregate of each key's values: `add` folds a value into an accumulator that
    /// starts at `A::default()`, `merge` adds two accumulators (Flink's `AggregateFunction`).
    fn aggregate_by_key<A: Data + Default>(
        self,
        add: impl Fn(&mut A, V) + Clone + 'static,
        merge: impl Fn(&mut A, A) + Clone + 'static,
    ) -> Stream<'scope, (K, A)>;

    /// A general per-key state update, the native analogue of Spark's `updateStateByKey`: for each
    /// key that received values, `f(key, values, state)` returns the new state, or `None` to
    /// remove the key. Emits `(key, new state)` for every key that still has state.
    fn update_state_by_key<S: Data>(
        self,
        f: impl FnMut(&K, Vec<V>, Option<S>) -> Option<S> + 'static,
    ) -> Stream<'scope, (K, S)>;

    /// Maps each record with its key's state, one record at a time (Flink's keyed `map` with a
    /// `ValueState`, Spark's `mapWithState`): `f(key, value, state)` may read, change or clear
    /// (`None`) the state, and returns the output. Nothing is pre-aggregated, so each output
    /// can carry something of the record that caused it, such as its send time.
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # fn running<'s>(words: Stream<'s, (String, u64)>) -> Stream<'s, (u64, u64)> {
    /// // (word, sent) -> (the word's running count, sent)
    /// words.map_with_state(|_word, sent, count: &mut Option<u64>| {
    ///     let count = count.get_or_insert(0);
    ///     *count += 1;
    ///     (*count, sent)
    /// })
    /// # }
    /// ```
    fn map_with_state<S: Data, O: 'static>(
        self,
        f: impl FnMut(&K, V, &mut Option<S>) -> O + 'static,
    ) -> Stream<'scope, O>;
}

impl<'scope, K: Data + Hash + Eq, V: Data> Keyed<'scope, K, V> for Stream<'scope, (K, V)> {
    fn reduce_by_key(self, f: impl Fn(&V, &V) -> V + Clone + 'static) -> Stream<'scope, (K, V)> {
        self.keys_with(Reduce(f), |(k, v), c| c.add_owned(k, v))
    }

    fn aggregate_by_key<A: Data + Default>(
        self,
        add: impl Fn(&mut A, V) + Clone + 'static,
        merge: impl Fn(&mut A, A) + Clone + 'static,
    ) -> Stream<'scope, (K, A)> {
        self.keys_with(
            Fold {
                add,
                merge,
                accumulator: PhantomData,
            },
            |(k, v), c| c.add_owned(k, v),
        )
    }

    fn update_state_by_key<S: Data>(
        self,
        mut f: impl FnMut(&K, Vec<V>, Option<S>) -> Option<S> + 'static,
    ) -> Stream<'scope, (K, S)> {
        let scope = self.scope();
        let pact = Exchange::new(|(k, _): &(K, V)| route(k));
        self.unary_frontier(pact, "UpdateStateByKey", move |_, info| {
            let mut gate = EpochGate::new(scope, "UpdateStateByKey", &info.address);
            let mut state: KeyedState<K, S> = KeyedState::new();
            if let Some(image) = gate.restore::<Vec<(K, S)>>() {
                state.restore(image);
            }
            let mut update = move |state: &mut KeyedState<K, S>,
                                   records: &mut dyn Iterator<Item = (K, V)>,
                                   emit: &mut dyn FnMut((K, S))| {
                let mut grouped: HashMap<K, Vec<V>> = new_map();
                for (k, v) in records {
                    grouped.entry(k).or_default().push(v);
                }
                for (k, values) in grouped {
                    if let Some(s) = f(&k, values, state.remove(&k)) {
                        emit((k.clone(), s.clone()));
                        state.insert(k, s);
                    }
                }
            };
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let records = data.flat_map(|batch| batch.drain(..));
                    if let Some(mut records) = gate.admit(&cap, records) {
                        let mut session = output.session(&cap);
                        update(&mut state, &mut records, &mut |r| session.give(r));
                    }
                });
                while let Some(epoch) = gate.due(frontier) {
                    gate.save(epoch, &state, frontier);
                    for (cap, records) in gate.release() {
                        let mut session = output.session(&cap);
                        update(&mut state, &mut records.into_iter(), &mut |r| {
                            session.give(r)
                        });
                    }
                }
            }
        })
    }

    fn map_with_state<S: Data, O: 'static>(
        self,
        mut f: impl FnMut(&K, V, &mut Option<S>) -> O + 'static,
    ) -> Stream<'scope, O> {
        let scope = self.scope();
        let pact = Exchange::new(|(k, _): &(K, V)| route(k));
        self.unary_frontier(pact, "MapWithState", move |_, info| {
            let mut gate = EpochGate::new(scope, "MapWithState", &info.address);
            let mut state: KeyedState<K, S> = KeyedState::new();
            if let Some(image) = gate.restore::<Vec<(K, S)>>() {
                state.restore(image);
            }
            let mut apply = move |state: &mut KeyedState<K, S>, (k, v): (K, V)| {
                let mut slot = state.remove(&k);
                let out = f(&k, v, &mut slot);
                if let Some(s) = slot {
                    state.insert(k, s);
                }
                out
            };
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let records = data.flat_map(|batch| batch.drain(..));
                    if let Some(records) = gate.admit(&cap, records) {
                        let mut session = output.session(&cap);
                        records.for_each(|r| session.give(apply(&mut state, r)));
                    }
                });
                while let Some(epoch) = gate.due(frontier) {
                    gate.save(epoch, &state, frontier);
                    for (cap, records) in gate.release() {
                        let mut session = output.session(&cap);
                        records
                            .into_iter()
                            .for_each(|r| session.give(apply(&mut state, r)));
                    }
                }
            }
        })
    }
}

/// Counting the records of a stream of keys.
pub trait KeyedCount<'scope, K: Data + Hash + Eq>: Sized {
    /// The running count of each key (Spark's `countByValue`, per record).
    fn count_by_key(self) -> Stream<'scope, (K, u64)>;
}

impl<'scope, K: Data + Hash + Eq> KeyedCount<'scope, K> for Stream<'scope, K> {
    fn count_by_key(self) -> Stream<'scope, (K, u64)> {
        self.keys_with(Count, |k, c: &mut Combiner<K, (), Count>| {
            c.add_owned(k, ())
        })
    }
}

/// The general keyed aggregation: each record adds any number of keyed values to a combiner.
pub trait KeysWith<'scope, D: 'static>: Sized {
    /// Counts, per key, the occurrences that `extract` adds for each record, with
    /// `keys.add(&key, n)` meaning "n more occurrences". Keys may be borrowed from the record:
    /// word count adds `&str` slices of a line and allocates a `String` only for a word the
    /// current batch has not seen.
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # fn words<'s>(lines: Stream<'s, String>) -> Stream<'s, (String, u64)> {
    /// lines.count_keys_with(|line: String, keys| {
    ///     line.split_ascii_whitespace().for_each(|word| keys.add(word, 1))
    /// })
    /// # }
    /// ```
    fn count_keys_with<K: Data + Hash + Eq>(
        self,
        extract: impl FnMut(D, &mut Combiner<K, u64, Sum>) + 'static,
    ) -> Stream<'scope, (K, u64)> {
        self.keys_with(Sum, extract)
    }

    /// Pre-aggregates, per key, what arrives together — one partial per key per arrival batch,
    /// at the batch's time, with no state kept. The first stage of [`keys_with`](Self::keys_with),
    /// and of micro-batch keyed aggregations, which merge the partials per batch instead.
    fn combine_with<K, V, G>(
        self,
        aggregation: G,
        extract: impl FnMut(D, &mut Combiner<K, V, G>) + 'static,
    ) -> Stream<'scope, (K, G::Acc)>
    where
        K: Data + Hash + Eq,
        V: 'static,
        G: Aggregation<V>;

    /// Aggregates, per key, the values `extract` adds for each record, with `aggregation`.
    fn keys_with<K, V, G>(
        self,
        aggregation: G,
        extract: impl FnMut(D, &mut Combiner<K, V, G>) + 'static,
    ) -> Stream<'scope, (K, G::Acc)>
    where
        K: Data + Hash + Eq,
        V: 'static,
        G: Aggregation<V>;
}

impl<'scope, D: 'static> KeysWith<'scope, D> for Stream<'scope, D> {
    fn combine_with<K, V, G>(
        self,
        aggregation: G,
        mut extract: impl FnMut(D, &mut Combiner<K, V, G>) + 'static,
    ) -> Stream<'scope, (K, G::Acc)>
    where
        K: Data + Hash + Eq,
        V: 'static,
        G: Aggregation<V>,
    {
        let mut combiner = Combiner::new(aggregation);
        self.unary(Pipeline, "Combine", move |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    for batch in data {
                        for record in batch.drain(..) {
                            extract(record, &mut combiner);
                        }
                    }
                    output
                        .session(&cap)
                        .give_iterator(combiner.partials.drain());
                });
            }
        })
    }

    fn keys_with<K, V, G>(
        self,
        aggregation: G,
        extract: impl FnMut(D, &mut Combiner<K, V, G>) + 'static,
    ) -> Stream<'scope, (K, G::Acc)>
    where
        K: Data + Hash + Eq,
        V: 'static,
        G: Aggregation<V>,
    {
        let partials = self.combine_with(aggregation.clone(), extract);
        let scope = partials.scope();
        let pact = Exchange::new(|(k, _): &(K, G::Acc)| route(k));
        partials.unary_frontier(pact, "KeyedState", move |_, info| {
            let mut gate = EpochGate::new(scope, "KeyedState", &info.address);
            let mut state: KeyedState<K, G::Acc> = KeyedState::new();
            if let Some(image) = gate.restore::<Vec<(K, G::Acc)>>() {
                state.restore(image);
            }
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let records = data.flat_map(|batch| batch.drain(..));
                    if let Some(records) = gate.admit(&cap, records) {
                        let mut session = output.session(&cap);
                        merge_partials(&aggregation, &mut state, records, |r| session.give(r));
                    }
                });
                while let Some(epoch) = gate.due(frontier) {
                    gate.save(epoch, &state, frontier);
                    for (cap, records) in gate.release() {
                        let mut session = output.session(&cap);
                        let records = records.into_iter();
                        merge_partials(&aggregation, &mut state, records, |r| session.give(r));
                    }
                }
            }
        })
    }
}

/// Merges partial aggregates into the keyed state, giving each key's new value to `emit`.
fn merge_partials<K: Data + Hash + Eq, V, G: Aggregation<V>>(
    aggregation: &G,
    state: &mut KeyedState<K, G::Acc>,
    partials: impl Iterator<Item = (K, G::Acc)>,
    mut emit: impl FnMut((K, G::Acc)),
) {
    for (key, partial) in partials {
        match state.get_mut(&key) {
            Some(acc) => {
                aggregation.merge(acc, partial);
                emit((key, acc.clone()));
            }
            None => {
                emit((key.clone(), partial.clone()));
                state.insert(key, partial);
            }
        }
    }
}
