//! Reconnection with backoff: how long a connector keeps trying a broker that has gone away
//! before the job fails, naming it.
//!
//! A broker restarted while a job runs costs the job a pause, not its run: readers and
//! appenders reconnect, waiting 50 ms, then twice as long each time up to 2 s, for at most
//! [`WINDOW`] since the first failure in a row.

use std::time::{Duration, Instant};

use sluice_engine::Error;

/// How long failures in a row may last before the job fails.
pub const WINDOW: Duration = Duration::from_secs(30);
const FIRST: Duration = Duration::from_millis(50);
const LONGEST: Duration = Duration::from_secs(2);

/// Failures in a row, and when they began.
#[derive(Debug, Default)]
pub struct Retry {
    since: Option<Instant>,
    delay: Duration,
}

impl Retry {
    /// No failure yet.
    pub fn new() -> Self {
        Retry::default()
    }

    /// The last attempt worked: the next failure starts a new window.
    pub fn succeeded(&mut self) {
        self.since = None;
    }

    /// An attempt on `address` failed for `reason`: sleeps before the next one, or, once the
    /// failures have lasted [`WINDOW`], returns the error to fail the job with.
    pub fn failed(&mut self, address: &str, reason: &str) -> Result<(), Error> {
        let since = *self.since.get_or_insert_with(|| {
            self.delay = FIRST;
            Instant::now()
        });
        let waited = since.elapsed();
        if waited >= WINDOW {
            return Err(Error::Connect {
                address: address.to_string(),
                reason: reason.to_string(),
                waited_ms: waited.as_millis() as u64,
            });
        }
        std::thread::sleep(self.delay.min(WINDOW - waited));
        self.delay = (self.delay * 2).min(LONGEST);
        Ok(())
    }

    /// Calls `connect` until it succeeds or the failures have lasted [`WINDOW`].
    pub fn again<T>(
        &mut self,
        address: &str,
        mut connect: impl FnMut() -> Result<T, Error>,
    ) -> Result<T, Error> {
        loop {
            match connect() {
                Ok(value) => return Ok(value),
                Err(error) => self.failed(address, &error.to_string())?,
            }
        }
    }
}
