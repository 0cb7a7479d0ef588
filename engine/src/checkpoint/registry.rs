//! The checkpointed instances of a job, and the dataflow graph that says their domains.
//!
//! Every source and stateful operator registers itself (by name, once per worker) when the
//! dataflow is built; the coordinator's writer counts an epoch's parts against this list, and
//! the graph — recorded from timely's channel log while the dataflows are built — says which of
//! them save at epochs of event time (see [`domain`](super::domain)).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::domain::{DataflowGraph, Domain};
use super::lock;
use super::part::PartKind;

/// The checkpointed operators and sources (by name, without the worker) with their kinds and
/// addresses, and the dataflow graph.
#[derive(Debug, Default)]
pub(crate) struct Operators {
    registered: BTreeMap<String, (PartKind, Vec<usize>)>,
    pub(crate) graph: DataflowGraph,
}

impl Operators {
    /// Records the instance `operator` (as named by [`PartKind::operator_name`]) at `address`.
    pub(super) fn register(&mut self, kind: PartKind, operator: String, address: &[usize]) {
        self.registered.insert(operator, (kind, address.to_vec()));
    }

    /// The address of `operator`, if registered.
    pub(super) fn address(&self, operator: &str) -> Option<&[usize]> {
        self.registered
            .get(operator)
            .map(|(_, address)| address.as_slice())
    }

    /// Every registered name, in order.
    pub(super) fn names(&self) -> Vec<String> {
        self.registered.keys().cloned().collect()
    }

    /// The registered instances of `kind`.
    pub(super) fn of_kind(&self, kind: PartKind) -> Vec<String> {
        self.registered
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The operators of `domain` (an operator whose inputs mix domains is in neither).
    pub(super) fn of(&self, domain: Domain) -> Vec<String> {
        self.registered
            .iter()
            .filter(|(_, (_, address))| self.graph.domain(address) == Ok(domain))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// What records the channels of the dataflows a worker builds into `operators`' graph, from
/// timely's event log, from which the coordinator knows which operators are in event time.
pub(super) fn graph_recorder(
    operators: Arc<Mutex<Operators>>,
) -> impl FnMut(&timely::logging::TimelyEvent) + 'static {
    move |event| {
        if let timely::logging::TimelyEvent::Channels(channel) = event {
            lock(&operators).graph.add_channel(
                &channel.scope_addr,
                channel.source.0,
                channel.target.0,
            );
        }
    }
}
