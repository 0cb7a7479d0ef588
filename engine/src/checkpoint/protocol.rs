//! The checkpoint protocol between processes, carried by the dataflow itself: processes need
//! not see one checkpoint directory.
//!
//! Each process writes its own parts into its own checkpoint directory (which may be one that
//! all share). Its writer tells process 0 what it has made durable — an epoch complete here,
//! with its parts' sizes and checksums, its source offsets and lowest watermark
//! ([`Message::Completed`]), each event-time part saved ([`Message::EventSaved`]), the end
//! of its parts ([`Message::Done`]) — as Flink's tasks acknowledge a checkpoint to its
//! coordinator. Process 0 commits an epoch once every process has completed it: its own
//! directory's commit is the decision. It then tells the others ([`Message::Committed`]),
//! and each *promotes* its own pending parts of the epoch under the same metadata (nothing
//! to do when the directory is shared). A crash between the two leaves a process with the
//! epoch still pending; on restart the processes first [`agree`] on the epoch to resume from,
//! and a process promotes it then.
//!
//! The messages travel on a small dataflow of their own ([`connect`]) beside the job's, held
//! open until process 0 has made its last commit ([`Message::Close`]).
//!
//! ```text
//! process k's writer ──Completed / EventSaved / Done──▶ process 0's writer  (commits)
//! process k's writer ◀──────Committed / Close───────── process 0's writer
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::scheduling::SyncActivator;
use timely::worker::Worker;

use super::lock;
use super::store::Saved;
use crate::time::Time;

/// What the processes' checkpoint writers tell each other.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum Message {
    /// To process 0: `process` has made every part of `epoch` durable.
    Completed {
        process: usize,
        epoch: Time,
        /// The lowest watermark of its `with_event_time` instances at the epoch.
        watermark: Option<Time>,
        /// Its parts of the epoch, with their sizes and checksums.
        parts: Vec<(String, Saved)>,
        /// Its sources' offsets that are numbers.
        offsets: Vec<(String, u64)>,
    },
    /// To process 0: an event-time part was saved as of event time `epoch` (and, with
    /// `last`, is final from it on).
    EventSaved {
        part: String,
        epoch: Time,
        last: Option<Time>,
        saved: Saved,
    },
    /// To process 0: `process` has given every part it will (its job has ended).
    Done { process: usize },
    /// From process 0: it committed the epoch of this metadata (JSON); `savepoint` if it is
    /// also to be kept as a savepoint.
    Committed { metadata: String, savepoint: bool },
    /// From process 0: keep the committed checkpoint of `epoch` as a savepoint too (the one
    /// a stop with a savepoint asked for).
    SavePoint { epoch: Time },
    /// From process 0: it has made its last commit; nothing more will come.
    Close,
    /// From any process: it failed (`error`) — could not resume, or its checkpoint writer
    /// met an error — so nothing more can be committed: every process ends with an error.
    Failed { process: usize, error: String },
}

/// A message with the process it goes to.
type Addressed = (usize, Message);

/// Hands a message from another process to the writer.
type Deliver = Arc<dyn Fn(Message) + Send + Sync>;

/// One process's end of the protocol, shared by its writer and its first worker's protocol
/// operators.
#[derive(Clone)]
pub(super) struct Link {
    /// What the writer sends, with the destination process.
    outgoing: Sender<Addressed>,
    /// Its receiving end, taken by the operator that sends.
    outbox: Arc<Mutex<Option<Receiver<Addressed>>>>,
    /// Where messages from other processes go: to the writer.
    inbox: Arc<Mutex<Option<Deliver>>>,
    /// Wakes the sending operator.
    wake: Arc<Mutex<Option<SyncActivator>>>,
    /// The writer has no more to send or receive.
    closed: Arc<AtomicBool>,
}

impl Link {
    pub(super) fn new() -> Link {
        let (outgoing, outbox) = channel();
        Link {
            outgoing,
            outbox: Arc::new(Mutex::new(Some(outbox))),
            inbox: Arc::new(Mutex::new(None)),
            wake: Arc::new(Mutex::new(None)),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Delivers messages from other processes to `deliver` (the writer's).
    pub(super) fn deliver_to(&self, deliver: impl Fn(Message) + Send + Sync + 'static) {
        *lock(&self.inbox) = Some(Arc::new(deliver));
    }

    /// Stops delivering to the writer, so that its orders end (the job has ended).
    pub(super) fn disconnect(&self) {
        lock(&self.inbox).take();
    }

    /// Sends `message` to process `to`.
    pub(super) fn send(&self, to: usize, message: Message) {
        // The operator that sends may have ended with an aborted job: then nobody listens.
        let _ = self.outgoing.send((to, message));
        self.wake();
    }

    /// Nothing more to send or receive: the protocol's dataflow may end.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        if let Some(activator) = lock(&self.wake).as_ref() {
            let _ = activator.activate();
        }
    }
}

/// Builds the protocol's dataflow on `worker`, whose process's end is `link` (only its first
/// worker carries messages); returns the dataflow's index. It ends once every process's writer
/// has closed its link: after the last commit, or after an error every process was told of.
/// (An aborted job still ends its dataflows and says so, so the protocol ends the same way.)
pub(super) fn connect(worker: &mut Worker, link: &Link, workers: usize) -> usize {
    let first = worker.index().is_multiple_of(workers);
    let id = worker.next_dataflow_index();
    let (sending, receiving) = (link.clone(), link.clone());
    worker.dataflow::<Time, _, _>(move |scope| {
        let messages = source::<_, CapacityContainerBuilder<Vec<Addressed>>, _, _>(
            scope,
            "CheckpointProtocol",
            move |capability, info| {
                let outbox = first.then(|| lock(&sending.outbox).take()).flatten();
                if outbox.is_some() {
                    *lock(&sending.wake) =
                        Some(scope.worker().sync_activator_for(info.address.to_vec()));
                }
                let mut capability = outbox.is_some().then_some(capability);
                move |output| {
                    let Some(cap) = capability.as_ref() else {
                        return;
                    };
                    // Closed is read before the outbox is drained: what was sent before the
                    // link closed is in it.
                    let closed = sending.closed.load(Ordering::SeqCst);
                    if let Some(outbox) = &outbox {
                        output.session(cap).give_iterator(outbox.try_iter());
                    }
                    if closed {
                        capability = None;
                    }
                }
            },
        );
        messages.sink(
            Exchange::new(move |(to, _): &Addressed| (to * workers) as u64),
            "CheckpointProtocolIn",
            move |(input, _)| {
                input.for_each(|_, data| {
                    let inbox = lock(&receiving.inbox).clone();
                    for (_, message) in data.drain(..) {
                        if let Some(deliver) = &inbox {
                            deliver(message);
                        }
                    }
                });
            },
        );
    });
    id
}

/// Gathers what each process's first worker gives (`mine`) at worker 0, which answers each
/// process with `answer`; each process's first worker gets its answer in `apply`. Returns on
/// every worker once every process has applied its answer: a round trip before the job starts.
pub(super) fn agree<A, B>(
    worker: &mut Worker,
    workers: usize,
    mine: Option<A>,
    answer: impl FnOnce(Vec<A>) -> Vec<(usize, B)> + 'static,
    apply: impl FnOnce(B) + 'static,
) where
    A: crate::stream::Data,
    B: crate::stream::Data,
{
    let is_zero = worker.index() == 0;
    let id = worker.next_dataflow_index();
    worker.dataflow::<Time, _, _>(move |scope| {
        let mut mine = mine;
        let asked = source::<_, CapacityContainerBuilder<Vec<A>>, _, _>(
            scope,
            "CheckpointAsk",
            move |capability, _| {
                let mut capability = Some(capability);
                move |output| {
                    if let Some(cap) = capability.take() {
                        output.session(&cap).give_iterator(mine.take().into_iter());
                    }
                }
            },
        );
        let mut answer = Some(answer);
        let answers = asked.unary_frontier::<CapacityContainerBuilder<Vec<(usize, B)>>, _, _, _>(
            Exchange::new(|_: &A| 0),
            "CheckpointAnswer",
            move |capability, _| {
                let mut capability = Some(capability);
                let mut gathered = Vec::new();
                move |(input, frontier), output| {
                    input.for_each(|_, data| gathered.append(data));
                    if !frontier.is_empty() {
                        return;
                    }
                    if let (Some(cap), Some(answer)) = (capability.take(), answer.take()) {
                        if is_zero {
                            let answers = answer(std::mem::take(&mut gathered));
                            output.session(&cap).give_iterator(answers.into_iter());
                        }
                    }
                }
            },
        );
        let mut apply = Some(apply);
        answers.sink(
            Exchange::new(move |(to, _): &(usize, B)| (to * workers) as u64),
            "CheckpointApply",
            move |(input, _)| {
                input.for_each(|_, data| {
                    for (_, b) in data.drain(..) {
                        if let Some(apply) = apply.take() {
                            apply(b);
                        }
                    }
                });
            },
        );
    });
    while worker.installed_dataflows().contains(&id) {
        worker.step_or_park(None);
    }
}
