//! Where sources read the time: the system clock, or a manual clock that tests advance.
//!
//! Every source stamps what it reads with the job's clock. In production that is the wall clock
//! ([`now_ms`]). Tests of time-dependent behaviour — micro-batches above all, as in Spark's
//! `TestSuiteBase` — use a [`ManualClock`] instead: time stands still until the test calls
//! [`ManualClock::advance_to`], which wakes every source so that frontiers move at once, with no
//! sleeps and no flakiness.
//!
//! ```
//! use sluice_engine::clock::{Clock, ManualClock};
//! let manual = ManualClock::new(0);
//! let clock = Clock::Manual(manual.clone());
//! assert_eq!(clock.now_ms(), 0);
//! manual.advance_to(1000);
//! assert_eq!(clock.now_ms(), 1000);
//! ```

use std::sync::{Arc, Mutex, MutexGuard};

use timely::scheduling::SyncActivator;

use crate::time::{now_ms, Time};

/// The time source of a job.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// Wall-clock milliseconds since the Unix epoch.
    #[default]
    System,
    /// A clock that moves only when told to.
    Manual(ManualClock),
}

impl Clock {
    /// The current time in milliseconds.
    pub fn now_ms(&self) -> Time {
        match self {
            Clock::System => now_ms(),
            Clock::Manual(manual) => manual.now_ms(),
        }
    }

    /// Asks to be woken whenever a manual clock moves (a system clock needs no wake-ups).
    pub fn wake_on_advance(&self, waker: SyncActivator) {
        if let Clock::Manual(manual) = self {
            manual.lock().wakers.push(waker);
        }
    }

    /// Whether this is a manual clock: waiting sources then sleep until it moves.
    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }
}

/// A clock moved only by [`advance_to`](Self::advance_to); cheap to clone (a handle).
#[derive(Clone, Debug)]
pub struct ManualClock {
    shared: Arc<Mutex<ManualTime>>,
}

#[derive(Debug)]
struct ManualTime {
    now: Time,
    wakers: Vec<SyncActivator>,
}

impl ManualClock {
    /// A clock standing at `start` ms.
    pub fn new(start: Time) -> Self {
        ManualClock {
            shared: Arc::new(Mutex::new(ManualTime {
                now: start,
                wakers: Vec::new(),
            })),
        }
    }

    /// The current time in milliseconds.
    pub fn now_ms(&self) -> Time {
        self.lock().now
    }

    /// Moves the clock forward to `time` (never back) and wakes every source of the job.
    pub fn advance_to(&self, time: Time) {
        let mut state = self.lock();
        state.now = state.now.max(time);
        // A waker fails only once its worker is gone; forget those.
        state.wakers.retain(|waker| waker.activate().is_ok());
    }

    fn lock(&self) -> MutexGuard<'_, ManualTime> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}
