//! Event time: timestamps taken from the records, and watermarks carried by the frontier.
//!
//! [`EventTime::with_event_time`] re-stamps a stream: each record travels at
//! `max(its event time, the current watermark)`, where the watermark is the highest event time
//! seen so far minus the allowed out-of-orderness (Flink's bounded-out-of-orderness strategy).
//! The operator holds a capability at its watermark, so the frontier downstream *is* the
//! watermark — the minimum over all workers' — and event-time windows
//! ([`event_window`](super::event_window)) close when it passes their end. A record whose event
//! time is already below the watermark travels at the watermark: downstream sees that it is late
//! by comparing its event time with its timestamp.
//!
//! The watermark advances record by record, so the result depends only on the order in which
//! each worker reads its records, not on how they were batched. When the input ends the
//! watermark jumps to the end of time and every window closes.
//!
//! **Idle inputs.** A worker whose share of the input is silent would hold the watermark back
//! forever. With [`Watermarks::idle_timeout`], a worker that has read nothing for that long
//! (processing time) stops holding it back: its watermark follows the highest one the other
//! workers of this process have reached, as Flink's `withIdleness` excludes an idle split.
//! Records it reads afterwards may be late. If every worker is idle, nothing moves (as in
//! Flink). [`JobContext::watermark`](crate::JobContext::watermark) reports the current
//! watermark.
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::event_time::{EventTime, Watermarks};
//! let out = Collector::new();
//! let sink = out.clone();
//! execute(Execution::default(), move |worker| {
//!     worker.dataflow(|scope| {
//!         // (event time, name), arriving out of order
//!         let events = [(1000u64, "a"), (3000, "b"), (1500, "c")];
//!         scope
//!             .iterator_source(events.map(|(t, name)| (t, name.to_string())))
//!             .with_event_time(|(t, _)| *t, Watermarks::bounded_out_of_orderness(1000))
//!             .collect_into(&sink);
//!     });
//! })
//! .unwrap();
//! // "c" (1500) came after the watermark had reached 3000 − 1000 = 2000: it travels at 2000.
//! assert_eq!(out.take().len(), 3);
//! ```

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::Operator;
use timely::progress::Antichain;

use crate::checkpoint::rescale::{Rescale, Share};
use crate::checkpointed::{At, Checkpointed, EpochGate, Frontiers, Saving};
use crate::job::JobContext;
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// How the watermark follows the event times seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermarks {
    out_of_orderness: Time,
    idle_timeout: Option<Duration>,
}

impl Watermarks {
    /// The watermark trails the highest event time seen by `ms`: records at most that much out
    /// of order are never behind it.
    pub fn bounded_out_of_orderness(ms: Time) -> Self {
        Watermarks {
            out_of_orderness: ms,
            idle_timeout: None,
        }
    }
    /// A worker that reads nothing for `timeout` stops holding the watermark back (see the
    /// module docs).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
    /// The watermark is the highest event time seen (for inputs in event-time order).
    pub fn ascending() -> Self {
        Self::bounded_out_of_orderness(0)
    }
}

/// Assigning the time domain windows and joins work in.
pub trait EventTime<'scope, D: 'static>: Sized {
    /// Pairs each record with its processing time — the time its source read it, which is its
    /// timestamp on a stream not re-stamped by
    /// [`with_event_time`](EventTime::with_event_time) — so that the event-time windows and
    /// joins run in processing time (Flink's processing-time windows): results then depend on
    /// when records arrive, and nothing is ever late.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_timed_sorted};
    /// // Words read at 100 and 1500 ms, counted per second of reading time.
    /// let words = vec![(100, 'a'), (1500, 'a')];
    /// let out = run_timed_sorted(2, words, |s| {
    ///     let timed = s.with_processing_time().map(|(t, word)| (word, t));
    ///     let (per_second, _) =
    ///         timed.count_by_event_window(WindowSpec::tumbling(Duration::from_secs(1)), 0);
    ///     per_second.map(|w| (w.start, w.count))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![(0, 1), (1000, 1)]);
    /// ```
    fn with_processing_time(self) -> Stream<'scope, (Time, D)>;

    /// Re-stamps each record at `max(event_time(record), watermark)`; see the module docs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// // (event time, name) -> (name, timestamp): "c" came after the watermark reached
    /// // 3000 − 1000, so it travels at 2000. (One worker: the watermark follows the input order.)
    /// let events = vec![(1000u64, 'a'), (3000, 'b'), (1500, 'c')];
    /// let out = run_sorted(1, events, |s| {
    ///     let stamped =
    ///         s.with_event_time(|(t, _)| *t, Watermarks::bounded_out_of_orderness(1000));
    ///     stamped
    ///         .with_processing_time()
    ///         .map(|(stamp, (_, name))| (name, stamp))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![('a', 1000), ('b', 3000), ('c', 2000)]);
    /// ```
    fn with_event_time(
        self,
        event_time: impl Fn(&D) -> Time + 'static,
        watermarks: Watermarks,
    ) -> Stream<'scope, D>;
}

impl<'scope, D: Data> EventTime<'scope, D> for Stream<'scope, D> {
    fn with_processing_time(self) -> Stream<'scope, (Time, D)> {
        self.unary(Pipeline, "WithProcessingTime", |_, _| {
            |input, output| {
                input.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let mut session = output.session(&cap);
                    for batch in data {
                        session.give_iterator(batch.drain(..).map(|d| (t, d)));
                    }
                });
            }
        })
    }

    fn with_event_time(
        self,
        event_time: impl Fn(&D) -> Time + 'static,
        watermarks: Watermarks,
    ) -> Stream<'scope, D> {
        let scope = self.scope();
        let (job, worker) = (JobContext::of(scope), scope.index());
        let mut builder = OperatorBuilder::new("WithEventTime".to_owned(), scope);
        let address = builder.operator_info().address.to_vec();
        if let Some(coordinator) = job.checkpoints() {
            coordinator.operators().graph.add_event_time(&address);
        }
        // Held records need no capability: what they become is stamped at the watermark.
        let mut gate = EpochGate::<D>::new(scope, "WithEventTime", &address).with_outputs(0);
        let checkpointing = job.checkpoints().is_some();
        let mut input = builder.new_input(self, Pipeline);
        // The output's times come from the records, not from the input's (processing) times.
        let (output, stream) =
            builder.new_output_connection::<Vec<D>, _>(Vec::<(usize, Antichain<Time>)>::new());
        let mut output = OutputBuilder::<_, CapacityContainerBuilder<Vec<D>>>::from(output);
        builder.build(move |mut capabilities| {
            let mut restamping = Restamping {
                restamp: Restamp {
                    highest: None,
                    forwarded: Vec::new(),
                },
                capability: capabilities.pop(),
                event_time,
                watermarks,
                checkpointing,
                last_read: Instant::now(),
                saving: None,
                job,
                address,
                worker,
            };
            // Restored: the records forwarded at or after the checkpoint's event-time cut go
            // out again first, then the watermark is where it was (see `checkpoint::domain`).
            let mut replay: Option<SavedRestamp<D>> = None;
            if let Some(mut saved) = gate.restore_rescaled::<SavedRestamp<D>>() {
                let cut = gate.restored_event_epoch().unwrap_or(0);
                saved.forwarded.retain(|(t, _)| *t >= cut);
                restamping.restamp.highest = saved.highest;
                restamping.restamp.forwarded = saved.forwarded.clone();
                if let Some(cap) = restamping.capability.as_mut() {
                    cap.downgrade(&cut);
                }
                replay = Some(saved);
            }
            move |frontiers| {
                let mut output = output.activate();
                if let Some(saved) = replay.take() {
                    let capability = &mut restamping.capability;
                    if let Some(cap) = capability.as_ref() {
                        emit(&mut output, cap, saved.forwarded);
                    }
                    match saved.watermark {
                        Some(w) => capability.iter_mut().for_each(|cap| cap.downgrade(&w)),
                        None => *capability = None,
                    }
                }
                input.for_each_stamp(|cap, data| {
                    let records = data.flat_map(|batch| batch.drain(..));
                    gate.arrive(&cap, records, &mut restamping, &mut output);
                });
                let inputs = [&frontiers[0]];
                let frontiers = Frontiers::new(&inputs, &frontiers[0]);
                gate.settle(frontiers, &mut restamping, &mut output);
            }
        });
        stream
    }
}

/// `with_event_time` on one worker: its state, its watermark (the time of its capability) and
/// how it follows the records.
struct Restamping<D, E> {
    restamp: Restamp<D>,
    /// At the watermark; `None` once the input has ended.
    capability: Option<Capability<Time>>,
    event_time: E,
    watermarks: Watermarks,
    checkpointing: bool,
    /// When a record was last read, for the idle timeout.
    last_read: Instant,
    /// The watermark as of the epoch being saved (`None` once the input has ended).
    saving: Option<Time>,
    job: JobContext,
    address: Vec<usize>,
    worker: usize,
}

impl<'a, D: Data, E: Fn(&D) -> Time> Checkpointed<OutputSession<'a, D>> for Restamping<D, E> {
    type Record = D;

    fn apply(
        &mut self,
        _: &At<'_>,
        records: impl Iterator<Item = D>,
        out: &mut OutputSession<'a, D>,
    ) {
        self.last_read = Instant::now();
        let records = records.collect();
        let Some(cap) = self.capability.as_mut() else {
            return; // the input ended: nothing more arrives
        };
        let (stamped, watermark) =
            self.restamp
                .stamp(records, cap, &self.event_time, self.watermarks);
        if self.checkpointing {
            self.restamp.forwarded.extend(stamped.iter().cloned());
        }
        emit(out, cap, stamped);
        if watermark > *cap.time() {
            cap.downgrade(&watermark);
        }
    }

    fn close_before(&mut self, saving: &Saving<'_>, _: &mut OutputSession<'a, D>) {
        let floor = saving.event_floor();
        self.restamp.forwarded.retain(|(t, _)| *t >= floor);
        self.saving = match (&self.capability, saving.last) {
            (Some(cap), false) => Some(*cap.time()),
            _ => None, // ended: nothing more comes from it
        };
    }

    fn image(&self) -> impl Serialize + '_ {
        SavingRestamp {
            highest: self.restamp.highest,
            watermark: self.saving,
            forwarded: &self.restamp.forwarded,
        }
    }

    fn event_cut(&self) -> Option<Time> {
        Some(self.saving.unwrap_or(Time::MAX))
    }

    fn on_frontier(&mut self, frontiers: &Frontiers<'_>, _: &mut OutputSession<'a, D>) {
        if frontiers.all().is_empty() {
            self.capability = None;
        }
        let (job, address, worker) = (&self.job, &self.address, self.worker);
        let mine = self.capability.as_ref().map(|cap| *cap.time());
        let others = job.publish_watermark(address, worker, mine);
        let idle = self
            .watermarks
            .idle_timeout
            .is_some_and(|timeout| self.last_read.elapsed() >= timeout);
        if let (Some(cap), Some(others), true) = (self.capability.as_mut(), others, idle) {
            if others > *cap.time() {
                cap.downgrade(&others); // idle: follow the others
                job.publish_watermark(address, worker, Some(others));
            }
        }
    }
}

/// `with_event_time`'s state on one worker.
struct Restamp<D> {
    /// The highest event time seen.
    highest: Option<Time>,
    /// With checkpoints: the records forwarded at or after the newest checkpoint's event-time
    /// cut, with their stamps — a restored job emits them again.
    forwarded: Vec<(Time, D)>,
}

/// [`Restamp`] as checkpointed, with the watermark (`None` once the input has ended).
#[derive(Deserialize)]
struct SavedRestamp<D> {
    highest: Option<Time>,
    watermark: Option<Time>,
    forwarded: Vec<(Time, D)>,
}

/// After a rescale: each old worker's forwarded records are replayed by its heir, and the
/// watermark and highest event time are the lowest any old worker had — the job's watermark
/// was their minimum, so nothing on time then is late now.
impl<D> Rescale for SavedRestamp<D> {
    fn rescale(parts: Vec<Self>, share: Share) -> Result<Self, String> {
        let mut merged = SavedRestamp {
            highest: None,
            watermark: None,
            forwarded: Vec::new(),
        };
        let lowest = |a: Option<Time>, b: Option<Time>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (old, part) in parts.into_iter().enumerate() {
            merged.highest = lowest(merged.highest, part.highest);
            // `None`: that worker's input had ended, which holds nothing back.
            merged.watermark = lowest(merged.watermark, part.watermark);
            if share.inherits(old) {
                merged.forwarded.extend(part.forwarded);
            }
        }
        merged.forwarded.sort_by_key(|(t, _)| *t);
        Ok(merged)
    }
}

/// [`SavedRestamp`] as it is written, borrowing the forwarded records (the same encoding).
#[derive(Serialize)]
struct SavingRestamp<'a, D> {
    highest: Option<Time>,
    watermark: Option<Time>,
    forwarded: &'a [(Time, D)],
}

impl<D> Restamp<D> {
    /// Stamps `records` at `max(event time, watermark)`, the watermark (from `cap`'s time)
    /// following them record by record; returns them sorted by stamp, and the new watermark.
    fn stamp(
        &mut self,
        records: Vec<D>,
        cap: &Capability<Time>,
        event_time: &impl Fn(&D) -> Time,
        watermarks: Watermarks,
    ) -> (Vec<(Time, D)>, Time) {
        let mut watermark = *cap.time();
        let mut stamped: Vec<(Time, D)> = records
            .into_iter()
            .map(|record| {
                let t = event_time(&record);
                let at = t.max(watermark);
                self.highest = Some(self.highest.map_or(t, |h| h.max(t)));
                watermark = watermark.max(t.saturating_sub(watermarks.out_of_orderness));
                (at, record)
            })
            .collect();
        stamped.sort_by_key(|(t, _)| *t);
        (stamped, watermark)
    }
}

/// Emits `stamped` records (sorted by stamp, none before `cap`'s time) at their stamps.
///
/// Each stamp's records go out as one container: a session per stamp fed record by record
/// would allocate (and the allocator zero) a full-capacity buffer per stamp — with a distinct
/// stamp per record, nearly all of `sluice run hashtags`' time went to zeroing pages.
fn emit<D: Clone + 'static>(
    output: &mut OutputSession<'_, D>,
    cap: &Capability<Time>,
    stamped: Vec<(Time, D)>,
) {
    let mut records = stamped.into_iter().peekable();
    let mut batch = Vec::new();
    while let Some((t, first)) = records.next() {
        batch.push(first);
        while let Some((_, next)) = records.next_if(|(u, _)| *u == t) {
            batch.push(next);
        }
        output.session(&cap.delayed(&t)).give_container(&mut batch);
        batch.clear();
    }
}
