//! The lambda architecture (Marz, 2011): a batch layer recomputes views from the master
//! dataset — the event log up to an offset X — and a speed layer covers what came after X;
//! the serving layer answers a query by merging the two.
//!
//! Generation `g` of a view is a batch view over `[0, X_g)` (a bounded job over the log, all
//! of it at once) and a real-time view over `[X_g, now)` (a streaming job from `X_g`, catching
//! up and then following the log, as a [`Kappa`] job does). Each lives in a view of its own,
//! `NAME-batch-g` and `NAME-rt-g`; `NAME` itself holds the served generation, published once
//! both parts of `g` are complete. A query reads the generation, then the two parts of that
//! generation: a newer batch view replaces the older one *and* the real-time data it covers at
//! once, so nothing is counted twice or missed.
//!
//! [`Lambda::serve`] runs the batch layer in a loop, as Marz's does: every period a new
//! generation is built from the whole log, served, and the one before retired — its speed
//! layer stopped, its views and checkpoints dropped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_engine::log::LogReader;
use sluice_engine::prelude::*;
use sluice_engine::sources::LogSource;
use sluice_serving::{ServeView, ServingStore};

use super::kappa::{Kappa, KappaRun, ViewProgram};

/// Where a lambda view's layers read, write and checkpoint.
#[derive(Clone)]
pub struct Lambda {
    /// The event log directory both layers read.
    pub log: PathBuf,
    /// The serving store the layers write their views to.
    pub store: Arc<dyn ServingStore>,
    /// The served view's name; the layers of generation `g` write `VIEW-batch-g` and
    /// `VIEW-rt-g`.
    pub view: String,
    /// Timely workers each layer's job runs with.
    pub workers: usize,
    /// The speed layer of generation `g` checkpoints in `checkpoints/rt-g`.
    pub checkpoints: PathBuf,
    /// The speed layer's checkpoint interval, in ms of log time.
    pub every: Time,
}

/// A served generation: its speed layer (running) and what building it took.
pub struct Generation {
    /// The generation's number, counting from 1; the served view names it.
    pub number: u32,
    /// The offset the batch view ends at.
    pub batch_end: u64,
    /// The speed layer, still running: it keeps the generation fresh until it is retired.
    pub speed: KappaRun,
    /// Batch layer, then speed layer catching up.
    pub batch_time: Duration,
}

impl Lambda {
    /// Builds generation `number`: the batch view over the log as it is now, and the speed
    /// layer from there; publishes the generation once the speed layer has caught up. The
    /// previous generation's speed layer can be stopped afterwards.
    pub fn build(&self, number: u32, program: ViewProgram) -> Result<Generation> {
        let started = Instant::now();
        let batch_end = {
            let mut reader = LogReader::open(&self.log)?;
            reader.seek_end()?;
            reader.offset()
        };
        // The batch layer: the log up to the end, once; its last update per key is final.
        let batch_view = self.layer_view("batch", number);
        let source = LogSource::open(&self.log)?.until(batch_end);
        let (store, name, batch) = (self.store.clone(), batch_view.clone(), program.clone());
        execute(Execution::default().workers(self.workers), move |worker| {
            worker.dataflow(|scope| {
                batch(scope.event_log(&source)).serve_view(&store, &name, 1);
            });
        })?;
        self.store.publish(&batch_view, 1)?;
        let batch_time = started.elapsed();
        // The speed layer, from where the batch view ends.
        let speed = Kappa {
            log: self.log.clone(),
            store: self.store.clone(),
            view: self.layer_view("rt", number),
            from: batch_end,
            workers: self.workers,
            checkpoints: self.speed_checkpoints(number),
            every: self.every,
        }
        .start(1, program)?;
        if !speed.wait_published(Duration::from_secs(600)) {
            return Err(Error::Operator(format!(
                "the speed layer of generation {number} did not catch up"
            )));
        }
        self.store.publish(&self.view, number)?;
        Ok(Generation {
            number,
            batch_end,
            speed,
            batch_time,
        })
    }

    /// The serving layer: `key`'s value in the served generation, batch plus real time.
    ///
    /// The generation is read again after its two parts: if it changed meanwhile, the parts
    /// may be those of a retired generation (dropped once its successor is served), and the
    /// read is repeated — a query never adds parts of two generations or of a dropped one.
    pub fn get(&self, key: &str) -> Result<Option<u64>> {
        loop {
            let Some(generation) = self.store.published(&self.view)? else {
                return Ok(None);
            };
            let part = |layer: &str| -> Result<Option<u64>> {
                let view = self.layer_view(layer, generation);
                Ok(self.store.get(&view, key)?.and_then(|v| v.as_u64()))
            };
            let value = match (part("batch")?, part("rt")?) {
                (None, None) => None,
                (batch, rt) => Some(batch.unwrap_or(0) + rt.unwrap_or(0)),
            };
            if self.store.published(&self.view)? == Some(generation) {
                return Ok(value);
            }
        }
    }

    /// The view holding `layer` (`batch` or `rt`) of `generation`.
    fn layer_view(&self, layer: &str, generation: u32) -> String {
        format!("{}-{layer}-{generation}", self.view)
    }

    /// Serves `program`'s view: generation 1 now, then, with a `period`, a new generation
    /// every `period` — the batch layer recomputing from the whole log, as Marz's batch layer
    /// runs in a loop. Each new generation retires the one before: its speed layer is stopped
    /// and its views, covered by the new batch view, are dropped.
    pub fn serve(&self, program: ViewProgram, period: Option<Duration>) -> Result<LambdaRun> {
        let first = self.build(1, program.clone())?;
        let served = Arc::new(Mutex::new(Served {
            current: Some(first),
            program,
            builds: 1,
        }));
        let stopped = Arc::new(AtomicBool::new(false));
        let thread = period.map(|period| {
            let (lambda, served, stopped) = (self.clone(), served.clone(), stopped.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut last = Instant::now();
                while !stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                    if last.elapsed() >= period {
                        lambda.advance(&served, None)?;
                        last = Instant::now();
                    }
                }
                Ok(())
            })
        });
        Ok(LambdaRun {
            lambda: self.clone(),
            served,
            stopped,
            thread,
        })
    }

    /// Builds the next generation (with `program`, or the served one's), serves it, and
    /// retires the one it replaces; returns how long building took.
    fn advance(&self, served: &Mutex<Served>, program: Option<ViewProgram>) -> Result<Duration> {
        let started = Instant::now();
        let mut served = served.lock().unwrap_or_else(|e| e.into_inner());
        let program = program.unwrap_or_else(|| served.program.clone());
        let number = served.current.as_ref().map_or(1, |g| g.number + 1);
        let next = self.build(number, program.clone())?;
        served.program = program;
        served.builds += 1;
        if let Some(old) = served.current.replace(next) {
            self.retire(old)?;
        }
        Ok(started.elapsed())
    }

    /// Stops a replaced generation's speed layer and drops its views and checkpoints.
    fn retire(&self, generation: Generation) -> Result<()> {
        generation.speed.stop()?;
        for layer in ["batch", "rt"] {
            self.store
                .remove(&self.layer_view(layer, generation.number))?;
        }
        let _ = std::fs::remove_dir_all(self.speed_checkpoints(generation.number));
        Ok(())
    }

    fn speed_checkpoints(&self, generation: u32) -> PathBuf {
        self.checkpoints.join(format!("rt-{generation}"))
    }
}

/// The generation a [`LambdaRun`] serves, and the program it rebuilds with.
struct Served {
    current: Option<Generation>,
    program: ViewProgram,
    builds: u32,
}

/// A lambda view being served (see [`Lambda::serve`]).
pub struct LambdaRun {
    lambda: Lambda,
    served: Arc<Mutex<Served>>,
    stopped: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl LambdaRun {
    /// A code change: builds and serves a generation with `program` now (later periodic
    /// generations use it too); returns how long building and catching up took.
    pub fn redeploy(&self, program: ViewProgram) -> Result<Duration> {
        self.lambda.advance(&self.served, Some(program))
    }

    /// The served generation's number.
    pub fn generation(&self) -> u32 {
        let served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        served.current.as_ref().map_or(0, |g| g.number)
    }

    /// How many generations have been built so far.
    pub fn builds(&self) -> u32 {
        self.served.lock().unwrap_or_else(|e| e.into_inner()).builds
    }

    /// Stops rebuilding and the served generation's speed layer.
    pub fn stop(mut self) -> Result<()> {
        self.stopped.store(true, Ordering::SeqCst);
        let periodic = match self.thread.take().map(|t| t.join()) {
            Some(Err(_)) => Err(Error::Worker("the batch layer's scheduler panicked".into())),
            Some(Ok(result)) => result,
            None => Ok(()),
        };
        let current = self
            .served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .current
            .take();
        if let Some(generation) = current {
            generation.speed.stop()?;
        }
        periodic
    }
}
