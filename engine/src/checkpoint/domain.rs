//! Time domains: which operators see the sources' time, and which see event time.
//!
//! A checkpoint of epoch `E` is a cut in the sources' time (the *stream* domain): every source
//! and every operator upstream of [`with_event_time`] saves its state as of `E`. Downstream of
//! `with_event_time`, timestamps are event times — the watermark, not the sources' clock — so
//! those operators save their state as of an *event-time* epoch `X` instead, and the checkpoint
//! of `E` pairs them with a cut `X(E)` that no worker's watermark had yet passed at `E` (see
//! [`coordinator`](super::coordinator)). `with_event_time` bridges the two: its snapshot at `E`
//! keeps the records it had forwarded at or after `X(E)`, and a restored job re-emits them.
//!
//! An operator's domain is found from the dataflow graph, which timely reports while the
//! dataflow is built (its channel log): an operator is in the event domain if its inputs come,
//! through any operators, from a `with_event_time`.
//!
//! [`with_event_time`]: crate::operators::event_time::EventTime::with_event_time

use std::collections::{BTreeMap, BTreeSet};

/// The time an operator's input timestamps are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Domain {
    /// The sources' time: checkpoint epochs are cuts of it.
    Stream,
    /// Event time, downstream of `with_event_time`.
    Event,
}

/// The operators and channels of the job's dataflows (the same on every worker).
#[derive(Debug, Default)]
pub struct DataflowGraph {
    /// Each operator's upstream operators, by address.
    inputs: BTreeMap<Vec<usize>, BTreeSet<Vec<usize>>>,
    /// The `with_event_time` operators.
    event_time: BTreeSet<Vec<usize>>,
}

impl DataflowGraph {
    /// A channel from operator `source` to operator `target` of the scope at `scope`.
    pub fn add_channel(&mut self, scope: &[usize], source: usize, target: usize) {
        let at = |node: usize| [scope, &[node]].concat();
        self.inputs
            .entry(at(target))
            .or_default()
            .insert(at(source));
    }

    /// Marks the operator at `address` as a `with_event_time`: what it emits is in event time.
    pub fn add_event_time(&mut self, address: &[usize]) {
        self.event_time.insert(address.to_vec());
    }

    /// The domain of the operator at `address`'s inputs; an error if they mix both.
    pub fn domain(&self, address: &[usize]) -> Result<Domain, String> {
        let mut found = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut upstream: Vec<Vec<usize>> = self.upstream(address).into_iter().collect();
        while let Some(node) = upstream.pop() {
            if !seen.insert(node.clone()) {
                continue;
            }
            if self.event_time.contains(&node) {
                found.insert(Domain::Event);
                continue;
            }
            let before = self.upstream(&node);
            if before.is_empty() {
                found.insert(Domain::Stream); // a source
            }
            upstream.extend(before);
        }
        match (
            found.contains(&Domain::Stream),
            found.contains(&Domain::Event),
        ) {
            (true, true) => Err(format!(
                "the operator at {address:?} has inputs in event time and in the sources' time"
            )),
            (false, true) => Ok(Domain::Event),
            _ => Ok(Domain::Stream),
        }
    }

    /// The operators feeding the one at `address`. A nested scope's input boundary (its node
    /// 0) is fed by what feeds the scope.
    fn upstream(&self, address: &[usize]) -> BTreeSet<Vec<usize>> {
        match address {
            [scope @ .., 0] if scope.len() > 1 => self.upstream(scope),
            _ => self.inputs.get(address).cloned().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_follow_the_channels_from_with_event_time() {
        // source 1 → map 2 → with_event_time 3 → window 4 → sink 5; source 6 → join 7 ← 4
        let mut graph = DataflowGraph::default();
        for (source, target) in [(1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (4, 7)] {
            graph.add_channel(&[0], source, target);
        }
        graph.add_event_time(&[0, 3]);
        assert_eq!(graph.domain(&[0, 2]), Ok(Domain::Stream));
        assert_eq!(graph.domain(&[0, 3]), Ok(Domain::Stream));
        assert_eq!(graph.domain(&[0, 4]), Ok(Domain::Event));
        assert_eq!(graph.domain(&[0, 5]), Ok(Domain::Event));
        assert!(graph.domain(&[0, 7]).is_err());
        assert_eq!(graph.domain(&[0, 1]), Ok(Domain::Stream));
    }
}
