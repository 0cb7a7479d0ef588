//! The one operator shape behind every per-batch operation.
//!
//! A micro-batch operator collects what arrives for a batch time and runs once the frontier has
//! passed that time — the whole batch is then known, on every worker, so the step is a
//! deterministic function of it (Spark's job for that batch). [`each_batch`] is that pattern,
//! once: it buffers up to two inputs per time, holds a capability for each batch, and calls the
//! step with everything for the batch, in time order.
//!
//! A third input, the graph's *ticks* (one `()` per batch time per worker), gives the operator a
//! capability even for batches in which no data arrived. That is what lets `count` say `0`,
//! `print` show an empty batch, `updateStateByKey` update every key in every batch, and windows
//! move on when nothing new comes.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_engine::checkpoint::rescale::Share;
use sluice_engine::checkpointed::EpochGate;
use sluice_engine::stream::Stream;
use sluice_engine::timely::container::CapacityContainerBuilder;
use sluice_engine::timely::dataflow::channels::pact::{ParallelizationContract, Pipeline};
use sluice_engine::timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use sluice_engine::timely::dataflow::operators::generic::operator::empty;
use sluice_engine::timely::dataflow::operators::generic::OutputBuilder;
use sluice_engine::timely::dataflow::operators::{Capability, InputCapability};
use sluice_engine::Time;

/// What arrived for one batch time (as folded so far), and the capability to answer at it.
struct Pending<A, B> {
    capability: Option<Capability<Time>>,
    left: A,
    right: B,
}

impl<A: Default, B: Default> Default for Pending<A, B> {
    fn default() -> Self {
        Pending {
            capability: None,
            left: A::default(),
            right: B::default(),
        }
    }
}

/// The pending batch a message belongs to, holding a capability for its time from now on.
fn arrived<'a, A: Default, B: Default>(
    pending: &'a mut BTreeMap<Time, Pending<A, B>>,
    cap: &InputCapability<Time>,
) -> &'a mut Pending<A, B> {
    let time = *cap.least().expect("a Vec message has one time");
    let entry = pending.entry(time).or_default();
    if entry.capability.is_none() {
        entry.capability = cap.retain_least(0);
    }
    entry
}

/// Runs `step(time, left, right, out)` once per batch time on every worker, when the frontiers
/// of `left`, `right` and `ticks` have all passed that time; `out` is emitted at that time.
///
/// `left` and `right` are moved between workers by their pacts (`Pipeline` to stay put,
/// `Exchange` to route). Times are handled in increasing order, so `step` may keep state from
/// one batch to the next.
pub(crate) fn each_batch<'s, A, B, O, P1, P2>(
    name: &str,
    ticks: &Stream<'s, ()>,
    left: (Stream<'s, A>, P1),
    right: (Stream<'s, B>, P2),
    step: impl FnMut(Time, Vec<A>, Vec<B>, &mut Vec<O>) + 'static,
) -> Stream<'s, O>
where
    A: 'static,
    B: 'static,
    O: 'static,
    P1: ParallelizationContract<Time, Vec<A>>,
    P2: ParallelizationContract<Time, Vec<B>>,
{
    let append_left = |all: &mut Vec<A>, more: &mut Vec<A>| all.append(more);
    let append_right = |all: &mut Vec<B>, more: &mut Vec<B>| all.append(more);
    each_batch_folding(name, ticks, left, right, (append_left, append_right), step)
}

/// [`each_batch`] over one input.
pub(crate) fn each_batch_of<'s, A, O, P>(
    name: &str,
    ticks: &Stream<'s, ()>,
    input: (Stream<'s, A>, P),
    mut step: impl FnMut(Time, Vec<A>, &mut Vec<O>) + 'static,
) -> Stream<'s, O>
where
    A: 'static,
    O: 'static,
    P: ParallelizationContract<Time, Vec<A>>,
{
    let nothing = empty::<Time, Vec<()>>(ticks.scope());
    each_batch(
        name,
        ticks,
        input,
        (nothing, Pipeline),
        move |t, records, _, out| step(t, records, out),
    )
}

/// [`each_batch`], folding what arrives into per-batch accumulators `LA` and `LB` (with
/// `absorb`) as it arrives, instead of keeping it: a reduction then holds one value per key and
/// batch, not every partial that arrived.
pub(crate) fn each_batch_folding<'s, A, B, LA, LB, O, P1, P2>(
    name: &str,
    ticks: &Stream<'s, ()>,
    left: (Stream<'s, A>, P1),
    right: (Stream<'s, B>, P2),
    absorb: (
        impl FnMut(&mut LA, &mut Vec<A>) + 'static,
        impl FnMut(&mut LB, &mut Vec<B>) + 'static,
    ),
    mut step: impl FnMut(Time, LA, LB, &mut Vec<O>) + 'static,
) -> Stream<'s, O>
where
    A: 'static,
    B: 'static,
    LA: Default + 'static,
    LB: Default + 'static,
    O: 'static,
    P1: ParallelizationContract<Time, Vec<A>>,
    P2: ParallelizationContract<Time, Vec<B>>,
{
    let stateless = move |_: &mut (), t, a, b, out: &mut Vec<O>| step(t, a, b, out);
    batches(name, ticks, left, right, absorb, ((), None), stateless)
}

/// How a step's state divides when the job resumes with another number of workers (see
/// `sluice_engine::checkpoint::rescale`): every old worker's state and this worker's share
/// make its state, or an error that refuses the restore.
pub(crate) type Divide<S> = Box<dyn FnOnce(Vec<S>, Share) -> Result<S, String>>;

/// The [`Divide`] of state that cannot be divided, saying what it is.
pub(crate) fn indivisible<S>(what: &'static str) -> Divide<S> {
    Box::new(move |_, _| Err(what.to_string()))
}

/// [`each_batch`] over one input, for a step that carries `state` from batch to batch: the
/// state is checkpointed when the job checkpoints — saved before the first batch at or after
/// each epoch, so a checkpoint of epoch `E` holds the state after every batch before `E` —
/// and restored from the checkpoint the job resumes from (divided by `divide` if the job has
/// another number of workers now).
pub(crate) fn each_batch_with_state<'s, A, O, P, S>(
    name: &str,
    ticks: &Stream<'s, ()>,
    input: (Stream<'s, A>, P),
    state: S,
    divide: Divide<S>,
    mut step: impl FnMut(&mut S, Time, Vec<A>, &mut Vec<O>) + 'static,
) -> Stream<'s, O>
where
    A: 'static,
    O: 'static,
    P: ParallelizationContract<Time, Vec<A>>,
    S: Serialize + DeserializeOwned + 'static,
{
    let nothing = empty::<Time, Vec<()>>(ticks.scope());
    let append = |all: &mut Vec<A>, more: &mut Vec<A>| all.append(more);
    let ignore = |_: &mut Vec<()>, _: &mut Vec<()>| {};
    batches(
        name,
        ticks,
        input,
        (nothing, Pipeline),
        (append, ignore),
        (state, Some(divide)),
        move |state, t, records, _, out| step(state, t, records, out),
    )
}

/// The operator behind every `each_batch` form: `state` is handed to every step, and
/// checkpointed if asked for — through the engine's checkpointed-operator core, saved before
/// the batches after each epoch ([`EpochGate::before_batch`]).
fn batches<'s, A, B, LA, LB, O, P1, P2, S>(
    name: &str,
    ticks: &Stream<'s, ()>,
    left: (Stream<'s, A>, P1),
    right: (Stream<'s, B>, P2),
    mut absorb: (
        impl FnMut(&mut LA, &mut Vec<A>) + 'static,
        impl FnMut(&mut LB, &mut Vec<B>) + 'static,
    ),
    (mut state, checkpointed): (S, Option<Divide<S>>),
    mut step: impl FnMut(&mut S, Time, LA, LB, &mut Vec<O>) + 'static,
) -> Stream<'s, O>
where
    A: 'static,
    B: 'static,
    LA: Default + 'static,
    LB: Default + 'static,
    O: 'static,
    P1: ParallelizationContract<Time, Vec<A>>,
    P2: ParallelizationContract<Time, Vec<B>>,
    S: Serialize + DeserializeOwned + 'static,
{
    let scope = ticks.scope();
    let mut builder = OperatorBuilder::new(name.to_owned(), scope);
    let mut left_input = builder.new_input(left.0, left.1);
    let mut right_input = builder.new_input(right.0, right.1);
    let mut tick_input = builder.new_input(ticks.clone(), Pipeline);
    let (output, stream) = builder.new_output::<Vec<O>>();
    let mut output = OutputBuilder::<_, CapacityContainerBuilder<Vec<O>>>::from(output);
    let address = builder.operator_info().address.to_vec();
    let name = name.to_owned();

    builder.build(move |_initial| {
        let mut gate: Option<EpochGate<()>> = checkpointed
            .is_some()
            .then(|| EpochGate::new(scope, &name, &address));
        if let (Some(gate), Some(divide)) = (gate.as_ref(), checkpointed) {
            if let Some(restored) = gate.restore_divided(divide) {
                state = restored;
            }
        }
        let mut pending: BTreeMap<Time, Pending<LA, LB>> = BTreeMap::new();
        let mut out = Vec::new();
        move |frontiers| {
            let mut output = output.activate();
            tick_input.for_each_stamp(|cap, _| {
                arrived(&mut pending, &cap);
            });
            left_input.for_each_stamp(|cap, data| {
                let entry = arrived(&mut pending, &cap);
                data.for_each(|batch| (absorb.0)(&mut entry.left, batch));
            });
            right_input.for_each_stamp(|cap, data| {
                let entry = arrived(&mut pending, &cap);
                data.for_each(|batch| (absorb.1)(&mut entry.right, batch));
            });
            while let Some(entry) = pending.first_entry() {
                let time = *entry.key();
                if frontiers.iter().any(|f| f.less_equal(&time)) {
                    break;
                }
                if let Some(gate) = gate.as_mut() {
                    gate.before_batch(time, &state);
                }
                let batch = entry.remove();
                step(&mut state, time, batch.left, batch.right, &mut out);
                if let Some(capability) = batch.capability {
                    if !out.is_empty() {
                        output.session(&capability).give_container(&mut out);
                    }
                }
                out.clear();
            }
            // Epochs are saved before the batches after them (above); once every input has
            // ended and every batch is applied, the state is final.
            let ended = frontiers.iter().all(|f| f.is_empty()) && pending.is_empty();
            if let (Some(gate), true) = (gate.as_mut(), ended) {
                gate.after_batches(&frontiers[0], &state);
            }
        }
    });
    stream
}
