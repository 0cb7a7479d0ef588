//! `--mode` and `--batch-ms`, shared by the jobs of `sluice run`.

use clap::ValueEnum;
use sluice::engine::Error;
use sluice::jobs;

/// How records are processed.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Each record as it arrives.
    #[default]
    Native,
    /// In batches of --batch-ms (Spark Streaming's D-Streams).
    Minibatch,
}

/// The batch interval when `--batch-ms` is not given.
pub const DEFAULT_BATCH_MS: u64 = 1000;

impl Mode {
    /// The batch interval in ms: `--batch-ms` (default [`DEFAULT_BATCH_MS`]). A `--batch-ms`
    /// given without `--mode minibatch` would do nothing, so it is an error rather than
    /// silently ignored.
    pub fn batch_ms(self, given: Option<u64>) -> Result<u64, Error> {
        match (self, given) {
            (Mode::Native, Some(_)) => Err(Error::Config(
                "--batch-ms applies only with --mode minibatch".into(),
            )),
            (_, given) => Ok(given.unwrap_or(DEFAULT_BATCH_MS)),
        }
    }

    /// The job's mode, with its batch interval (see [`batch_ms`](Self::batch_ms)).
    pub fn of_job(self, batch_ms: Option<u64>) -> Result<jobs::Mode, Error> {
        let interval_ms = self.batch_ms(batch_ms)?;
        Ok(match self {
            Mode::Native => jobs::Mode::Native,
            Mode::Minibatch => jobs::Mode::MicroBatch { interval_ms },
        })
    }
}
