//! Partitions: how a DStream's records are split within a batch, and where each split lives.
//!
//! Every record travels tagged with its partition (`(Part, T)`); partition `p` of a stream with
//! `n` partitions lives on worker `p mod workers`, its *home*. A keyed operation puts a key in
//! the partition its routing hash picks, so all of a key's records of a batch meet on one worker.

use std::hash::Hash;
use std::rc::Rc;

use sluice_engine::hash::route;

/// A partition index.
pub type Part = u32;

/// The home worker of each of `n` partitions spread over `peers` workers.
pub(crate) fn spread(n: usize, peers: usize) -> Rc<[usize]> {
    (0..n).map(|p| p % peers).collect()
}

/// The partition of `key` among `partitions`.
pub(crate) fn partition_of<K: Hash>(key: &K, partitions: u32) -> Part {
    (route(key) % partitions as u64) as Part
}
