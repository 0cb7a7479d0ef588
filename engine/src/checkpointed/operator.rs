//! Operators built around a [`Checkpointed`] logic: the shapes every stateful operator has.
//!
//! - [`CheckpointedOperator::checkpointed_unary`]: one input, one output;
//! - [`CheckpointedOperator::checkpointed_binary`]: two inputs behind one gate (a snapshot
//!   holds both sides as of the same epoch), their records told apart by [`Side`];
//! - [`keyed_windows`]: the keyed event-time window operator — `(key, event time, value)`
//!   routed by key, a results output and a late output.
//!
//! Each reads its inputs, hands them to the gate, settles the epochs the frontier has passed
//! and reports the state's size; the logic is the operator's own.

use std::hash::Hash;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::{Capability, Operator};
use timely::progress::frontier::MutableAntichain;

use super::gate::EpochGate;
use super::logic::{Checkpointed, Frontiers};
use crate::hash::worker_of;
use crate::job::{JobContext, StateGauge};
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// A record of the first or the second input of a two-input operator.
pub enum Side<A, B> {
    /// From the first input.
    Left(A),
    /// From the second input.
    Right(B),
}

/// Stateful operators whose state is checkpointed, as extension methods on [`Stream`].
pub trait CheckpointedOperator<'scope, D: 'static>: Sized {
    /// An operator named `name` over this stream, moved by `pact`, that runs the logic `build`
    /// makes — from the operator's initial capability and its gate, through which it restores
    /// its state ([`EpochGate::restore`]).
    fn checkpointed_unary<O, P, L>(
        self,
        pact: P,
        name: &str,
        build: impl FnOnce(Capability<Time>, &EpochGate<D>) -> L + 'static,
    ) -> Stream<'scope, O>
    where
        O: 'static,
        P: ParallelizationContract<Time, Vec<D>>,
        L: for<'a> Checkpointed<OutputSession<'a, O>, Record = D> + 'static;

    /// [`checkpointed_unary`](Self::checkpointed_unary) over this stream and `other`, behind one
    /// gate: the logic reads a [`Side`] of either.
    fn checkpointed_binary<D2, O, P1, P2, L>(
        self,
        other: Stream<'scope, D2>,
        pacts: (P1, P2),
        name: &str,
        build: impl FnOnce(Capability<Time>, &EpochGate<Side<D, D2>>) -> L + 'static,
    ) -> Stream<'scope, O>
    where
        D2: 'static,
        O: 'static,
        P1: ParallelizationContract<Time, Vec<D>>,
        P2: ParallelizationContract<Time, Vec<D2>>,
        L: for<'a> Checkpointed<OutputSession<'a, O>, Record = Side<D, D2>> + 'static;
}

impl<'scope, D: 'static> CheckpointedOperator<'scope, D> for Stream<'scope, D> {
    fn checkpointed_unary<O, P, L>(
        self,
        pact: P,
        name: &str,
        build: impl FnOnce(Capability<Time>, &EpochGate<D>) -> L + 'static,
    ) -> Stream<'scope, O>
    where
        O: 'static,
        P: ParallelizationContract<Time, Vec<D>>,
        L: for<'a> Checkpointed<OutputSession<'a, O>, Record = D> + 'static,
    {
        let scope = self.scope();
        let name = name.to_owned();
        self.unary_frontier::<CapacityContainerBuilder<Vec<O>>, _, _, _>(
            pact,
            &name.clone(),
            move |initial, info| {
                let mut gate = EpochGate::new(scope, &name, &info.address);
                let mut logic = build(initial, &gate);
                let mut gauge = JobContext::of(scope).state_gauge(&info.address);
                move |(input, frontier), output| {
                    if logic.gives_up() {
                        input.for_each_stamp(|_, _| {});
                        gate.discard();
                        return;
                    }
                    input.for_each_stamp(|cap, data| {
                        let records = data.flat_map(|batch| batch.drain(..));
                        gate.arrive(&cap, records, &mut logic, output);
                    });
                    let inputs = [frontier];
                    gate.settle(Frontiers::new(&inputs, frontier), &mut logic, output);
                    report(&logic, &mut gauge);
                }
            },
        )
    }

    fn checkpointed_binary<D2, O, P1, P2, L>(
        self,
        other: Stream<'scope, D2>,
        (pact1, pact2): (P1, P2),
        name: &str,
        build: impl FnOnce(Capability<Time>, &EpochGate<Side<D, D2>>) -> L + 'static,
    ) -> Stream<'scope, O>
    where
        D2: 'static,
        O: 'static,
        P1: ParallelizationContract<Time, Vec<D>>,
        P2: ParallelizationContract<Time, Vec<D2>>,
        L: for<'a> Checkpointed<OutputSession<'a, O>, Record = Side<D, D2>> + 'static,
    {
        let scope = self.scope();
        let name = name.to_owned();
        self.binary_frontier::<_, CapacityContainerBuilder<Vec<O>>, _, _, _, _>(
            other,
            pact1,
            pact2,
            &name.clone(),
            move |initial, info| {
                let mut gate = EpochGate::new(scope, &name, &info.address);
                let mut logic = build(initial, &gate);
                let mut gauge = JobContext::of(scope).state_gauge(&info.address);
                move |(left, left_frontier), (right, right_frontier), output| {
                    left.for_each_stamp(|cap, data| {
                        let records = data.flat_map(|batch| batch.drain(..)).map(Side::Left);
                        gate.arrive(&cap, records, &mut logic, output);
                    });
                    right.for_each_stamp(|cap, data| {
                        let records = data.flat_map(|batch| batch.drain(..)).map(Side::Right);
                        gate.arrive(&cap, records, &mut logic, output);
                    });
                    let both = both_inputs(left_frontier, right_frontier);
                    let inputs = [left_frontier, right_frontier];
                    gate.settle(Frontiers::new(&inputs, &both), &mut logic, output);
                    report(&logic, &mut gauge);
                }
            },
        )
    }
}

/// The outputs of a keyed window operator: its results, and the records too late for all
/// their windows.
pub type WindowOutputs<'a, R, K, V> = (OutputSession<'a, R>, OutputSession<'a, (K, Time, V)>);

/// The keyed event-time window operator named `name`: `(key, event time, value)` records routed
/// by key to the logic `build` makes (from the initial capability of the results output and
/// the gate), which emits results on the first output and the records too late for all their
/// windows on the second.
#[allow(clippy::type_complexity)]
pub fn keyed_windows<'scope, K, V, R, L>(
    input: Stream<'scope, (K, Time, V)>,
    name: &str,
    build: impl FnOnce(&Capability<Time>, &EpochGate<(K, Time, V)>) -> L + 'static,
) -> (Stream<'scope, R>, Stream<'scope, (K, Time, V)>)
where
    K: Data + Hash + Eq,
    V: Data,
    R: 'static,
    L: for<'a> Checkpointed<WindowOutputs<'a, R, K, V>, Record = (K, Time, V)> + 'static,
{
    let scope = input.scope();
    let mut builder = OperatorBuilder::new(name.to_owned(), scope);
    let address = builder.operator_info().address.to_vec();
    let mut gauge = JobContext::of(scope).state_gauge(&address);
    let peers = scope.peers();
    let mut input = builder.new_input(
        input,
        Exchange::new(move |(k, _, _): &(K, Time, V)| worker_of(k, peers)),
    );
    let (results_out, results) = builder.new_output::<Vec<R>>();
    let (late_out, late) = builder.new_output::<Vec<(K, Time, V)>>();
    let mut results_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<R>>>::from(results_out);
    let mut late_out =
        OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, Time, V)>>>::from(late_out);
    let name = name.to_owned();
    builder.build(move |initial| {
        let mut gate = EpochGate::new(scope, &name, &address).with_outputs(2);
        let mut logic = build(&initial[0], &gate);
        drop(initial);
        move |frontiers| {
            let mut outputs = (results_out.activate(), late_out.activate());
            input.for_each_stamp(|cap, data| {
                let records = data.flat_map(|batch| batch.drain(..));
                gate.arrive(&cap, records, &mut logic, &mut outputs);
            });
            let inputs = [&frontiers[0]];
            gate.settle(
                Frontiers::new(&inputs, &frontiers[0]),
                &mut logic,
                &mut outputs,
            );
            report(&logic, &mut gauge);
        }
    });
    (results, late)
}

/// Reports the logic's state size, if it has one to report.
fn report<O, L: Checkpointed<O>>(logic: &L, gauge: &mut StateGauge) {
    if let Some(entries) = logic.state_entries() {
        gauge.set(entries);
    }
}

/// The frontier of two inputs together: what a two-input operator's one gate waits on.
fn both_inputs(a: &MutableAntichain<Time>, b: &MutableAntichain<Time>) -> MutableAntichain<Time> {
    let mut both = MutableAntichain::new();
    both.update_iter(
        a.frontier()
            .iter()
            .chain(b.frontier().iter())
            .map(|t| (*t, 1)),
    );
    both
}
