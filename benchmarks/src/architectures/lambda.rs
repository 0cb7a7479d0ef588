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

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::log::LogReader;
use sluice_engine::prelude::*;
use sluice_engine::serving::{ServeView, ServingStore};
use sluice_engine::sources::LogSource;

use super::kappa::{Kappa, KappaRun, ViewProgram};

/// Where a lambda view's layers read, write and checkpoint.
#[derive(Clone)]
pub struct Lambda {
    pub log: PathBuf,
    pub store: Arc<dyn ServingStore>,
    pub view: String,
    pub workers: usize,
    /// The speed layer of generation `g` checkpoints in `checkpoints/rt-g`.
    pub checkpoints: PathBuf,
    pub every: Time,
}

/// A served generation: its speed layer (running) and what building it took.
pub struct Generation {
    pub number: u32,
    /// The offset the batch view ends at.
    pub batch_end: u64,
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
        let batch_view = format!("{}-batch-{number}", self.view);
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
            view: format!("{}-rt-{number}", self.view),
            from: batch_end,
            workers: self.workers,
            checkpoints: self.checkpoints.join(format!("rt-{number}")),
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
    pub fn get(&self, key: &str) -> Result<Option<u64>> {
        let Some(generation) = self.store.published(&self.view)? else {
            return Ok(None);
        };
        let part = |layer: &str| -> Result<Option<u64>> {
            let view = format!("{}-{layer}-{generation}", self.view);
            Ok(self.store.get(&view, key)?.and_then(|v| v.as_u64()))
        };
        Ok(match (part("batch")?, part("rt")?) {
            (None, None) => None,
            (batch, rt) => Some(batch.unwrap_or(0) + rt.unwrap_or(0)),
        })
    }
}
