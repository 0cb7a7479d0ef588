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

use serde::Serialize;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Operator;

use crate::checkpointed::{At, Checkpointed, CheckpointedOperator, EpochGate};
use crate::hash::{new_map, worker_of, HashMap};
use crate::keyed_state::KeyedState;
use crate::stream::{Data, OutputSession, Stream};

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
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let pairs = vec![('a', 1u64), ('b', 2), ('a', 3)];
    /// let out = run_sorted(2, pairs, |s| s.reduce_by_key(|x, y| x + y).last_by_key()).unwrap();
    /// assert_eq!(out, vec![('a', 4), ('b', 2)]);
    /// ```
    fn reduce_by_key(self, f: impl Fn(&V, &V) -> V + Clone + 'static) -> Stream<'scope, (K, V)>;

    /// The running aggregate of each key's values: `add` folds a value into an accumulator that
    /// starts at `A::default()`, `merge` adds two accumulators (Flink's `AggregateFunction`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // Per key: (sum, count).
    /// let pairs = vec![('a', 1u64), ('b', 2), ('a', 3)];
    /// let out = run_sorted(2, pairs, |s| {
    ///     s.aggregate_by_key(
    ///         |acc: &mut (u64, u64), v| {
    ///             acc.0 += v;
    ///             acc.1 += 1
    ///         },
    ///         |acc, other| {
    ///             acc.0 += other.0;
    ///             acc.1 += other.1
    ///         },
    ///     )
    ///     .last_by_key()
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', (4, 2)), ('b', (2, 1))]);
    /// ```
    fn aggregate_by_key<A: Data + Default>(
        self,
        add: impl Fn(&mut A, V) + Clone + 'static,
        merge: impl Fn(&mut A, A) + Clone + 'static,
    ) -> Stream<'scope, (K, A)>;

    /// A general per-key state update, the native analogue of Spark's `updateStateByKey`: for each
    /// key that received values, `f(key, values, state)` returns the new state, or `None` to
    /// remove the key. Emits `(key, new state)` for every key that still has state.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // A running total per key; a key whose total passes 3 is removed. (One worker, so the
    /// // input arrives at once: "b" is removed without first emitting 2.)
    /// let pairs = vec![('a', 1u64), ('b', 2), ('b', 3)];
    /// let out = run_sorted(1, pairs, |s| {
    ///     s.update_state_by_key(|_, values, total: Option<u64>| {
    ///         let total = total.unwrap_or(0) + values.iter().sum::<u64>();
    ///         (total <= 3).then_some(total)
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', 1)]);
    /// ```
    fn update_state_by_key<S: Data>(
        self,
        f: impl FnMut(&K, Vec<V>, Option<S>) -> Option<S> + 'static,
    ) -> Stream<'scope, (K, S)>;

    /// Maps each record with its key's state, one record at a time (Flink's keyed `map` with a
    /// `ValueState`, Spark's `mapWithState`): `f(key, value, state)` may read, change or clear
    /// (`None`) the state, and returns the output. Nothing is pre-aggregated, so each output
    /// can carry something of the record that caused it, such as its send time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (word, sent) -> (word, the word's running count, sent)
    /// let words = vec![('a', 10u64), ('b', 20), ('a', 30)];
    /// let out = run_sorted(2, words, |s| {
    ///     s.map_with_state(|word, sent, count: &mut Option<u64>| {
    ///         let count = count.get_or_insert(0);
    ///         *count += 1;
    ///         (*word, *count, sent)
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out.iter().map(|(w, n, _)| (*w, *n)).collect::<Vec<_>>(),
    ///     [('a', 1), ('a', 2), ('b', 1)]
    /// );
    /// ```
    fn map_with_state<S: Data, O: 'static>(
        self,
        f: impl FnMut(&K, V, &mut Option<S>) -> O + 'static,
    ) -> Stream<'scope, O>;

    /// Like [`map_with_state`](Keyed::map_with_state), but each record may emit any number of
    /// outputs, through `emit` (Flink's `KeyedProcessFunction` without timers): a join that
    /// matches a record with several stored ones, or an updating aggregate that retracts its
    /// previous result and emits the new one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (key, value) -> each value with every earlier value of its key
    /// let pairs = vec![('a', 1u64), ('a', 2), ('b', 3), ('a', 4)];
    /// let out = run_sorted(1, pairs, |s| {
    ///     s.flat_map_with_state(|_, v, seen: &mut Option<Vec<u64>>, emit| {
    ///         let seen = seen.get_or_insert_with(Vec::new);
    ///         seen.iter().for_each(|earlier| emit((*earlier, v)));
    ///         seen.push(v);
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![(1, 2), (1, 4), (2, 4)]);
    /// ```
    fn flat_map_with_state<S: Data, O: 'static>(
        self,
        f: impl FnMut(&K, V, &mut Option<S>, &mut dyn FnMut(O)) + 'static,
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
        let peers = self.scope().peers();
        let pact = Exchange::new(move |(k, _): &(K, V)| worker_of(k, peers));
        self.checkpointed_unary(pact, "UpdateStateByKey", move |_, gate| {
            let update = move |state: &mut KeyedState<K, S>,
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
            PerKey::restored(gate, update)
        })
    }

    fn map_with_state<S: Data, O: 'static>(
        self,
        mut f: impl FnMut(&K, V, &mut Option<S>) -> O + 'static,
    ) -> Stream<'scope, O> {
        let peers = self.scope().peers();
        let pact = Exchange::new(move |(k, _): &(K, V)| worker_of(k, peers));
        self.checkpointed_unary(pact, "MapWithState", move |_, gate| {
            let apply = move |state: &mut KeyedState<K, Option<S>>,
                              records: &mut dyn Iterator<Item = (K, V)>,
                              emit: &mut dyn FnMut(O)| {
                for (k, v) in records {
                    emit(with_slot(state, k, |k, slot| f(k, v, slot)));
                }
            };
            PerKey::restored(gate, apply)
        })
    }

    fn flat_map_with_state<S: Data, O: 'static>(
        self,
        mut f: impl FnMut(&K, V, &mut Option<S>, &mut dyn FnMut(O)) + 'static,
    ) -> Stream<'scope, O> {
        let peers = self.scope().peers();
        let pact = Exchange::new(move |(k, _): &(K, V)| worker_of(k, peers));
        self.checkpointed_unary(pact, "FlatMapWithState", move |_, gate| {
            let apply = move |state: &mut KeyedState<K, Option<S>>,
                              records: &mut dyn Iterator<Item = (K, V)>,
                              emit: &mut dyn FnMut(O)| {
                for (k, v) in records {
                    with_slot(state, k, |k, slot| f(k, v, slot, emit));
                }
            };
            PerKey::restored(gate, apply)
        })
    }
}

/// Counting the records of a stream of keys.
pub trait KeyedCount<'scope, K: Data + Hash + Eq>: Sized {
    /// The running count of each key (Spark's `countByValue`, per record).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let out = run_sorted(2, vec!['a', 'b', 'a'], |s| s.count_by_key().last_by_key()).unwrap();
    /// assert_eq!(out, vec![('a', 2), ('b', 1)]);
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let lines = vec!["a b a".to_string(), "b".to_string()];
    /// let out = run_sorted(2, lines, |s| {
    ///     s.count_keys_with(|line: String, keys| {
    ///         line.split_ascii_whitespace()
    ///             .for_each(|word| keys.add(word, 1))
    ///     })
    ///     .last_by_key()
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![("a".to_string(), 2), ("b".to_string(), 2)]);
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// # use sluice_engine::operators::keyed::Sum;
    /// // One worker, one arrival batch: one partial per key.
    /// let out = run_sorted(1, vec![('a', 1u64), ('b', 2), ('a', 3)], |s| {
    ///     s.combine_with(Sum, |(key, n), keys| keys.add_owned(key, n))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', 4), ('b', 2)]);
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// # use sluice_engine::operators::keyed::Count;
    /// // Each word once per occurrence, counted with `Count`.
    /// let lines = vec!["a b a".to_string(), "a".to_string()];
    /// let out = run_sorted(2, lines, |s| {
    ///     s.keys_with(Count, |line: String, keys| {
    ///         line.split(' ').for_each(|word| keys.add(word, ()))
    ///     })
    ///     .last_by_key()
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![("a".to_string(), 3), ("b".to_string(), 1)]);
    /// ```
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
        let peers = partials.scope().peers();
        let pact = Exchange::new(move |(k, _): &(K, G::Acc)| worker_of(k, peers));
        partials.checkpointed_unary(pact, "KeyedState", move |_, gate| {
            let mut state = KeyedState::new();
            if let Some(image) = gate.restore_keyed::<K, G::Acc>() {
                state.restore(image);
            }
            Merged {
                aggregation,
                state,
                values: PhantomData,
            }
        })
    }
}

/// The running aggregates of [`keys_with`](KeysWith::keys_with) on one worker.
struct Merged<K, V, G: Aggregation<V>> {
    aggregation: G,
    state: KeyedState<K, G::Acc>,
    values: PhantomData<fn(V)>,
}

impl<'a, K, V, G> Checkpointed<OutputSession<'a, (K, G::Acc)>> for Merged<K, V, G>
where
    K: Data + Hash + Eq,
    G: Aggregation<V>,
{
    type Record = (K, G::Acc);

    /// Merges partial aggregates into the keyed state, emitting each key's new value.
    fn apply(
        &mut self,
        at: &At<'_>,
        partials: impl Iterator<Item = (K, G::Acc)>,
        out: &mut OutputSession<'a, (K, G::Acc)>,
    ) {
        let mut session = out.session(at);
        for (key, partial) in partials {
            match self.state.get_mut(&key) {
                Some(acc) => {
                    self.aggregation.merge(acc, partial);
                    session.give((key, acc.clone()));
                }
                None => {
                    session.give((key.clone(), partial.clone()));
                    self.state.insert(key, partial);
                }
            }
        }
    }

    fn image(&self) -> impl Serialize + '_ {
        &self.state
    }
}

/// Runs `f` on `key`'s state slot in place: one lookup, and the state is not moved, for a key
/// that has state (the common case; state can be large). Slots are never left empty: a key
/// whose state `f` clears is removed.
fn with_slot<K: Hash + Eq, S, R>(
    state: &mut KeyedState<K, Option<S>>,
    key: K,
    f: impl FnOnce(&K, &mut Option<S>) -> R,
) -> R {
    if let Some(slot) = state.get_mut(&key) {
        let out = f(&key, slot);
        if slot.is_none() {
            state.remove(&key);
        }
        out
    } else {
        let mut slot = None;
        let out = f(&key, &mut slot);
        if slot.is_some() {
            state.insert(key, slot);
        }
        out
    }
}

/// A keyed operator's state on one worker, and how records change it: `apply(state, records,
/// emit)`, each record's result emitted at the records' time.
struct PerKey<K, S, D, F> {
    state: KeyedState<K, S>,
    apply: F,
    records: PhantomData<fn(D)>,
}

impl<K: Data + Hash + Eq, S: Data, D, F> PerKey<K, S, D, F> {
    /// Starts from the state the gate restores, if any.
    fn restored(gate: &EpochGate<D>, apply: F) -> Self {
        let mut state = KeyedState::new();
        if let Some(image) = gate.restore_keyed::<K, S>() {
            state.restore(image);
        }
        PerKey {
            state,
            apply,
            records: PhantomData,
        }
    }
}

impl<'a, K, S, D, O, F> Checkpointed<OutputSession<'a, O>> for PerKey<K, S, D, F>
where
    K: Data + Hash + Eq,
    S: Data,
    O: 'static,
    F: FnMut(&mut KeyedState<K, S>, &mut dyn Iterator<Item = D>, &mut dyn FnMut(O)),
{
    type Record = D;

    fn apply(
        &mut self,
        at: &At<'_>,
        mut records: impl Iterator<Item = D>,
        out: &mut OutputSession<'a, O>,
    ) {
        let mut session = out.session(at);
        (self.apply)(&mut self.state, &mut records, &mut |r| session.give(r));
    }

    fn image(&self) -> impl Serialize + '_ {
        &self.state
    }
}
