//! Operator and channel metrics, read from timely's own event log.
//!
//! Timely reports what every worker does as events: an operator was built (its address and
//! name), a channel connects two operators, a message of so many records was sent or received
//! on a channel, an operator was scheduled and descheduled. [`record`] registers a logger on a
//! worker that turns those events into the [`Metrics`] counters: records in and out, busy
//! time, queued records, and back-pressured time. Nothing in an operator's code is involved,
//! so every operator — Sluice's, timely's, a user's — is measured alike.
//!
//! Timely hands the events over in batches, at the latest at the end of each worker step, so
//! the counters trail the work by at most a step.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

use super::{ChannelCounters, Metrics, OperatorCounters};

/// How often a worker looks at the channels' queues to charge back-pressured time.
const LOOK_EVERY: Duration = Duration::from_millis(1);

/// Registers the logger that feeds `metrics` on `worker`, before its dataflows are built;
/// `local` are the global indices of this process's workers. `also` sees every event too
/// (the checkpoint coordinator learns the dataflow graph from it).
pub fn record(
    worker: &mut Worker,
    metrics: Metrics,
    local: Range<usize>,
    mut also: impl FnMut(&TimelyEvent) + 'static,
) {
    let Some(mut registry) = worker.log_register() else {
        return;
    };
    let mut log = WorkerLog {
        metrics,
        local,
        operators: HashMap::new(),
        channels: HashMap::new(),
        outputs: BTreeSet::new(),
        scheduled: HashMap::new(),
        looked: Duration::ZERO,
    };
    registry.insert::<TimelyEventBuilder, _>("timely", move |now, events| {
        if let Some(events) = events {
            for (time, event) in events.iter() {
                also(event);
                log.event(*time, event);
            }
        }
        log.look(*now);
    });
}

/// One worker's view: its operators and channels by their worker-unique identifiers.
struct WorkerLog {
    metrics: Metrics,
    local: Range<usize>,
    operators: HashMap<usize, Arc<OperatorCounters>>,
    channels: HashMap<usize, Channel>,
    /// Output ports already counting `records_out` (one channel per port does).
    outputs: BTreeSet<(Vec<usize>, usize)>,
    /// When each running operator was scheduled.
    scheduled: HashMap<usize, Duration>,
    /// When the queues were last looked at.
    looked: Duration,
}

struct Channel {
    counters: Arc<ChannelCounters>,
    source: Arc<OperatorCounters>,
    target: Arc<OperatorCounters>,
    /// Whether sends on it count as its source's output (the first channel of the port).
    counts_output: bool,
}

impl WorkerLog {
    fn event(&mut self, time: Duration, event: &TimelyEvent) {
        match event {
            TimelyEvent::Operates(o) => {
                let counters = self.metrics.operator(&o.addr);
                *super::lock(&counters.name) = o.name.clone();
                self.operators.insert(o.id, counters);
            }
            TimelyEvent::Channels(c) => {
                // Operator 0 of a scope is the scope itself, seen from inside.
                let address = |index: usize| match index {
                    0 => c.scope_addr.clone(),
                    i => [c.scope_addr.as_slice(), &[i]].concat(),
                };
                let (source, target) = (address(c.source.0), address(c.target.0));
                let counts_output = self.outputs.insert((source.clone(), c.source.1));
                let channel = Channel {
                    counters: self.metrics.channel(c.id, &source, &target),
                    source: self.metrics.operator(&source),
                    target: self.metrics.operator(&target),
                    counts_output,
                };
                self.channels.insert(c.id, channel);
            }
            TimelyEvent::Messages(m) => {
                let Some(channel) = self.channels.get(&m.channel) else {
                    return;
                };
                let records = m.record_count.max(0);
                let between_local =
                    self.local.contains(&m.source) && self.local.contains(&m.target);
                if m.is_send {
                    channel
                        .counters
                        .records
                        .fetch_add(records as u64, Ordering::Relaxed);
                    if channel.counts_output {
                        let out = &channel.source.records_out;
                        out.fetch_add(records as u64, Ordering::Relaxed);
                    }
                    if between_local {
                        channel
                            .counters
                            .queued
                            .fetch_add(records, Ordering::Relaxed);
                    }
                } else {
                    let into = &channel.target.records_in;
                    into.fetch_add(records as u64, Ordering::Relaxed);
                    if between_local {
                        channel
                            .counters
                            .queued
                            .fetch_sub(records, Ordering::Relaxed);
                    }
                }
            }
            TimelyEvent::Schedule(s) => match s.start_stop {
                StartStop::Start => {
                    self.scheduled.insert(s.id, time);
                }
                StartStop::Stop => {
                    let (Some(start), Some(operator)) =
                        (self.scheduled.remove(&s.id), self.operators.get(&s.id))
                    else {
                        return;
                    };
                    let busy = time.saturating_sub(start).as_nanos() as u64;
                    operator.busy_nanos.fetch_add(busy, Ordering::Relaxed);
                }
            },
            _ => {}
        }
    }

    /// Charges the time since the last look as back-pressured to every operator one of whose
    /// output channels is over the bound.
    fn look(&mut self, now: Duration) {
        let since = now.saturating_sub(self.looked);
        if since < LOOK_EVERY {
            return;
        }
        self.looked = now;
        for producer in self.metrics.congested_producers() {
            let counters = self.metrics.operator(&producer);
            let nanos = since.as_nanos() as u64;
            counters
                .backpressured_nanos
                .fetch_add(nanos, Ordering::Relaxed);
        }
    }
}
