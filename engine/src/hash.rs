//! Key hashing that every process agrees on.
//!
//! Exchange routing is decided on the sending worker (`hash % peers`, or the low bits for a
//! power-of-two worker count), so all processes must hash a key identically: a fixed-seed
//! foldhash, never a randomly seeded hasher. Local hash maps use the same fast hasher.

use std::hash::{BuildHasher, Hash};

/// The fixed seed shared by every Sluice process.
const SEED: u64 = 0x5111_CE00_D00D_F00D;

/// The hasher builder used for routing and for worker-local state.
pub type FixedState = foldhash::fast::FixedState;

/// A hasher builder with Sluice's fixed seed.
pub fn fixed_state() -> FixedState {
    FixedState::with_seed(SEED)
}

/// The routing hash of a key: the same in every process and every run.
///
/// ```
/// assert_eq!(sluice_engine::hash::route("word"), sluice_engine::hash::route("word"));
/// ```
pub fn route<K: Hash + ?Sized>(key: &K) -> u64 {
    fixed_state().hash_one(key)
}

/// A `HashMap` with the fixed hasher.
pub type HashMap<K, V> = std::collections::HashMap<K, V, FixedState>;

/// An empty [`HashMap`] with the fixed hasher.
pub fn new_map<K, V>() -> HashMap<K, V> {
    HashMap::with_hasher(fixed_state())
}
