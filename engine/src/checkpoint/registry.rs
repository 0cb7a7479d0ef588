//! The checkpointed instances of a job, their names, and the dataflow graph that says their
//! domains.
//!
//! Every source and stateful operator registers itself (once per worker) when the dataflow is
//! built; the coordinator's writer counts an epoch's parts against this list, and the graph —
//! recorded from timely's channel log while the dataflows are built — says which of them save
//! at epochs of event time (see [`domain`](super::domain)).
//!
//! **Names are the operators' identity** (Flink's operator uids): a checkpoint stores state by
//! name, not by position in the graph, so that a program whose function bodies changed, or
//! that gained or lost stateful operators, still finds its state. A name is given with
//! [`Uid::uid`](crate::checkpointed::Uid::uid), or derived from the operator's kind: the first
//! `UpdateStateByKey` built on a worker is `UpdateStateByKey`, the second `UpdateStateByKey#2`,
//! and so on, in build order. Stateless operators take no name, so adding a map or changing a
//! filter changes none; adding a stateful operator of a kind already present *before* the
//! others shifts their derived names, which an explicit uid avoids.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::domain::{DataflowGraph, Domain};
use super::lock;
use super::part::PartKind;
use crate::error::Error;

/// One checkpointed operator or source: its kind, address, and the workers it was built on.
#[derive(Debug)]
struct Registered {
    kind: PartKind,
    address: Vec<usize>,
    workers: BTreeSet<usize>,
}

/// The checkpointed operators and sources (by name, without the worker) with their kinds and
/// addresses, and the dataflow graph.
#[derive(Debug, Default)]
pub(crate) struct Operators {
    registered: BTreeMap<String, Registered>,
    /// Per worker: how many instances of each kind it has named so far.
    derived: BTreeMap<(usize, String), usize>,
    /// Per worker: the uid given for the next stateful operator it builds.
    uids: BTreeMap<usize, String>,
    pub(crate) graph: DataflowGraph,
}

impl Operators {
    /// Gives the next checkpointed instance `worker` builds the name `uid`; an error if an
    /// earlier uid named nothing.
    pub(super) fn set_uid(&mut self, worker: usize, uid: &str) -> Result<(), Error> {
        match self.uids.insert(worker, uid.to_string()) {
            Some(unused) => Err(unused_uid(&unused)),
            None => Ok(()),
        }
    }

    /// The name of the instance of `kind` called `base` that `worker` builds now (see the
    /// module docs), registered at `address`; an error if another instance on `worker` has it.
    pub(super) fn register(
        &mut self,
        kind: PartKind,
        base: &str,
        address: &[usize],
        worker: usize,
    ) -> Result<String, Error> {
        let name = match self.uids.remove(&worker) {
            Some(uid) => kind.operator_name(&uid),
            None => {
                let count = self.derived.entry((worker, base.to_string())).or_default();
                *count += 1;
                match *count {
                    1 => kind.operator_name(base),
                    n => kind.operator_name(&format!("{base}#{n}")),
                }
            }
        };
        let registered = self
            .registered
            .entry(name.clone())
            .or_insert_with(|| Registered {
                kind,
                address: address.to_vec(),
                workers: BTreeSet::new(),
            });
        if !registered.workers.insert(worker) {
            return Err(Error::Config(format!(
                "two stateful operators are named {name}: give one another uid"
            )));
        }
        Ok(name)
    }

    /// Checks what `worker` built once its dataflows are built: an error if a uid named no
    /// stateful operator.
    pub(super) fn built(&mut self, worker: usize) -> Result<(), Error> {
        match self.uids.remove(&worker) {
            Some(unused) => Err(unused_uid(&unused)),
            None => Ok(()),
        }
    }

    /// The address of `operator`, if registered.
    pub(super) fn address(&self, operator: &str) -> Option<&[usize]> {
        self.registered
            .get(operator)
            .map(|registered| registered.address.as_slice())
    }

    /// Whether `worker` built `operator`.
    pub(super) fn is_on(&self, operator: &str, worker: usize) -> bool {
        self.registered
            .get(operator)
            .is_some_and(|registered| registered.workers.contains(&worker))
    }

    /// Every registered name, in order.
    pub(super) fn names(&self) -> Vec<String> {
        self.registered.keys().cloned().collect()
    }

    /// The registered instances of `kind`.
    pub(super) fn of_kind(&self, kind: PartKind) -> Vec<String> {
        self.registered
            .iter()
            .filter(|(_, registered)| registered.kind == kind)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The operators of `domain` (an operator whose inputs mix domains is in neither).
    pub(super) fn of(&self, domain: Domain) -> Vec<String> {
        self.registered
            .iter()
            .filter(|(_, registered)| self.graph.domain(&registered.address) == Ok(domain))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

fn unused_uid(uid: &str) -> Error {
    Error::Config(format!(
        "uid {uid} names no stateful operator: give it just before one (a source, a stateful \
         operator or an exactly-once sink)"
    ))
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
