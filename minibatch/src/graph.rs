//! The DStream graph as one worker builds it (Spark's `DStreamGraph`).
//!
//! A [`StreamingContext`](crate::StreamingContext) runs the program's graph definition on every
//! worker when it starts; the definition receives a [`Graph`], creates input streams on it,
//! transforms them and registers output operations. Besides being the factory of input
//! streams, the graph owns three things every micro-batch operator shares:
//!
//! - the **ticks**: one `()` per batch time on every worker, from a clock-driven source, so
//!   that each batch happens (and can produce output) even when no data arrived;
//! - the **outputs**: each output operation reports when it has finished a batch, which is how
//!   [`StreamingContext`](crate::StreamingContext) knows that batch *t* is complete;
//! - **problems** found while building (a window that is not a multiple of its parent's
//!   slide, a bad address): Spark throws them from the call; Sluice records them and fails
//!   `start()` with the first, so definitions read like Spark's, without a `?` on every call.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};

use sluice_engine::job::JobContext;
use sluice_engine::metrics::BatchInfo;
use sluice_engine::rate::PidRateEstimator;
use sluice_engine::stream::{Scope, Stream};
use sluice_engine::timely::dataflow::channels::pact::Pipeline;
use sluice_engine::timely::dataflow::operators::{Concatenate, Operator};
use sluice_engine::timely::scheduling::Activator;
use sluice_engine::Time;

use crate::batch_clock::{batch_of, batch_time_source, BatchTimes, Due};
use crate::error::Error;

/// What the context fixes before the graph is built: the same on every worker.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The batch interval in ms.
    pub interval: Time,
    /// Where stateful operators may checkpoint (Spark requires one for them).
    pub checkpoint: Option<PathBuf>,
    /// How often to checkpoint, in ms of batch time (a multiple of the interval).
    pub checkpoint_every: Option<Time>,
    /// How long output streams keep their batches for `slice`, in ms.
    pub remember: Option<Time>,
    /// Partitions of a shuffle when the operation names none.
    pub default_partitions: Option<u32>,
    /// Rate control, shared by the workers of the process, if enabled.
    pub rate_control: Option<Arc<Mutex<PidRateEstimator>>>,
}

impl Settings {
    /// The first batch time of a graph built now: every source and the ticker start there, so
    /// no batch is skipped however late an operator first runs. A job resumed from a checkpoint
    /// of epoch `E` starts at batch `E`, the first one the checkpoint does not hold: the
    /// batches of the downtime then run at once, as Spark's recovery generates them.
    fn first_batch(&self, job: &JobContext) -> Time {
        let now = batch_of(job.clock().now_ms(), self.interval);
        job.checkpoints()
            .and_then(|c| c.restored_epoch())
            .unwrap_or(now)
    }
}

/// Why a checkpoint interval does not fit a slide (a stream's, or the batch interval): Spark
/// requires a positive multiple of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckpointMisfit {
    /// Shorter than the slide (zero included).
    Shorter,
    /// At least the slide, but not a multiple of it.
    NotMultiple,
}

/// The one check of a checkpoint interval against a slide, both in ms: `None` if it fits.
pub(crate) fn checkpoint_misfit(interval: Time, slide: Time) -> Option<CheckpointMisfit> {
    if interval < slide {
        Some(CheckpointMisfit::Shorter)
    } else if !interval.is_multiple_of(slide) {
        Some(CheckpointMisfit::NotMultiple)
    } else {
        None
    }
}

/// How far every output operation has got: all batches before `through` are finished.
#[derive(Debug, Default)]
pub(crate) struct Completed {
    through: Mutex<Option<Time>>,
    changed: Condvar,
}

impl Completed {
    fn set(&self, through: Option<Time>) {
        *self.through.lock().unwrap_or_else(|e| e.into_inner()) = through;
        self.changed.notify_all();
    }

    /// Waits until batch `time` is finished (or the job is over); returns whether it finished.
    pub fn wait_past(&self, time: Time, finished: impl Fn() -> bool) -> bool {
        let mut through = self.through.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match *through {
                Some(t) if t > time => return true,
                _ if finished() => return false,
                _ => {}
            }
            through = self
                .changed
                .wait_timeout(through, std::time::Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The DStream graph of one worker. Cheap to clone (a handle).
#[derive(Clone)]
pub struct Graph<'s> {
    inner: Rc<Inner<'s>>,
}

struct Inner<'s> {
    scope: Scope<'s>,
    settings: Arc<Settings>,
    job: JobContext,
    ticks: Stream<'s, ()>,
    first: Time,
    inputs: Rc<Inputs>,
    outputs: RefCell<Vec<Stream<'s, ()>>>,
    problems: RefCell<Vec<Error>>,
    stateful: Cell<bool>,
}

impl<'s> Graph<'s> {
    pub(crate) fn new(scope: Scope<'s>, settings: Arc<Settings>) -> Self {
        let job = JobContext::of(scope);
        let inputs = Rc::new(Inputs::default());
        let first = settings.first_batch(&job);
        let times = BatchTimes {
            first,
            interval: settings.interval,
        };
        let ticks = ticker(scope, times, job.clone(), inputs.clone());
        Graph {
            inner: Rc::new(Inner {
                scope,
                settings,
                job,
                ticks,
                first,
                inputs,
                outputs: RefCell::default(),
                problems: RefCell::default(),
                stateful: Cell::new(false),
            }),
        }
    }

    /// The batch interval in ms.
    pub fn batch_interval(&self) -> Time {
        self.inner.settings.interval
    }

    /// The timely scope the graph lives in (for custom operators).
    pub fn scope(&self) -> Scope<'s> {
        self.inner.scope
    }

    /// The job context (stop flag, errors, clock).
    pub fn job(&self) -> &JobContext {
        &self.inner.job
    }

    /// How long remembered batches are kept, in ms (Spark's `remember`), if set.
    pub(crate) fn remember(&self) -> Option<Time> {
        self.inner.settings.remember
    }

    /// The time of the first batch.
    pub(crate) fn first_batch(&self) -> Time {
        self.inner.first
    }

    /// One `()` per batch time on this worker.
    pub(crate) fn ticks(&self) -> &Stream<'s, ()> {
        &self.inner.ticks
    }

    /// Partitions of a shuffle that names none: the setting, else one per worker.
    pub(crate) fn default_partitions(&self) -> u32 {
        self.inner
            .settings
            .default_partitions
            .unwrap_or(self.inner.scope.peers() as u32)
    }

    /// Records a mistake in the definition; `start()` fails with the first one.
    pub(crate) fn problem(&self, error: Error) {
        self.inner.problems.borrow_mut().push(error);
    }

    /// Notes that a stateful operator needs a checkpoint directory.
    pub(crate) fn needs_checkpoint(&self) {
        self.inner.stateful.set(true);
    }

    /// Counts a new input source; the returned guard is dropped when the source has ended.
    pub(crate) fn source_started(&self) -> SourceGuard {
        let inputs = &self.inner.inputs;
        inputs.created.set(true);
        inputs.live.set(inputs.live.get() + 1);
        SourceGuard(inputs.clone())
    }

    /// Registers an output operation by the stream on which it reports finished batches.
    pub(crate) fn output(&self, done: Stream<'s, ()>) {
        self.inner.outputs.borrow_mut().push(done);
    }

    /// Checks the definition as Spark's `start()` does and wires the completion report.
    pub(crate) fn finish(self, completed: Arc<Completed>) -> Result<(), Error> {
        if let Some(problem) = self.inner.problems.borrow_mut().drain(..).next() {
            return Err(problem);
        }
        let outputs = std::mem::take(&mut *self.inner.outputs.borrow_mut());
        if outputs.is_empty() {
            return Err(Error::requirement(
                "No output operations registered, so nothing to execute",
            ));
        }
        if self.inner.stateful.get() && self.inner.settings.checkpoint.is_none() {
            return Err(Error::requirement(
                "The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint().",
            ));
        }
        let done = self.inner.scope.concatenate(outputs);
        let job = self.inner.job.clone();
        job.metrics()
            .batches()
            .start(self.inner.first, self.inner.settings.interval);
        let rate_control = self.inner.settings.rate_control.clone();
        let mut seen = Some(None);
        done.sink(Pipeline, "BatchesCompleted", move |(input, frontier)| {
            input.for_each_stamp(|_, _| {});
            let through = frontier.frontier().first().copied();
            completed.set(through);
            if seen != Some(through) {
                seen = Some(through);
                let now = job.clock().now_ms();
                let batches = job.metrics().batches().completed_through(through, now);
                if let Some(pid) = &rate_control {
                    control_rate(&job, pid, &batches);
                }
            }
        });
        Ok(())
    }
}

/// Feeds completed batches to the rate estimator and sets the sources' limit to its estimate
/// (Spark's `RateController.onBatchCompleted`).
fn control_rate(job: &JobContext, pid: &Mutex<PidRateEstimator>, batches: &[BatchInfo]) {
    let mut pid = pid.lock().unwrap_or_else(|e| e.into_inner());
    for batch in batches {
        let done = batch.batch_time_ms + batch.total_delay_ms;
        let rate = pid.compute(
            done,
            batch.input_records,
            batch.processing_time_ms,
            batch.scheduling_delay_ms,
        );
        if let Some(rate) = rate {
            job.rate_limit().set(rate);
        }
    }
}

/// The input sources of this worker, as far as the ticker needs to know them.
#[derive(Default)]
struct Inputs {
    live: Cell<usize>,
    created: Cell<bool>,
    ticker: RefCell<Option<Activator>>,
}

impl Inputs {
    /// Whether every input has ended (with no inputs: whether the job was stopped).
    fn over(&self, job: &JobContext) -> bool {
        self.live.get() == 0 && (self.created.get() || job.is_stopped())
    }
}

/// Counts one live source; dropped when the source ends, which wakes the ticker.
pub(crate) struct SourceGuard(Rc<Inputs>);

impl Drop for SourceGuard {
    fn drop(&mut self) {
        self.0.live.set(self.0.live.get().saturating_sub(1));
        if let Some(ticker) = self.0.ticker.borrow().as_ref() {
            ticker.activate();
        }
    }
}

/// One `()` per batch time, from the first batch after start until every input has ended (or,
/// with no inputs, until the job stops): each batch's tick is sent as the batch opens, and the
/// capability held at the open batch keeps it open until the clock reaches its end.
fn ticker<'s>(
    scope: Scope<'s>,
    times: BatchTimes,
    job: JobContext,
    inputs: Rc<Inputs>,
) -> Stream<'s, ()> {
    let waker = inputs.clone();
    batch_time_source(
        scope,
        "Ticks",
        (times, Due::Opens),
        job,
        move |activator| *waker.ticker.borrow_mut() = Some(activator.clone()),
        |_| Some(vec![()]),
        move |job| inputs.over(job),
    )
}
