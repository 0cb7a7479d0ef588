//! Flags that say where a job runs: workers, processes, this process, the hostfile.

use std::path::PathBuf;

use clap::Args;
use sluice::engine::Execution;

use super::flags;

/// Execution flags shared by every job.
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Worker threads in this process (at most 256).
    #[arg(long, short = 'w', default_value_t = 1, value_name = "N", value_parser = flags::workers())]
    pub workers: usize,
    /// Processes in the job; each is started with the same flags and its own --process.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = flags::count(1, flags::MAX_PROCESSES))]
    pub processes: usize,
    /// This process's index, 0..processes. Process 0 writes job-wide outputs.
    #[arg(long, default_value_t = 0, value_name = "I", value_parser = flags::count(0, flags::MAX_PROCESSES - 1))]
    pub process: usize,
    /// File with one host:port per line, one per process (default: localhost:2101+i).
    #[arg(long, value_name = "FILE", value_parser = flags::input_file)]
    pub hostfile: Option<PathBuf>,
}

impl ClusterArgs {
    /// The engine's execution settings for these flags.
    pub fn execution(&self) -> Execution {
        let execution = Execution::default()
            .workers(self.workers)
            .processes(self.processes)
            .process(self.process);
        match &self.hostfile {
            Some(path) => execution.hostfile(path),
            None => execution,
        }
    }
}
