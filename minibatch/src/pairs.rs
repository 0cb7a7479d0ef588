//! Operations on DStreams of `(key, value)` pairs (Spark's `PairDStreamFunctions`), per batch.
//!
//! A key's partition is its routing hash modulo the partition count, and partition `p` lives on
//! worker `p mod workers`, so every occurrence of a key in a batch meets on one worker. Where
//! the operation is an associative reduction, each worker first combines what arrives together
//! (the engine's combiner, Spark's map-side combine), so one partial per key and arrival batch
//! crosses the network, not one record per occurrence.
//!
//! ```
//! use sluice_minibatch::testing::run_batches;
//! let input = vec![vec![("a".to_string(), 1u64), ("b".into(), 2), ("a".into(), 3)]];
//! let out = run_batches(1000, input, |pairs| pairs.reduce_by_key(|a, b| a + b)).unwrap();
//! let mut batch = out[0].clone();
//! batch.sort();
//! assert_eq!(batch, vec![("a".to_string(), 4), ("b".to_string(), 2)]);
//! ```

use std::hash::Hash;

use sluice_engine::hash::{new_map, HashMap};
use sluice_engine::operators::keyed::{Combiner, KeysWith, Reduce, Sum};
use sluice_engine::prelude::Stateless;
use sluice_engine::stream::{Data, Stream};
use sluice_engine::timely::dataflow::channels::pact::Exchange;
use sluice_engine::Time;

use crate::batch::{cross, Cogrouped};
use crate::dstream::{transform_missing, DStream};
use crate::each_batch::{each_batch, each_batch_folding};
use crate::error::Error;
use crate::partition::{partition_of, spread, Part};
use crate::presence::Presence;

/// A key with a value from either side or both (Spark's `fullOuterJoin` result).
pub type OuterJoined<K, V, W> = (K, (Option<V>, Option<W>));

/// Routes tagged records to their partition's home worker.
fn to_home<T: 'static>() -> Exchange<(Part, T), impl FnMut(&(Part, T)) -> u64> {
    Exchange::new(|(p, _): &(Part, T)| *p as u64)
}

/// Merges keyed partials per batch in their key's partition: `merge(acc, partial)`.
pub(crate) fn reduce_partials<'s, T, K, A>(
    parent: &DStream<'s, T>,
    partials: Stream<'s, (K, A)>,
    merge: impl Fn(&mut A, A) + 'static,
    partitions: Option<u32>,
) -> DStream<'s, (K, A)>
where
    T: Data,
    K: Data + Hash + Eq,
    A: Data,
{
    let n = partitions
        .unwrap_or_else(|| parent.graph.default_partitions())
        .max(1);
    let tagged = partials.map(move |(k, a)| (partition_of(&k, n), (k, a)));
    let nothing = sluice_engine::timely::dataflow::operators::generic::operator::empty::<
        Time,
        Vec<()>,
    >(parent.graph.scope());
    let fold = move |table: &mut HashMap<K, (Part, A)>, partials: &mut Vec<(Part, (K, A))>| {
        for (p, (k, a)) in partials.drain(..) {
            match table.get_mut(&k) {
                Some((_, acc)) => merge(acc, a),
                None => {
                    table.insert(k, (p, a));
                }
            }
        }
    };
    let reduced = each_batch_folding(
        "ReduceByKey",
        parent.graph.ticks(),
        (tagged, to_home()),
        (
            nothing,
            sluice_engine::timely::dataflow::channels::pact::Pipeline,
        ),
        (fold, |_: &mut (), _: &mut Vec<()>| {}),
        move |_, table: HashMap<K, (Part, A)>, _, out| {
            out.extend(table.into_iter().map(|(k, (p, a))| (p, (k, a))));
        },
    );
    DStream {
        graph: parent.graph.clone(),
        stream: reduced,
        slide: parent.slide,
        homes: spread(n as usize, parent.graph.scope().peers()),
        presence: parent.presence.clone(),
    }
}

impl<'s, T: Data> DStream<'s, T> {
    /// Counts, per key, the occurrences `extract` adds for each element — the fused,
    /// allocation-free form of `flat_map(..).map(|k| (k, 1)).reduce_by_key(+)` (keys may be
    /// borrowed from the element; an owned key is made once per key and arrival batch).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// let out = run_batches(1000, vec![vec!["a b a".to_string()]], |lines| {
    ///     lines.count_keys_with(|line, keys| line.split_whitespace().for_each(|w| keys.add(w, 1)))
    /// })
    /// .unwrap();
    /// let mut batch = out[0].clone();
    /// batch.sort();
    /// assert_eq!(batch, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
    /// ```
    pub fn count_keys_with<K: Data + Hash + Eq>(
        &self,
        mut extract: impl FnMut(T, &mut Combiner<K, u64, Sum>) + 'static,
    ) -> DStream<'s, (K, u64)> {
        let partials = self
            .stream
            .clone()
            .combine_with(Sum, move |(_, x), keys| extract(x, keys));
        reduce_partials(self, partials, |a: &mut u64, b| *a += b, None)
    }
}

impl<'s, K: Data + Hash + Eq, V: Data> DStream<'s, (K, V)> {
    /// Spark's `reduceByKey`: per batch, each key's values reduced with an associative `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let pairs = vec![vec![('a', 1u64), ('b', 2), ('a', 3)], vec![('a', 5)]];
    /// let out = run_sorted_batches(pairs, |s| s.reduce_by_key(|x, y| x + y)).unwrap();
    /// assert_eq!(out, vec![vec![('a', 4), ('b', 2)], vec![('a', 5)]]);
    /// ```
    pub fn reduce_by_key(&self, f: impl Fn(&V, &V) -> V + Clone + 'static) -> DStream<'s, (K, V)> {
        self.reduce_by_key_into(f, None)
    }

    /// Spark's `reduceByKey(func, numPartitions)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// // The same sums as `reduce_by_key`, in 3 partitions: (key, sum, partitions).
    /// let pairs = vec![vec![('a', 1u64), ('b', 2), ('a', 3)]];
    /// let out = run_sorted_batches(pairs, |s| {
    ///     let sums = s.reduce_by_key_into(|x, y| x + y, Some(3));
    ///     let partitions = sums.num_partitions();
    ///     sums.map(move |(k, v)| (k, v, partitions))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![('a', 4, 3), ('b', 2, 3)]]);
    /// ```
    pub fn reduce_by_key_into(
        &self,
        f: impl Fn(&V, &V) -> V + Clone + 'static,
        partitions: Option<u32>,
    ) -> DStream<'s, (K, V)> {
        let partials = self
            .stream
            .clone()
            .combine_with(Reduce(f.clone()), |(_, (k, v)), c| c.add_owned(k, v));
        reduce_partials(self, partials, move |acc, v| *acc = f(acc, &v), partitions)
    }

    /// Spark's `groupByKey`: per batch, each key with all its values (in arrival order).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let pairs = vec![vec![('a', 1u64), ('b', 2), ('a', 3)], vec![]];
    /// let out = run_sorted_batches(pairs, |s| s.group_by_key()).unwrap();
    /// assert_eq!(out, vec![vec![('a', vec![1, 3]), ('b', vec![2])], vec![]]);
    /// ```
    pub fn group_by_key(&self) -> DStream<'s, (K, Vec<V>)> {
        let n = self.graph.default_partitions();
        let grouped = self
            .keyed(n)
            .each_batch("GroupByKey", to_home(), move |_, records, out| {
                let mut groups: HashMap<K, (Part, Vec<V>)> = new_map();
                for (p, (k, v)) in records {
                    groups.entry(k).or_insert_with(|| (p, Vec::new())).1.push(v);
                }
                out.extend(groups.into_iter().map(|(k, (p, vs))| (p, (k, vs))));
            });
        self.repartitioned(grouped, n, self.presence.clone())
    }

    /// Spark's `mapValues`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let out = run_sorted_batches(vec![vec![('a', 1u64), ('b', 2)]], |s| {
    ///     s.map_values(|v| v * 10)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![('a', 10), ('b', 20)]]);
    /// ```
    pub fn map_values<U: Data>(&self, f: impl Fn(V) -> U + 'static) -> DStream<'s, (K, U)> {
        self.map(move |(k, v)| (k, f(v)))
    }

    /// Spark's `flatMapValues`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let out = run_sorted_batches(vec![vec![('a', 2u64), ('b', 0)]], |s| {
    ///     s.flat_map_values(|n| 0..n)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![('a', 0), ('a', 1)]]);
    /// ```
    pub fn flat_map_values<I>(&self, f: impl Fn(V) -> I + 'static) -> DStream<'s, (K, I::Item)>
    where
        I: IntoIterator,
        I::Item: Data,
    {
        self.flat_map(move |(k, v)| {
            let k2 = k.clone();
            f(v).into_iter()
                .map(move |u| (k2.clone(), u))
                .collect::<Vec<_>>()
        })
    }

    /// Spark's `cogroup`: per batch, each key of either stream with its values from each.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// let (left, right) = (vec![vec![('a', 1u64), ('b', 2)]], vec![vec![('a', 10u64)]]);
    /// let out = run_two_sorted_batches(left, right, |l, r| l.cogroup(&r)).unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![vec![('a', (vec![1], vec![10])), ('b', (vec![2], vec![]))]]
    /// );
    /// ```
    pub fn cogroup<W: Data>(&self, other: &DStream<'s, (K, W)>) -> DStream<'s, Cogrouped<K, V, W>> {
        if self.slide != other.slide {
            self.graph.problem(Error::requirement(
                "Some of the DStreams have different slide durations",
            ));
        }
        let n = self.graph.default_partitions();
        let grouped = each_batch(
            "Cogroup",
            self.graph.ticks(),
            (self.keyed(n).stream, to_home()),
            (other.keyed(n).stream, to_home()),
            move |_: Time, left, right, out| {
                let mut groups: HashMap<K, (Part, Vec<V>, Vec<W>)> = new_map();
                for (p, (k, v)) in left {
                    groups
                        .entry(k)
                        .or_insert_with(|| (p, Vec::new(), Vec::new()))
                        .1
                        .push(v);
                }
                for (p, (k, w)) in right {
                    groups
                        .entry(k)
                        .or_insert_with(|| (p, Vec::new(), Vec::new()))
                        .2
                        .push(w);
                }
                out.extend(
                    groups
                        .into_iter()
                        .map(|(k, (p, vs, ws))| (p, (k, (vs, ws)))),
                );
            },
        );
        let presence = Presence::all_of(
            vec![self.presence.clone(), other.presence.clone()],
            self.slide,
            transform_missing,
        );
        self.repartitioned(grouped, n, presence)
    }

    /// Spark's `join`: per batch, every pair of values of a key present in both streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// let (left, right) = (
    ///     vec![vec![('a', 1u64), ('b', 2)]],
    ///     vec![vec![('a', 10u64), ('a', 20)]],
    /// );
    /// let out = run_two_sorted_batches(left, right, |l, r| l.join(&r)).unwrap();
    /// assert_eq!(out, vec![vec![('a', (1, 10)), ('a', (1, 20))]]);
    /// ```
    pub fn join<W: Data>(&self, other: &DStream<'s, (K, W)>) -> DStream<'s, (K, (V, W))> {
        self.cogroup(other)
            .flat_map(|(k, (vs, ws))| cross(&k, &vs, &ws))
    }

    /// Spark's `leftOuterJoin`: every value of this stream, with each match or `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// let (left, right) = (
    ///     vec![vec![('a', 1u64), ('b', 2)]],
    ///     vec![vec![('a', 10u64), ('c', 30)]],
    /// );
    /// let out = run_two_sorted_batches(left, right, |l, r| l.left_outer_join(&r)).unwrap();
    /// assert_eq!(out, vec![vec![('a', (1, Some(10))), ('b', (2, None))]]);
    /// ```
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<'s, (K, W)>,
    ) -> DStream<'s, (K, (V, Option<W>))> {
        self.cogroup(other)
            .flat_map(|(k, (vs, ws))| cross(&k, &vs, &optional(ws)))
    }

    /// Spark's `rightOuterJoin`: every value of the other stream, with each match or `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// let (left, right) = (
    ///     vec![vec![('a', 1u64), ('b', 2)]],
    ///     vec![vec![('a', 10u64), ('c', 30)]],
    /// );
    /// let out = run_two_sorted_batches(left, right, |l, r| l.right_outer_join(&r)).unwrap();
    /// assert_eq!(out, vec![vec![('a', (Some(1), 10)), ('c', (None, 30))]]);
    /// ```
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<'s, (K, W)>,
    ) -> DStream<'s, (K, (Option<V>, W))> {
        self.cogroup(other)
            .flat_map(|(k, (vs, ws))| cross(&k, &optional(vs), &ws))
    }

    /// Spark's `fullOuterJoin`: every value of either stream, with each match or `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// let (left, right) = (
    ///     vec![vec![('a', 1u64), ('b', 2)]],
    ///     vec![vec![('a', 10u64), ('c', 30)]],
    /// );
    /// let out = run_two_sorted_batches(left, right, |l, r| l.full_outer_join(&r)).unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![vec![
    ///         ('a', (Some(1), Some(10))),
    ///         ('b', (Some(2), None)),
    ///         ('c', (None, Some(30)))
    ///     ]]
    /// );
    /// ```
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<'s, (K, W)>,
    ) -> DStream<'s, OuterJoined<K, V, W>> {
        self.cogroup(other)
            .flat_map(|(k, (vs, ws))| cross(&k, &optional(vs), &optional(ws)))
    }

    /// The records tagged with their key's partition among `n`.
    pub(crate) fn keyed(&self, n: u32) -> DStream<'s, (K, V)> {
        self.with_records(
            self.stream
                .clone()
                .map(move |(_, (k, v))| (partition_of(&k, n), (k, v))),
        )
    }

    /// A stream over `records`, already in their key's partition among `n`.
    pub(crate) fn repartitioned<U>(
        &self,
        records: Stream<'s, (Part, U)>,
        n: u32,
        presence: Presence,
    ) -> DStream<'s, U> {
        DStream {
            graph: self.graph.clone(),
            stream: records,
            slide: self.slide,
            homes: spread(n as usize, self.graph.scope().peers()),
            presence,
        }
    }
}

/// The values as options: each as `Some`, or one `None` when there are none (outer joins).
fn optional<T>(values: Vec<T>) -> Vec<Option<T>> {
    if values.is_empty() {
        vec![None]
    } else {
        values.into_iter().map(Some).collect()
    }
}
