//! What a checkpointed operator is made of: its own logic, behind one trait.
//!
//! An operator implements [`Checkpointed`] — how records change its state, what it must emit
//! before an epoch is saved, what it saves — and the core ([`EpochGate::arrive`] and
//! [`EpochGate::settle`], and the builders over them) runs the checkpoint protocol around it.
//! Records come with an [`At`]: the capability they arrived with, or the ones the gate kept for
//! them while it held them back; the operator emits through either the same way.
//!
//! [`EpochGate::arrive`]: super::EpochGate::arrive
//! [`EpochGate::settle`]: super::EpochGate::settle

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use timely::dataflow::operators::{Capability, CapabilityTrait, InputCapability};
use timely::progress::frontier::MutableAntichain;
use timely::progress::{ChangeBatch, Stamp};

use crate::checkpoint::Coordinator;
use crate::job::JobContext;
use crate::time::Time;

/// A stateful operator's logic, driven by its [`EpochGate`](super::EpochGate): `O` is what it
/// emits through (an output session, or a pair of them).
///
/// The gate calls [`apply`](Self::apply) with the records it lets through as they arrive; when
/// the frontier passes an epoch, [`close_before`](Self::close_before), then saves
/// [`image`](Self::image), then `apply` again with the records it held back; and, at the end
/// of every activation, [`on_frontier`](Self::on_frontier).
pub trait Checkpointed<O> {
    /// What the operator reads (and its gate holds back).
    type Record;

    /// Applies `records`, all at `at`'s time, emitting what they cause through `out`.
    fn apply(&mut self, at: &At<'_>, records: impl Iterator<Item = Self::Record>, out: &mut O);

    /// Before `saving.epoch` is saved: emits what ends before it (windows, joined pairs), so
    /// that the snapshot holds only what comes after — after the input's end
    /// ([`saving.last`](Saving::last)), everything.
    fn close_before(&mut self, saving: &Saving<'_>, out: &mut O) {
        let _ = (saving, out);
    }

    /// The state as a checkpoint holds it; its encoding is the operator's checkpoint format.
    fn image(&self) -> impl Serialize + '_;

    /// The event-time cut of the state just closed (only `with_event_time` has one; see
    /// [`domain`](crate::checkpoint::domain)).
    fn event_cut(&self) -> Option<Time> {
        None
    }

    /// At the end of every activation: emits what the frontiers have completed, frees what they
    /// have passed.
    fn on_frontier(&mut self, frontiers: &Frontiers<'_>, out: &mut O) {
        let _ = (frontiers, out);
    }

    /// How many entries the operator's state holds, if it reports them to the job's
    /// [`state_entries`](crate::JobContext::state_entries) (checked after every activation).
    fn state_entries(&self) -> Option<usize> {
        None
    }

    /// Whether the operator stops taking input (the job was aborted): what arrives, and what the
    /// gate holds, is dropped, and nothing more is saved.
    fn gives_up(&mut self) -> bool {
        false
    }
}

/// The time of a batch of records, and the capability to emit at or after it: the one they
/// arrived with, or — released by the gate — one kept for each output while they were held.
pub enum At<'a> {
    /// Let through on arrival.
    Arrived(&'a InputCapability<Time>),
    /// Released after a save, at this time, with a capability for each output.
    Held(Time, &'a [Capability<Time>]),
}

impl At<'_> {
    /// The records' time.
    pub fn time(&self) -> Time {
        match self {
            At::Arrived(cap) => *cap.least().expect("a Vec message has one time"),
            At::Held(time, _) => *time,
        }
    }

    /// A capability at `time` (at or after the records') for output `port`.
    pub fn delayed(&self, time: &Time, port: usize) -> Capability<Time> {
        match self {
            At::Arrived(cap) => cap.delayed(time, port),
            At::Held(_, caps) => caps[port].delayed(time),
        }
    }
}

/// An `At` opens a session on any output it holds a capability for.
impl CapabilityTrait<Time> for At<'_> {
    fn stamp(&self) -> Stamp<Time> {
        match self {
            At::Arrived(cap) => cap.stamp(),
            At::Held(time, _) => Stamp::from_elem(*time),
        }
    }

    fn valid_for_output(&self, buffer: &Rc<RefCell<ChangeBatch<Time>>>, port: usize) -> bool {
        match self {
            At::Arrived(cap) => cap.valid_for_output(buffer, port),
            At::Held(_, caps) => caps.iter().any(|c| c.valid_for_output(buffer, port)),
        }
    }
}

/// An operator's input frontiers during one activation.
#[derive(Clone, Copy)]
pub struct Frontiers<'a> {
    inputs: &'a [&'a MutableAntichain<Time>],
    all: &'a MutableAntichain<Time>,
    holds_from: Time,
}

impl<'a> Frontiers<'a> {
    /// The frontiers of `inputs`, whose meet is `all` (the one input's, for a unary operator).
    pub fn new(inputs: &'a [&'a MutableAntichain<Time>], all: &'a MutableAntichain<Time>) -> Self {
        Frontiers {
            inputs,
            all,
            holds_from: Time::MAX,
        }
    }

    /// Input `i`'s frontier.
    pub fn input(&self, i: usize) -> &'a MutableAntichain<Time> {
        self.inputs[i]
    }

    /// The frontier of all inputs together: what the gate waits on.
    pub fn all(&self) -> &'a MutableAntichain<Time> {
        self.all
    }

    /// The time from which the gate may still hold records back: an operator with two inputs,
    /// whose frontiers can each be ahead of it, takes what one input's frontier has passed only
    /// below it. `Time::MAX` without checkpointing.
    pub fn holds_from(&self) -> Time {
        self.holds_from
    }

    pub(super) fn holding_from(mut self, time: Time) -> Self {
        self.holds_from = time;
        self
    }
}

/// An epoch about to be saved, as [`Checkpointed::close_before`] sees it.
pub struct Saving<'a> {
    /// The epoch: the snapshot holds the effect of every record before it, and of none after.
    pub epoch: Time,
    /// Whether this is the last save: the input has ended and nothing is held back.
    pub last: bool,
    /// The input frontiers.
    pub frontiers: &'a Frontiers<'a>,
    /// The job's checkpoint coordinator (none without checkpointing).
    pub(super) coordinator: Option<&'a Coordinator>,
    pub(super) job: &'a JobContext,
}

impl Saving<'_> {
    /// Whether what ends at `time` closes before this save: it ends before the epoch, or the
    /// input has ended.
    pub fn closes(&self, time: Time) -> bool {
        time < self.epoch || self.last
    }

    /// The event-time cut below which no checkpoint will ever cut again (see
    /// [`Coordinator::event_floor`](crate::checkpoint::Coordinator::event_floor)).
    /// 0 without checkpointing.
    pub fn event_floor(&self) -> Time {
        let Some(coordinator) = self.coordinator else {
            return 0;
        };
        coordinator.event_floor().unwrap_or_else(|error| {
            self.job.fail(error);
            0
        })
    }
}
