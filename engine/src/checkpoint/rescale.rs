//! Rescaling: state saved by one number of workers, restored into another.
//!
//! Keyed state — `(key, state)` pairs — is divided by key group (see [`hash`](crate::hash)):
//! [`Coordinator::restore_keyed`](super::Coordinator::restore_keyed) reads only the old parts
//! whose groups overlap the new worker's. State of another shape says how it divides by
//! implementing [`Rescale`]: windows keyed inside keep the keys of the new worker's groups,
//! windows routed by their end keep the ends of its groups, and state that is per worker
//! rather than per key (a watermark, a sink's progress) merges conservatively, each old
//! worker's unkeyed leftovers going to one heir ([`Share::inherits`]). State that
//! implements neither is refused on a rescale, naming its operator (Flink refuses operator
//! state it cannot redistribute the same way).
//!
//! ```
//! use sluice_engine::checkpoint::rescale::{Rescale, Share};
//! // Two old workers' open windows, by end, each with per-key counts.
//! let old: Vec<Vec<(u64, Vec<(String, u64)>)>> = vec![
//!     vec![(1000, vec![("a".into(), 2)])],
//!     vec![(1000, vec![("b".into(), 1)]), (2000, vec![("c".into(), 5)])],
//! ];
//! // One worker now: it has every key of every window, each window once.
//! let mine = Vec::<(u64, Vec<(String, u64)>)>::rescale(old, Share::new(0, 1)).unwrap();
//! assert_eq!(mine.len(), 2);
//! assert_eq!(mine[0].1.len(), 2);
//! ```

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::ops::Range;

use crate::hash::{groups_of, key_group};
use crate::time::Time;

/// The share of the state a rescaled restore is for: worker `worker` of `workers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// The worker's index among all workers of all processes.
    pub worker: usize,
    /// Workers in all processes.
    pub workers: usize,
}

impl Share {
    /// Worker `worker` of `workers`.
    pub fn new(worker: usize, workers: usize) -> Share {
        Share { worker, workers }
    }

    /// The key groups this worker owns.
    pub fn groups(&self) -> Range<u64> {
        groups_of(self.worker, self.workers)
    }

    /// Whether `key` is this worker's: keyed routing sends it here.
    pub fn owns<K: Hash + ?Sized>(&self, key: &K) -> bool {
        self.groups().contains(&key_group(key))
    }

    /// Whether the unkeyed leftovers of old worker `old` (records it had forwarded, files
    /// it had written) come to this worker: old worker `i` to new worker `i mod workers`, so
    /// that each has exactly one heir.
    pub fn inherits(&self, old: usize) -> bool {
        old % self.workers == self.worker
    }
}

/// State that a restore can divide among another number of workers than saved it.
pub trait Rescale: Sized {
    /// The state of `share`, from every old worker's part, in old worker order; an error
    /// says why this state cannot be divided.
    fn rescale(parts: Vec<Self>, share: Share) -> Result<Self, String>;
}

/// Windows by end, each with per-key state (keyed routing): the keys of the share's groups,
/// each window once.
impl<K: Hash, S> Rescale for Vec<(Time, Vec<(K, S)>)> {
    fn rescale(parts: Vec<Self>, share: Share) -> Result<Self, String> {
        let mut windows: BTreeMap<Time, Vec<(K, S)>> = BTreeMap::new();
        for (end, keys) in parts.into_iter().flatten() {
            let mine = keys.into_iter().filter(|(k, _)| share.owns(k));
            windows.entry(end).or_default().extend(mine);
        }
        Ok(windows.into_iter().collect())
    }
}

/// Windows by end, whether each has fired, and per-key state (keyed routing): as above; a
/// window has fired if it had on any old worker (they fire together, at the frontier).
impl<K: Hash, S> Rescale for Vec<(Time, bool, Vec<(K, S)>)> {
    fn rescale(parts: Vec<Self>, share: Share) -> Result<Self, String> {
        let mut windows: BTreeMap<Time, (bool, Vec<(K, S)>)> = BTreeMap::new();
        for (end, fired, keys) in parts.into_iter().flatten() {
            let window = windows.entry(end).or_default();
            window.0 |= fired;
            window
                .1
                .extend(keys.into_iter().filter(|(k, _)| share.owns(k)));
        }
        Ok(windows
            .into_iter()
            .map(|(end, (fired, keys))| (end, fired, keys))
            .collect())
    }
}

impl<S: Rescale> Rescale for Option<S> {
    fn rescale(parts: Vec<Self>, share: Share) -> Result<Self, String> {
        let parts: Vec<S> = parts.into_iter().flatten().collect();
        if parts.is_empty() {
            return Ok(None);
        }
        S::rescale(parts, share).map(Some)
    }
}

/// The position of a source whose readers each scan the whole input and keep their share
/// (the event log, a timed file): readers at one offset have together emitted exactly what
/// lies before it, so any number of readers go on from there. Readers that stopped at
/// different positions cannot be re-divided.
pub fn same_position<O: PartialEq + Debug>(positions: Vec<O>, _: Share) -> Result<O, String> {
    if positions.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(format!(
            "its readers stopped at different positions, {positions:?}; a savepoint taken as \
             the job stopped has them at one"
        ));
    }
    positions
        .into_iter()
        .next()
        .ok_or_else(|| "no reader's position".to_string())
}

/// The default of a source whose readers each keep a position in their own share of the
/// input: it cannot be divided.
pub fn own_positions<O>(_: Vec<O>, _: Share) -> Result<O, String> {
    Err("each reader's position in its own share of the input".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker's windows: end, whether fired, and per-key state.
    type Windows = Vec<(Time, bool, Vec<(u64, u64)>)>;

    /// Every key's windows, as one map, from any number of shares.
    fn union(shares: &[Windows]) -> BTreeMap<(Time, u64), (bool, u64)> {
        let mut all = BTreeMap::new();
        for share in shares {
            for (end, fired, keys) in share {
                for (k, s) in keys {
                    assert!(
                        all.insert((*end, *k), (*fired, *s)).is_none(),
                        "key {k} twice"
                    );
                }
            }
        }
        all
    }

    #[test]
    fn windows_divided_and_merged_keep_every_key_once() {
        let saved: Vec<Windows> = (0..3)
            .map(|w| {
                let keys = |end: u64| {
                    (0..200)
                        .filter(|k| (k + end) % 3 == w)
                        .map(|k| (k, k * end))
                        .collect()
                };
                vec![(1000, true, keys(1000)), (2000, false, keys(2000))]
            })
            .collect();
        let before = union(&saved);
        for workers in [1, 2, 5] {
            let shares: Vec<_> = (0..workers)
                .map(|w| Rescale::rescale(saved.clone(), Share::new(w, workers)).unwrap())
                .collect();
            assert_eq!(union(&shares), before, "{workers} workers");
            for (w, share) in shares.iter().enumerate() {
                let s = Share::new(w, workers);
                assert!(share
                    .iter()
                    .all(|(_, _, keys)| keys.iter().all(|(k, _)| s.owns(k))));
            }
        }
    }

    #[test]
    fn each_old_worker_has_one_heir() {
        for workers in 1..5 {
            for old in 0..7 {
                let heirs = (0..workers)
                    .filter(|&w| Share::new(w, workers).inherits(old))
                    .count();
                assert_eq!(heirs, 1);
            }
        }
    }
}
