//! `updateStateByKey`: state per key, carried from batch to batch.
//!
//! In every batch the update function runs for every key that has new values **or** state —
//! also when the batch is empty, or the parent has no batch at all — and its answer replaces the
//! key's state; `None` removes the key. The stream's batch is the whole state. That is Spark's
//! contract (`StateDStream`), and what makes it different from the engine's native
//! `update_state_by_key`, which runs only for keys that received values.
//!
//! ```
//! use sluice_minibatch::testing::run_batches;
//! let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
//! let out = run_batches(1000, vec![words(&["a", "b"]), words(&["a"]), vec![]], |words| {
//!     words
//!         .map(|w| (w, 1u64))
//!         .update_state_by_key(|values: Vec<u64>, total: Option<u64>| {
//!             Some(total.unwrap_or(0) + values.iter().sum::<u64>())
//!         })
//! })
//! .unwrap();
//! let last = {
//!     let mut b = out[2].clone();
//!     b.sort();
//!     b
//! };
//! assert_eq!(last, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
//! ```

use std::hash::Hash;

use sluice_engine::hash::{new_map, HashMap};
use sluice_engine::keyed_state::KeyedState;
use sluice_engine::stream::Data;
use sluice_engine::timely::dataflow::channels::pact::Exchange;
use sluice_engine::Time;

use crate::dstream::DStream;
use crate::each_batch::Divide;
use crate::partition::{partition_of, spread, Part};
use crate::presence::Presence;

/// The update function of the general form: `(batch time, key, new values, state) → state`.
type UpdateFn<K, V, S> = Box<dyn FnMut(Time, &K, Vec<V>, Option<S>) -> Option<S>>;

/// A state update with its options — Spark's `updateStateByKey` overloads as one builder.
///
/// ```
/// # use sluice_minibatch::StateUpdate;
/// let update = StateUpdate::new(|_time, _key: &String, values: Vec<u64>, state: Option<u64>| {
///     Some(state.unwrap_or(0) + values.len() as u64)
/// })
/// .initial_state(vec![("a".to_string(), 10)])
/// .num_partitions(4);
/// # let _ = update;
/// ```
pub struct StateUpdate<K, V, S> {
    update: UpdateFn<K, V, S>,
    initial: Vec<(K, S)>,
    partitions: Option<u32>,
}

impl<K, V, S> StateUpdate<K, V, S> {
    /// Updates with `f(batch time, key, values, state)`.
    pub fn new(f: impl FnMut(Time, &K, Vec<V>, Option<S>) -> Option<S> + 'static) -> Self {
        StateUpdate {
            update: Box::new(f),
            initial: Vec::new(),
            partitions: None,
        }
    }

    /// The state before the first batch (Spark's `initialRDD`).
    pub fn initial_state(mut self, pairs: Vec<(K, S)>) -> Self {
        self.initial = pairs;
        self
    }

    /// How many partitions the state is spread over (Spark's `numPartitions`).
    pub fn num_partitions(mut self, partitions: u32) -> Self {
        self.partitions = Some(partitions.max(1));
        self
    }
}

impl<'s, K: Data + Hash + Eq, V: Data> DStream<'s, (K, V)> {
    /// Spark's `updateStateByKey(updateFunc)`: `f(values, state)` for every key with values or
    /// state, in every batch; `None` removes the key.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// // A running sum per key, emitted for every key in every batch.
    /// let batches = vec![vec![('a', 1u64)], vec![('a', 2), ('b', 1)], vec![]];
    /// let out = run_sorted_batches(batches, |s| {
    ///     s.update_state_by_key(|values, sum: Option<u64>| {
    ///         Some(sum.unwrap_or(0) + values.iter().sum::<u64>())
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         vec![('a', 1)],
    ///         vec![('a', 3), ('b', 1)],
    ///         vec![('a', 3), ('b', 1)]
    ///     ]
    /// );
    /// ```
    pub fn update_state_by_key<S: Data>(
        &self,
        mut f: impl FnMut(Vec<V>, Option<S>) -> Option<S> + 'static,
    ) -> DStream<'s, (K, S)> {
        self.update_state_by_key_with(StateUpdate::new(move |_, _, values, state| {
            f(values, state)
        }))
    }

    /// Spark's `updateStateByKey` with the batch time and key, an initial state and a partition
    /// count, as given by `update`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::{testing::run_sorted_batches, StateUpdate};
    /// // A running sum per key, starting from an initial state.
    /// let out = run_sorted_batches(vec![vec![('a', 1u64)], vec![('b', 2)]], |s| {
    ///     s.update_state_by_key_with(
    ///         StateUpdate::new(|_time, _key, values: Vec<u64>, sum: Option<u64>| {
    ///             Some(sum.unwrap_or(0) + values.iter().sum::<u64>())
    ///         })
    ///         .initial_state(vec![('a', 10)]),
    ///     )
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![('a', 11)], vec![('a', 11), ('b', 2)]]);
    /// ```
    pub fn update_state_by_key_with<S: Data>(
        &self,
        update: StateUpdate<K, V, S>,
    ) -> DStream<'s, (K, S)> {
        self.graph.needs_checkpoint();
        let StateUpdate {
            mut update,
            initial,
            partitions,
        } = update;
        let n = partitions.unwrap_or_else(|| self.graph.default_partitions());
        let homes = spread(n as usize, self.graph.scope().peers());
        let me = self.graph.scope().index();
        let mut state: KeyedState<K, S> = KeyedState::new();
        for (k, s) in initial {
            if homes[partition_of(&k, n) as usize] == me {
                state.insert(k, s);
            }
        }
        let presence = Presence::from_first_of(self.presence.clone(), self.slide);
        let present = presence.clone();
        // On a rescale, each key's state goes to the home of its partition among the new
        // workers, where its records now go.
        let divide: Divide<KeyedState<K, S>> = Box::new(move |parts, share| {
            let homes = spread(n as usize, share.workers);
            let mut mine = KeyedState::new();
            for mut part in parts {
                for (k, s) in part.drain() {
                    if homes[partition_of(&k, n) as usize] == share.worker {
                        mine.insert(k, s);
                    }
                }
            }
            Ok(mine)
        });
        let updated = self.keyed(n).each_batch_with_state(
            "UpdateStateByKey",
            Exchange::new(|(p, _): &(Part, (K, V))| *p as u64),
            (state, divide),
            move |state, t, records, out| {
                if present.at(t) != Ok(true) {
                    return;
                }
                let mut values: HashMap<K, Vec<V>> = new_map();
                for (_, (k, v)) in records {
                    values.entry(k).or_default().push(v);
                }
                let mut next = KeyedState::new();
                for (k, s) in state.drain() {
                    let vs = values.remove(&k).unwrap_or_default();
                    if let Some(s) = update(t, &k, vs, Some(s)) {
                        next.insert(k, s);
                    }
                }
                for (k, vs) in values.drain() {
                    if let Some(s) = update(t, &k, vs, None) {
                        next.insert(k, s);
                    }
                }
                out.extend(
                    next.iter()
                        .map(|(k, s)| (partition_of(k, n), (k.clone(), s.clone()))),
                );
                *state = next;
            },
        );
        self.repartitioned(updated, n, presence)
    }
}
