//! `StreamingContext`: the entry point of a micro-batch program, with Spark's lifecycle.
//!
//! A context has a batch interval and an [`Execution`] (workers, processes, clock). The program
//! describes its DStream graph in [`define`](StreamingContext::define) — the closure runs on
//! every worker when the context starts, as timely builds one dataflow per worker — then calls
//! [`start`](StreamingContext::start), and [`await_termination`](StreamingContext::await_termination)
//! or [`stop`](StreamingContext::stop).
//!
//! The lifecycle is Spark's (`INITIALIZED → ACTIVE → STOPPED`), with its errors: no new
//! streams or outputs once started or stopped, no restart after a stop, one active context per
//! process, `start()` failing on a graph without outputs or a stateful graph without a
//! checkpoint directory. Mistakes in the definition (a window that is not a multiple of the
//! batch interval, a bad address) also fail `start()`, with Spark's message.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::clock::{Clock, ManualClock};
//! use sluice_engine::Execution;
//! use sluice_minibatch::{StreamingContext, StreamingContextState};
//!
//! let clock = ManualClock::new(0);
//! let execution = Execution::default().clock(Clock::Manual(clock.clone()));
//! let mut ssc = StreamingContext::new(execution, Duration::from_secs(1));
//! let counts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
//! let sink = counts.clone();
//! ssc.define(move |graph| {
//!     let sink = sink.clone();
//!     graph
//!         .input_batches(vec![Some(vec![1u64, 2, 3]), Some(vec![4])], 2)
//!         .count()
//!         .foreach_rdd(move |batch| sink.lock().unwrap().extend(batch.collect()));
//! })
//! .unwrap();
//! ssc.start().unwrap();
//! assert_eq!(ssc.state(), StreamingContextState::Active);
//! for t in [1000, 2000] {
//!     clock.advance_to(t);
//!     ssc.await_batch(t).unwrap();
//! }
//! ssc.stop(true).unwrap(); // graceful: the batch in progress (3000 ms, empty) completes too
//! assert_eq!(*counts.lock().unwrap(), vec![3, 1, 0]);
//! assert!(ssc.start().is_err()); // a stopped context never restarts
//! ```

use std::panic::Location;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_engine::checkpoint::Checkpointing;
use sluice_engine::clock::Clock;
use sluice_engine::execution::{execute, Execution};
use sluice_engine::job::{JobContext, WorkerExt};
use sluice_engine::rate::PidRateEstimator;
use sluice_engine::Time;

use crate::error::{Error, Result};
use crate::graph::{checkpoint_misfit, Completed, Graph, Settings};

/// Rate control's settings (see [`StreamingContext::backpressure`]), Spark's
/// `spark.streaming.backpressure.*`.
#[derive(Clone, Copy, Debug)]
pub struct Backpressure {
    /// The lowest rate the estimator sets, records per second (`pid.minRate`, default 100).
    pub min_rate: f64,
    /// The rate of the first batches, before the first estimate (`initialRate`; default:
    /// unlimited).
    pub initial_rate: Option<f64>,
}

impl Default for Backpressure {
    fn default() -> Self {
        Backpressure {
            min_rate: 100.0,
            initial_rate: None,
        }
    }
}

/// Spark's `StreamingContextState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamingContextState {
    /// Created; streams and outputs may be defined.
    Initialized,
    /// Started and running.
    Active,
    /// Stopped; it cannot be started again.
    Stopped,
}

/// A graph definition, run on every worker at start.
type Definition = Arc<dyn for<'s> Fn(&Graph<'s>) + Send + Sync>;

/// Where the active context of this process was started, if there is one.
static ACTIVE: Mutex<Option<String>> = Mutex::new(None);

/// The main entry point of a micro-batch program (Spark's `StreamingContext`).
pub struct StreamingContext {
    execution: Execution,
    settings: Settings,
    definitions: Vec<Definition>,
    state: StreamingContextState,
    running: Option<JoinHandle<sluice_engine::Result<()>>>,
    /// Whether `start()` resumes from the checkpoint directory's newest checkpoint
    /// (`get_or_create`) rather than starting afresh (`checkpoint`).
    recover: bool,
    outcome: Option<Result<()>>,
    completed: Arc<Completed>,
}

impl StreamingContext {
    /// A context that runs on `execution` with batches of `batch_interval` (at least 1 ms).
    pub fn new(execution: Execution, batch_interval: Duration) -> Self {
        let interval = (batch_interval.as_millis() as Time).max(1);
        StreamingContext {
            execution: execution.tick(interval),
            settings: Settings {
                interval,
                checkpoint: None,
                checkpoint_every: None,
                remember: None,
                default_partitions: None,
                rate_control: None,
            },
            definitions: Vec::new(),
            state: StreamingContextState::Initialized,
            running: None,
            recover: false,
            outcome: None,
            completed: Arc::default(),
        }
    }

    /// The batch interval in ms.
    pub fn batch_interval(&self) -> Time {
        self.settings.interval
    }

    /// Spark's `getState()`.
    pub fn state(&self) -> StreamingContextState {
        self.state
    }

    /// The job context: its stop flag, errors and clock (e.g. for a Ctrl-C handler).
    pub fn job(&self) -> &JobContext {
        self.execution.job()
    }

    /// Spark's `StreamingContext.getOrCreate(checkpointPath, creatingFunc)`: a context that
    /// resumes from the newest valid checkpoint in `checkpoint_dir`, if there is one.
    ///
    /// Unlike Spark, `create` is called in either case: Spark deserializes the DStream graph
    /// from the checkpoint, but a Rust closure cannot be serialized, so the program defines
    /// its graph again and the checkpoint restores its state — the state of every stateful
    /// operator (`update_state_by_key`, windows, the engine's keyed state) and the sources'
    /// offsets. A checkpoint whose operators do not match the graph is refused with a message
    /// naming the directory, as one from another program is.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use sluice_engine::Execution;
    /// # use sluice_minibatch::StreamingContext;
    /// let mut ssc = StreamingContext::get_or_create("checkpoints", || {
    ///     let mut ssc = StreamingContext::new(Execution::default(), Duration::from_secs(1));
    ///     ssc.define(|graph| {
    ///         graph
    ///             .socket_text_stream("localhost:9999")
    ///             .map(|line| (line, 1u64))
    ///             .update_state_by_key(|new: Vec<u64>, total: Option<u64>| {
    ///                 Some(total.unwrap_or(0) + new.iter().sum::<u64>())
    ///             })
    ///             .print();
    ///     })?;
    ///     Ok(ssc)
    /// })
    /// .unwrap();
    /// ssc.start().unwrap();
    /// ssc.await_termination().unwrap();
    /// ```
    pub fn get_or_create(
        checkpoint_dir: impl Into<PathBuf>,
        create: impl FnOnce() -> Result<StreamingContext>,
    ) -> Result<StreamingContext> {
        let mut ssc = create()?;
        ssc.checkpoint(checkpoint_dir)?;
        ssc.recover = true;
        Ok(ssc)
    }

    /// How often to checkpoint, in batch time: a multiple of the batch interval (Spark's
    /// `DStream.checkpoint(interval)`, for the whole graph). By default the smallest multiple
    /// of the interval of at least 10 s, Spark's default for stateful streams.
    pub fn checkpoint_interval(&mut self, interval: Duration) {
        self.settings.checkpoint_every = Some(interval.as_millis() as Time);
    }

    /// Spark's `checkpoint(directory)`: where stateful operators checkpoint; created if
    /// missing. The job checkpoints there, starting afresh (a checkpoint already there is
    /// replaced, as Spark's new context does); [`get_or_create`](Self::get_or_create) resumes
    /// from it instead.
    pub fn checkpoint(&mut self, directory: impl Into<PathBuf>) -> Result<()> {
        let directory = directory.into();
        std::fs::create_dir_all(&directory).map_err(|source| sluice_engine::Error::Write {
            path: directory.clone(),
            source,
        })?;
        self.settings.checkpoint = Some(directory);
        Ok(())
    }

    /// Spark's `remember(duration)`: how long output streams keep their batches for slicing.
    pub fn remember(&mut self, duration: Duration) {
        self.settings.remember = Some(duration.as_millis() as Time);
    }

    /// Spark's `spark.streaming.backpressure.enabled`: after each batch, a PID controller
    /// estimates the rate the job keeps up with from the batch's size, processing time and
    /// scheduling delay, and the sources admit at most that many records per second — the rest
    /// waits in the socket or the broker instead of piling up as batches that fall further and
    /// further behind (see [`rate`](sluice_engine::rate)).
    pub fn backpressure(&mut self, backpressure: Backpressure) {
        self.execution.job().rate_limit().control();
        if let Some(rate) = backpressure.initial_rate {
            self.execution.job().rate_limit().set(rate);
        }
        let pid = PidRateEstimator::new(self.settings.interval, backpressure.min_rate);
        self.settings.rate_control = Some(Arc::new(Mutex::new(pid)));
    }

    /// The number of partitions of a shuffle that names none (Spark's
    /// `spark.default.parallelism`); by default one per worker.
    pub fn default_parallelism(&mut self, partitions: u32) {
        self.settings.default_partitions = Some(partitions.max(1));
    }

    /// Adds to the graph: `definition` creates input streams, transforms them and registers
    /// output operations. It runs on every worker at [`start`](Self::start).
    pub fn define(
        &mut self,
        definition: impl for<'s> Fn(&Graph<'s>) + Send + Sync + 'static,
    ) -> Result<()> {
        self.check_definable()?;
        self.definitions.push(Arc::new(definition));
        Ok(())
    }

    fn check_definable(&self) -> Result<()> {
        let when = match self.state {
            StreamingContextState::Initialized => return Ok(()),
            StreamingContextState::Active => "starting",
            StreamingContextState::Stopped => "stopping",
        };
        Err(Error::IllegalState(format!(
            "Adding new inputs, transformations, and output operations after {when} a context is not supported"
        )))
    }

    /// Spark's `start()`: builds the graph on every worker and starts the batches. Starting an
    /// active context only warns; starting a stopped one fails.
    #[track_caller]
    pub fn start(&mut self) -> Result<()> {
        match self.state {
            StreamingContextState::Active => {
                eprintln!("sluice: StreamingContext has already been started");
                return Ok(());
            }
            StreamingContextState::Stopped => {
                return Err(Error::IllegalState(
                    "StreamingContext has already been stopped".into(),
                ));
            }
            StreamingContextState::Initialized => {}
        }
        let call_site = Location::caller().to_string();
        {
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(site) = active.as_ref() {
                return Err(Error::IllegalState(format!(
                    "Only one StreamingContext may be started in this process. Currently running StreamingContext was started at {site}"
                )));
            }
            *active = Some(call_site);
        }
        if let Some(dir) = &self.settings.checkpoint {
            let interval = self.settings.interval;
            let every = self
                .settings
                .checkpoint_every
                .unwrap_or((10_000 / interval).max(1) * interval);
            if checkpoint_misfit(every, interval).is_some() {
                *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
                return Err(Error::InvalidArgument(format!(
                    "Checkpoint interval ({every} ms) must be a multiple of the batch interval ({interval} ms)"
                )));
            }
            let checkpointing = Checkpointing::new(dir, every)
                .program("streaming-context", &format!("batch={interval}ms"))
                .discard_existing(!self.recover);
            self.execution = self.execution.clone().checkpointing(checkpointing);
        }
        let startup = Arc::new(Startup::default());
        let reporter = startup.clone();
        let settings = Arc::new(self.settings.clone());
        let definitions = self.definitions.clone();
        let completed = self.completed.clone();
        let execution = self.execution.clone();
        let job = execution.job().clone();
        self.running = Some(std::thread::spawn(move || {
            execute(execution, move |worker| {
                let built = worker.dataflow(|scope| {
                    let graph = Graph::new(scope, settings.clone());
                    for define in &definitions {
                        define(&graph);
                    }
                    graph.finish(completed.clone())
                });
                if built.is_err() {
                    worker.job().stop();
                }
                reporter.report(built);
            })
            .map(|_| ())
        }));
        let failure = startup.wait(self.execution.local_workers(), || {
            self.running.as_ref().is_none_or(|r| r.is_finished())
        });
        self.state = StreamingContextState::Active;
        if let Some(error) = failure {
            job.stop();
            let _ = self.finish();
            return Err(error);
        }
        if self.running.as_ref().is_some_and(|r| r.is_finished()) {
            // The workers did not even start (a bad hostfile, a busy port, ...).
            return self.finish();
        }
        Ok(())
    }

    /// Waits until batch `time` has been processed by every output operation (with a
    /// [`ManualClock`](sluice_engine::clock::ManualClock), after advancing it to `time`).
    pub fn await_batch(&mut self, time: Time) -> Result<()> {
        let running = &self.running;
        let finished = || running.as_ref().is_none_or(|r| r.is_finished());
        if self.completed.wait_past(time, finished) {
            return Ok(());
        }
        self.finish()?;
        Err(Error::IllegalState(format!(
            "the context stopped before batch {time} ms completed"
        )))
    }

    /// Spark's `awaitTermination()`: waits until the context stops; returns the error that
    /// stopped it, if any.
    pub fn await_termination(&mut self) -> Result<()> {
        self.finish()
    }

    /// Spark's `awaitTerminationOrTimeout(timeout)`: `Ok(true)` once stopped, `Ok(false)` if
    /// still running after `timeout`.
    pub fn await_termination_or_timeout(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        while self.running.as_ref().is_some_and(|r| !r.is_finished()) {
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(10).min(deadline - Instant::now()));
        }
        self.finish().map(|_| true)
    }

    /// Spark's `stop(stopGracefully)`: stops reading input and waits for the workers to end.
    /// With `graceful`, every batch received so far is processed and output first; without,
    /// output operations drop the batches not yet output. Allowed in any state, any number of
    /// times.
    pub fn stop(&mut self, graceful: bool) -> Result<()> {
        if self.state != StreamingContextState::Active {
            self.state = StreamingContextState::Stopped;
            return Ok(());
        }
        let job = self.execution.job().clone();
        if graceful {
            job.stop();
        } else {
            job.abort();
        }
        if let Clock::Manual(clock) = job.clock() {
            clock.advance_to(clock.now_ms()); // wakes the sources so they see the stop
        }
        self.finish()
    }

    /// Joins the workers (once) and leaves the context stopped; returns the job's error to the
    /// first caller after the join.
    fn finish(&mut self) -> Result<()> {
        if let Some(running) = self.running.take() {
            let outcome = match running.join() {
                Ok(result) => result.map_err(Error::from),
                Err(_) => Err(Error::Engine(sluice_engine::Error::Worker(
                    "the job thread panicked".into(),
                ))),
            };
            self.outcome = Some(outcome);
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        self.state = StreamingContextState::Stopped;
        self.outcome.take().unwrap_or(Ok(()))
    }
}

impl Drop for StreamingContext {
    fn drop(&mut self) {
        if self.state == StreamingContextState::Active {
            let _ = self.stop(false);
            let _ = self.finish();
        }
    }
}

/// How many workers have built their graph, and the first failure.
#[derive(Default)]
struct Startup {
    reports: Mutex<(usize, Option<Error>)>,
    changed: Condvar,
}

impl Startup {
    fn report(&self, built: Result<()>) {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        reports.0 += 1;
        if let Err(error) = built {
            reports.1.get_or_insert(error);
        }
        self.changed.notify_all();
    }

    /// Waits for `workers` reports (or for the job to end); returns the first failure.
    fn wait(&self, workers: usize, ended: impl Fn() -> bool) -> Option<Error> {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        while reports.0 < workers && !ended() {
            reports = self
                .changed
                .wait_timeout(reports, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        reports.1.take()
    }
}
