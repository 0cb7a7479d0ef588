//! Worker-local keyed state, behind one small interface.
//!
//! Every stateful operator keeps its per-key state in a [`KeyedState`]: a hash map with the
//! fixed hasher, plus [`snapshot`](KeyedState::snapshot) and [`restore`](KeyedState::restore) so
//! that checkpointing has exactly one thing to save and load per operator and worker.
//!
//! ```
//! use sluice_engine::keyed_state::KeyedState;
//! let mut counts: KeyedState<String, u64> = KeyedState::new();
//! *counts.get_or_insert_with("a".to_string(), || 0) += 2;
//! let image = counts.snapshot();
//! let mut restored = KeyedState::new();
//! restored.restore(image);
//! assert_eq!(restored.get("a"), Some(&2));
//! ```

use std::borrow::Borrow;
use std::hash::Hash;

use crate::hash::{new_map, HashMap};

/// Per-key state of one operator on one worker.
#[derive(Debug)]
pub struct KeyedState<K, S> {
    map: HashMap<K, S>,
}

impl<K: Hash + Eq, S> Default for KeyedState<K, S> {
    fn default() -> Self {
        KeyedState { map: new_map() }
    }
}

impl<K: Hash + Eq, S> KeyedState<K, S> {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }
    /// The state of `key`, if any.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&S>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)
    }
    /// The state of `key`, mutable, if any.
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut S>
    where
        K: Borrow<Q>,
    {
        self.map.get_mut(key)
    }
    /// The state of `key`, created by `init` if absent.
    pub fn get_or_insert_with(&mut self, key: K, init: impl FnOnce() -> S) -> &mut S {
        self.map.entry(key).or_insert_with(init)
    }
    /// Sets the state of `key`.
    pub fn insert(&mut self, key: K, state: S) {
        self.map.insert(key, state);
    }
    /// Removes `key`'s state, returning it.
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<S>
    where
        K: Borrow<Q>,
    {
        self.map.remove(key)
    }
    /// Number of keys with state.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no key has state.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Every key and its state, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &S)> {
        self.map.iter()
    }
    /// Removes and returns every key and its state.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, S)> + '_ {
        self.map.drain()
    }
    /// A copy of the whole state, sorted by nothing: what a checkpoint stores.
    pub fn snapshot(&self) -> Vec<(K, S)>
    where
        K: Clone,
        S: Clone,
    {
        self.map
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect()
    }
    /// Replaces the state by a snapshot.
    pub fn restore(&mut self, image: impl IntoIterator<Item = (K, S)>) {
        self.map.clear();
        self.map.extend(image);
    }
}

/// A keyed state serializes as its `(key, state)` pairs (in no particular order), without
/// copying: what a checkpoint writes. It is restored with [`KeyedState::restore`] from a
/// `Vec<(K, S)>`.
impl<K: serde::Serialize, S: serde::Serialize> serde::Serialize for KeyedState<K, S> {
    fn serialize<Se: serde::Serializer>(&self, serializer: Se) -> Result<Se::Ok, Se::Error> {
        serializer.collect_seq(self.map.iter())
    }
}

/// A keyed state deserializes from the `(key, state)` pairs it serialized as.
impl<'de, K, S> serde::Deserialize<'de> for KeyedState<K, S>
where
    K: serde::Deserialize<'de> + Hash + Eq,
    S: serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(K, S)>::deserialize(deserializer)?;
        let mut state = KeyedState::new();
        state.restore(pairs);
        Ok(state)
    }
}
