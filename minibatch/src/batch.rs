//! `Batch<T>`: one batch of a DStream, whole — Sluice's analogue of Spark's RDD.
//!
//! `transform`, `transform_with` and `foreach_rdd` hand the function a `Batch`: the batch time
//! and the batch's partitions, in partition order, gathered on the driver (worker 0) as Spark
//! runs these functions on its driver. Its operations are the RDD operations such functions
//! use — element-wise ones keep the partitions, keyed ones hash-partition the result, `union`
//! concatenates partitions — evaluated eagerly in memory.
//!
//! ```
//! use sluice_minibatch::Batch;
//! let batch = Batch::parallelize(1000, vec![1u64, 2, 3, 4], 2);
//! assert_eq!(batch.partitions(), &[vec![1, 2], vec![3, 4]]);
//! let pairs = batch.map(|x| (x % 2, x)).reduce_by_key(|a, b| a + b);
//! let mut sums = pairs.collect();
//! sums.sort();
//! assert_eq!(sums, vec![(0, 6), (1, 4)]);
//! ```

use std::hash::Hash;

use sluice_engine::hash::{new_map, HashMap};
use sluice_engine::Time;

use crate::partition::{partition_of, Part};

/// A key with its values from each of two streams (Spark's `cogroup` result).
pub type Cogrouped<K, V, W> = (K, (Vec<V>, Vec<W>));

/// One batch: its time and its partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch<T> {
    time: Time,
    partitions: Vec<Vec<T>>,
}

impl<T> Batch<T> {
    /// A batch of the given partitions.
    pub fn new(time: Time, partitions: Vec<Vec<T>>) -> Self {
        Batch { time, partitions }
    }

    /// A batch of no elements in one partition (Spark's `emptyRDD`).
    pub fn empty(time: Time) -> Self {
        Batch::new(time, vec![Vec::new()])
    }

    /// Spark's `parallelize(items, n)`: `n` contiguous slices, slice `k` holding the items
    /// `[k·len/n, (k+1)·len/n)`.
    pub fn parallelize(time: Time, items: Vec<T>, n: usize) -> Self {
        let n = n.max(1);
        let len = items.len();
        let mut partitions: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        let mut k = 0;
        for (i, item) in items.into_iter().enumerate() {
            while i >= (k + 1) * len / n {
                k += 1;
            }
            partitions[k].push(item);
        }
        Batch::new(time, partitions)
    }

    /// Rebuilds a batch from partition-tagged records (each partition's records in order).
    pub(crate) fn from_tagged(time: Time, records: Vec<(Part, T)>, partitions: usize) -> Self {
        let mut parts: Vec<Vec<T>> = (0..partitions.max(1)).map(|_| Vec::new()).collect();
        for (p, x) in records {
            let p = p as usize;
            if p >= parts.len() {
                parts.resize_with(p + 1, Vec::new);
            }
            parts[p].push(x);
        }
        Batch::new(time, parts)
    }

    /// The batch time in ms.
    pub fn time(&self) -> Time {
        self.time
    }

    /// The partitions, in order.
    pub fn partitions(&self) -> &[Vec<T>] {
        &self.partitions
    }

    /// The number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.partitions.len()
    }

    /// The partitions, taken.
    pub fn into_partitions(self) -> Vec<Vec<T>> {
        self.partitions
    }

    /// All elements, partition by partition (Spark's `collect`).
    pub fn collect(self) -> Vec<T> {
        self.partitions.into_iter().flatten().collect()
    }

    /// The elements in collect order, borrowed.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.partitions.iter().flatten()
    }

    /// The number of elements (Spark's `count`).
    pub fn count(&self) -> usize {
        self.partitions.iter().map(Vec::len).sum()
    }

    /// Whether the batch has no elements.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The first `n` elements in collect order (Spark's `take`).
    pub fn take(&self, n: usize) -> Vec<&T> {
        self.iter().take(n).collect()
    }

    /// Spark's `map`, partition by partition.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Batch<U> {
        self.map_partitions(|part| part.into_iter().map(&f).collect())
    }

    /// `map` with a function that may fail: the first failure, or the mapped batch.
    pub fn try_map<U, E>(self, f: impl Fn(T) -> Result<U, E>) -> Result<Batch<U>, E> {
        let partitions = self
            .partitions
            .into_iter()
            .map(|part| part.into_iter().map(&f).collect())
            .collect::<Result<_, E>>()?;
        Ok(Batch::new(self.time, partitions))
    }

    /// Spark's `flatMap`.
    pub fn flat_map<I: IntoIterator>(self, f: impl Fn(T) -> I) -> Batch<I::Item> {
        self.map_partitions(|part| part.into_iter().flat_map(&f).collect())
    }

    /// Spark's `filter`.
    pub fn filter(self, predicate: impl Fn(&T) -> bool) -> Batch<T> {
        self.map_partitions(|part| part.into_iter().filter(|x| predicate(x)).collect())
    }

    /// Spark's `mapPartitions`: each partition to a new one.
    pub fn map_partitions<U>(self, f: impl Fn(Vec<T>) -> Vec<U>) -> Batch<U> {
        Batch::new(self.time, self.partitions.into_iter().map(f).collect())
    }

    /// Spark's `glom`: each partition as one element.
    pub fn glom(self) -> Batch<Vec<T>> {
        self.map_partitions(|part| vec![part])
    }

    /// Spark's `union`: this batch's partitions, then `other`'s.
    pub fn union(mut self, other: Batch<T>) -> Batch<T> {
        self.partitions.extend(other.partitions);
        self
    }

    /// Spark's `reduce`: the elements reduced with `f`, or `None` for an empty batch.
    pub fn reduce(self, f: impl Fn(T, T) -> T) -> Option<T> {
        self.partitions.into_iter().flatten().reduce(f)
    }

    /// The number of partitions a keyed result gets: as many as this batch has.
    fn keyed_partitions(&self) -> u32 {
        self.partitions.len().max(1) as u32
    }
}

impl<T: Hash + Eq + Clone> Batch<T> {
    /// Spark's `countByValue` as a batch of `(element, count)` pairs.
    pub fn count_by_value(self) -> Batch<(T, u64)> {
        self.map(|x| (x, 1u64)).reduce_by_key(|a, b| a + b)
    }
}

impl<K: Hash + Eq + Clone, V> Batch<(K, V)> {
    /// Spark's `reduceByKey`, hash-partitioned.
    pub fn reduce_by_key(self, f: impl Fn(V, V) -> V) -> Batch<(K, V)> {
        let n = self.keyed_partitions();
        let time = self.time;
        let mut table: HashMap<K, V> = new_map();
        for (k, v) in self.partitions.into_iter().flatten() {
            let merged = match table.remove(&k) {
                Some(acc) => f(acc, v),
                None => v,
            };
            table.insert(k, merged);
        }
        hash_partitioned(time, table, n)
    }

    /// Spark's `groupByKey`, hash-partitioned; values in collect order.
    pub fn group_by_key(self) -> Batch<(K, Vec<V>)> {
        let n = self.keyed_partitions();
        let time = self.time;
        let mut groups: HashMap<K, Vec<V>> = new_map();
        for (k, v) in self.partitions.into_iter().flatten() {
            groups.entry(k).or_default().push(v);
        }
        hash_partitioned(time, groups, n)
    }

    /// Spark's `mapValues`.
    pub fn map_values<U>(self, f: impl Fn(V) -> U) -> Batch<(K, U)> {
        self.map(|(k, v)| (k, f(v)))
    }

    /// Spark's `cogroup`: each key of either batch with its values from each.
    pub fn cogroup<W>(self, other: Batch<(K, W)>) -> Batch<Cogrouped<K, V, W>> {
        let n = self.keyed_partitions().max(other.keyed_partitions());
        let time = self.time;
        let mut groups: HashMap<K, (Vec<V>, Vec<W>)> = new_map();
        for (k, v) in self.partitions.into_iter().flatten() {
            groups
                .entry(k)
                .or_insert_with(|| (Vec::new(), Vec::new()))
                .0
                .push(v);
        }
        for (k, w) in other.partitions.into_iter().flatten() {
            groups
                .entry(k)
                .or_insert_with(|| (Vec::new(), Vec::new()))
                .1
                .push(w);
        }
        hash_partitioned(time, groups, n)
    }

    /// Spark's `join`: every pair of values of a key present in both batches.
    pub fn join<W: Clone>(self, other: Batch<(K, W)>) -> Batch<(K, (V, W))>
    where
        V: Clone,
    {
        self.cogroup(other)
            .flat_map(|(k, (vs, ws))| cross(&k, &vs, &ws))
    }
}

/// A batch holding `table`'s entries in their keys' partitions among `n`.
fn hash_partitioned<K: Hash, V>(time: Time, table: HashMap<K, V>, n: u32) -> Batch<(K, V)> {
    let mut partitions: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
    for (k, v) in table {
        partitions[partition_of(&k, n) as usize].push((k, v));
    }
    Batch::new(time, partitions)
}

/// Every pair of a value from `vs` and one from `ws`, under `key`.
pub(crate) fn cross<K: Clone, A: Clone, B: Clone>(key: &K, vs: &[A], ws: &[B]) -> Vec<(K, (A, B))> {
    let mut out = Vec::with_capacity(vs.len() * ws.len());
    for v in vs {
        out.extend(ws.iter().map(|w| (key.clone(), (v.clone(), w.clone()))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallelize_slices_like_spark() {
        let b = Batch::parallelize(0, (1..=5).collect::<Vec<u64>>(), 2);
        assert_eq!(b.partitions(), &[vec![1, 2], vec![3, 4, 5]]);
        let b = Batch::parallelize(0, vec![1u64], 3);
        assert_eq!(b.partitions(), &[vec![], vec![], vec![1]]);
    }

    #[test]
    fn join_pairs_every_match() {
        let left = Batch::parallelize(0, vec![("a", 1), ("a", 2), ("b", 3)], 2);
        let right = Batch::parallelize(0, vec![("a", "x"), ("c", "y")], 1);
        let mut joined = left.join(right).collect();
        joined.sort();
        assert_eq!(joined, vec![("a", (1, "x")), ("a", (2, "x"))]);
    }
}
