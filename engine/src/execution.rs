//! Running a job: how many workers and processes, and the context they share.
//!
//! A Sluice job is timely's execution model unchanged: `workers` threads per process, `processes`
//! processes connected over TCP (addresses from a hostfile, one `host:port` per line), this
//! process being number `process`. [`execute`] runs the same per-worker closure on every worker of
//! this process and returns their results, or the first error any operator reported.
//!
//! This is the top of the engine: it opens the checkpoint coordinator, puts the [`JobContext`]
//! (see [`job`](crate::job)) into every worker's configuration, and runs timely. Operators never
//! import it; they reach their job through the context.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let per_worker = execute(Execution::default().workers(2), |worker| worker.index()).unwrap();
//! assert_eq!(per_worker, vec![0, 1]);
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::{Checkpointing, Coordinator};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::job::{JobContext, WorkerExt};
use crate::metrics::operators;
use crate::time::Time;

/// Timely's worker, re-exported so programs need no timely import.
pub use timely::worker::Worker;

/// Where and how widely a job runs. Build it with the methods; the default is one worker.
#[derive(Clone, Debug)]
pub struct Execution {
    checkpointing: Option<Checkpointing>,
    workers: usize,
    processes: usize,
    process: usize,
    hostfile: Option<PathBuf>,
    context: JobContext,
}

impl Default for Execution {
    fn default() -> Self {
        Execution {
            checkpointing: None,
            workers: 1,
            processes: 1,
            process: 0,
            hostfile: None,
            context: JobContext::default(),
        }
    }
}

impl Execution {
    /// Checkpoints the job's state, and resumes from the newest checkpoint if there is one
    /// (see [`checkpoint`](crate::checkpoint)).
    pub fn checkpointing(mut self, checkpointing: Checkpointing) -> Self {
        self.checkpointing = Some(checkpointing);
        self
    }

    /// Worker threads in this process.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }
    /// Processes in the job (each with the same number of workers).
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = processes;
        self
    }
    /// This process's index, `0..processes`.
    pub fn process(mut self, process: usize) -> Self {
        self.process = process;
        self
    }
    /// A file with one `host:port` per line, one line per process. Without it, process `i`
    /// listens on `localhost:2101+i`, as in timely.
    pub fn hostfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.hostfile = Some(path.into());
        self
    }
    /// Stamps records with `clock` instead of the wall clock (a [`ManualClock`] in tests).
    ///
    /// [`ManualClock`]: crate::clock::ManualClock
    pub fn clock(mut self, clock: Clock) -> Self {
        self.context.set_clock(clock);
        self
    }
    /// Wakes idle sources at every multiple of `interval` ms, so that frontiers pass each
    /// boundary promptly (micro-batch mode sets its batch interval here).
    pub fn tick(mut self, interval: Time) -> Self {
        self.context.set_tick(interval.max(1));
        self
    }
    /// Uses `context` (e.g. one whose shutdown a Ctrl-C handler triggers).
    pub fn context(mut self, context: JobContext) -> Self {
        self.context = context;
        self
    }
    /// The job context the workers will share.
    pub fn job(&self) -> &JobContext {
        &self.context
    }
    /// Worker threads in this process.
    pub fn local_workers(&self) -> usize {
        self.workers
    }
    /// Total workers across all processes.
    pub fn total_workers(&self) -> usize {
        self.workers * self.processes
    }
    /// This process's index, `0..process_count()`.
    pub fn process_index(&self) -> usize {
        self.process
    }
    /// Processes in the job.
    pub fn process_count(&self) -> usize {
        self.processes
    }
    /// Whether this process is the one that writes job-wide outputs (process 0).
    pub fn is_leader(&self) -> bool {
        self.process == 0
    }

    /// Checks the numbers and reads the hostfile, naming the flag or file at fault.
    fn timely_config(&self) -> Result<timely::Config> {
        if self.workers == 0 {
            return Err(Error::Config("--workers must be at least 1".into()));
        }
        if self.processes == 0 {
            return Err(Error::Config("--processes must be at least 1".into()));
        }
        if self.process >= self.processes {
            return Err(Error::Config(format!(
                "--process {} is out of range for --processes {} (valid: 0..{})",
                self.process, self.processes, self.processes
            )));
        }
        let communication = if self.processes > 1 {
            let addresses = match &self.hostfile {
                Some(path) => read_hostfile(path, self.processes)?,
                None => (0..self.processes)
                    .map(|i| format!("localhost:{}", 2101 + i))
                    .collect(),
            };
            timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process,
                addresses,
                report: false,
                zerocopy: false,
            }
        } else if self.workers > 1 {
            timely::CommunicationConfig::Process(self.workers)
        } else {
            timely::CommunicationConfig::Thread
        };
        let mut worker = timely::WorkerConfig::default().idle_spin(std::time::Duration::ZERO);
        self.context.install(&mut worker);
        Ok(timely::Config {
            communication,
            worker,
        })
    }
}

/// Reads `processes` addresses from a hostfile, naming the file and line of any problem.
fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>> {
    let bad = |reason: String| Error::Hostfile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let addresses: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if addresses.len() < processes {
        return Err(bad(format!(
            "it lists {} address(es) but --processes is {processes}",
            addresses.len()
        )));
    }
    for (i, a) in addresses.iter().enumerate().take(processes) {
        if !a.contains(':') {
            return Err(bad(format!("address {}: '{a}' is not host:port", i + 1)));
        }
    }
    Ok(addresses.into_iter().take(processes).collect())
}

/// Runs `work` on every worker of this process and returns each worker's result, in worker order.
///
/// Returns the first error an operator reported through the [`JobContext`], if any.
pub fn execute<T, F>(execution: Execution, work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    let mut execution = execution;
    if let Some(checkpointing) = execution.checkpointing.take() {
        let coordinator = Coordinator::open(
            checkpointing,
            (execution.workers, execution.processes, execution.process),
            execution.context.metrics().clone(),
            execution.context.clock().clone(),
        )?;
        execution.context.set_checkpoints(Arc::new(coordinator));
    }
    let config = execution.timely_config()?;
    let context = execution.context.clone();
    context.set_workers(execution.workers);
    let coordinator = context.checkpoints();
    let metrics = context.metrics().clone();
    let local = execution.process * execution.workers..(execution.process + 1) * execution.workers;
    let guards = timely::execute(config, move |worker| {
        let mut graph = coordinator.as_ref().map(|c| c.graph_recorder());
        operators::record(worker, metrics.clone(), local.clone(), move |event| {
            if let Some(graph) = graph.as_mut() {
                graph(event);
            }
        });
        // With other processes: agree on the checkpoint to resume from, and connect the
        // checkpoint protocol (see `checkpoint::protocol`).
        let protocol = match coordinator.as_ref() {
            Some(c) => c.join(worker).unwrap_or_else(|error| {
                worker.job().refuse(error);
                None
            }),
            None => None,
        };
        let result = work(worker);
        if let Some(coordinator) = coordinator.as_ref() {
            if let Err(error) = coordinator.built(worker.index()) {
                worker.job().refuse(error);
            }
        }
        // Deliver the channels logged while building, before any operator runs.
        if let Some(mut registry) = worker.log_register() {
            registry.flush();
        }
        if let Some(coordinator) = coordinator.as_ref() {
            // The job's dataflows run to their end; the protocol's outlives them, for the
            // last commit.
            while worker
                .installed_dataflows()
                .iter()
                .any(|&dataflow| Some(dataflow) != protocol)
            {
                worker.step_or_park(None);
            }
            coordinator.worker_done();
        }
        result
    })
    .map_err(Error::Startup)?;
    let results: Result<Vec<T>> = guards
        .join()
        .into_iter()
        .map(|result| result.map_err(Error::Worker))
        .collect();
    // Also after a failure: the checkpoint writer must be done before this returns (a job
    // restarted in the same process would otherwise race with it).
    let completed = results.is_ok() && !context.is_aborted();
    let flushed = context.checkpoints().map_or(Ok(()), |c| c.flush(completed));
    let after = context.run_after_job();
    let results = results?;
    flushed?;
    after?;
    match context.take_error() {
        Some(error) => Err(error),
        None => Ok(results),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::WorkerExt;

    #[test]
    fn rejects_out_of_range_process_index() {
        let err = Execution::default()
            .processes(2)
            .process(2)
            .timely_config()
            .unwrap_err();
        assert!(err.to_string().contains("--process 2"), "{err}");
    }

    #[test]
    fn hostfile_must_list_every_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "127.0.0.1:2101\n").unwrap();
        let err = read_hostfile(&path, 2).unwrap_err();
        assert!(err.to_string().contains("lists 1 address"), "{err}");
        std::fs::write(&path, "127.0.0.1:2101\n\n# comment\nlocalhost\n").unwrap();
        let err = read_hostfile(&path, 2).unwrap_err();
        assert!(err.to_string().contains("address 2: 'localhost'"), "{err}");
    }

    #[test]
    fn reported_errors_end_the_job() {
        let result = execute(Execution::default().workers(2), |worker| {
            if worker.index() == 1 {
                worker.job().fail(Error::Config("boom".into()));
            }
        });
        assert!(matches!(result, Err(Error::Config(m)) if m == "boom"));
    }
}
