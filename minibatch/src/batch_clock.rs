//! The clock loop behind every batch-time source: the graph's ticks and the batch sources
//! (`queue_stream`, `input_batches`).
//!
//! Such a source holds a capability at the *open* batch — the first batch time after the
//! clock's current time, never before the graph's first batch — so that batch cannot complete
//! downstream before the clock reaches its end, even when no data flows. It handles each batch
//! time once, in order, either as soon as the batch opens ([`Due::Opens`]: a tick announcing
//! the batch) or once it has closed ([`Due::Closes`]: a batch produced whole from what was
//! there by its time). It wakes at every batch boundary on the job's clock (under a manual clock,
//! when the clock moves) until `ended` says so, then drops the capability.

use sluice_engine::job::JobContext;
use sluice_engine::sources::driver::until_tick;
use sluice_engine::stream::{Scope, Stream};
use sluice_engine::timely::container::CapacityContainerBuilder;
use sluice_engine::timely::dataflow::operators::generic::operator::source;
use sluice_engine::timely::scheduling::Activator;
use sluice_engine::Time;

/// The first batch time after `now`: batch `t` collects what arrives in `[t - interval, t)`.
pub(crate) fn batch_of(now: Time, interval: Time) -> Time {
    (now / interval + 1) * interval
}

/// When a batch-time source handles batch `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// As soon as `t` is the open batch (the clock is in `[t - interval, t)`).
    Opens,
    /// Once the clock has reached `t`.
    Closes,
}

/// The batch times a source runs over: from `first`, every `interval` ms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchTimes {
    /// The first batch time (a multiple of `interval`).
    pub first: Time,
    /// The batch interval in ms.
    pub interval: Time,
}

/// A source that calls `each(t)` once for every batch time `t` from `times.first`, when `t` is
/// `due`, and emits the records it returns at `t`. `started` receives the source's activator
/// when it is built (to wake it from outside); `ended` is asked after each wake-up whether to
/// stop.
pub(crate) fn batch_time_source<'s, D: 'static>(
    scope: Scope<'s>,
    name: &str,
    (times, due): (BatchTimes, Due),
    job: JobContext,
    started: impl FnOnce(&Activator),
    mut each: impl FnMut(Time) -> Option<Vec<D>> + 'static,
    mut ended: impl FnMut(&JobContext) -> bool + 'static,
) -> Stream<'s, D> {
    let BatchTimes { first, interval } = times;
    source::<_, CapacityContainerBuilder<Vec<D>>, _, _>(scope, name, move |capability, info| {
        let activator = scope.activator_for(info.address.clone());
        started(&activator);
        job.clock()
            .wake_on_advance(scope.worker().sync_activator_for(info.address.to_vec()));
        let mut capability = Some(capability);
        let mut next = first;
        move |output| {
            let Some(cap) = capability.as_mut() else {
                return;
            };
            let now = job.clock().now_ms();
            let open = batch_of(now, interval).max(first);
            let last = match due {
                Due::Opens => open,
                Due::Closes => now,
            };
            while next <= last {
                if let Some(mut records) = each(next) {
                    output
                        .session(&cap.delayed(&next))
                        .give_container(&mut records);
                }
                next += interval;
            }
            cap.downgrade(&open);
            if ended(&job) {
                capability = None;
            } else if !job.clock().is_manual() {
                activator.activate_after(until_tick(now, interval));
            }
        }
    })
}
