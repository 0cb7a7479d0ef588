//! The generator as a source: each worker runs its share of an [`EventSet`]'s generators
//! (generator `i` on worker `i % workers`), taking them in turn, as fast as it can or at a
//! fixed total rate on an open-loop schedule.
//!
//! Which events exist depends only on the event set (its generator count), never on the worker
//! or process count. With checkpoints the source replays from its offset: the generators'
//! random sequences cannot be skipped, so a restored worker regenerates and drops what it had
//! already emitted.
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_nexmark::generator::EventSet;
//! use sluice_nexmark::source::NexmarkSource;
//! let source = NexmarkSource::new(EventSet::new(Default::default(), 3, Some(1000)));
//! let events = Collector::new();
//! let sink = events.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     worker.dataflow(|scope| scope.source(&source).collect_into(&sink));
//! })
//! .unwrap();
//! assert_eq!(events.take().len(), 1000);
//! ```

use std::time::{Duration, Instant};

use sluice_engine::sources::driver::{drive, Poll, Read};
use sluice_engine::sources::{Source, Spread};
use sluice_engine::{Error, Scope, Stream};

use crate::generator::{EventSet, InTurn};
use crate::model::Event;

/// Events per read: enough to amortise the scheduling, few enough to keep latency low.
const BATCH: usize = 1024;

/// The Nexmark generator as a source.
#[derive(Clone, Debug)]
pub struct NexmarkSource {
    events: EventSet,
    rate: Option<f64>,
    start_ms: Option<u64>,
}

impl NexmarkSource {
    /// All of `events`, as fast as the workers make them.
    pub fn new(events: EventSet) -> Self {
        NexmarkSource {
            events,
            rate: None,
            start_ms: None,
        }
    }
    /// At `events_per_second` in total, on an open-loop schedule (a worker that falls behind
    /// catches up at full speed; it never skips).
    pub fn rate(mut self, events_per_second: f64) -> Self {
        self.rate = Some(events_per_second);
        self
    }
    /// With [`rate`](Self::rate): the schedule starts at this wall-clock time (ms since the
    /// Unix epoch) rather than when each worker starts. With the event set's `base-time` and
    /// `first-event.rate` set to the same instant and rate, an event's time is when it is due,
    /// so the time from an event's time to a result is its latency.
    pub fn start_at(mut self, unix_ms: u64) -> Self {
        self.start_ms = Some(unix_ms);
        self
    }
    /// The event set.
    pub fn events(&self) -> &EventSet {
        &self.events
    }
}

/// One worker's generators and schedule.
struct NexmarkRead {
    events: InTurn,
    made: u64,
    /// Events per second for this worker.
    rate: Option<f64>,
    /// Where the schedule starts: made events before this came from an earlier run.
    first: u64,
    start: Instant,
}

impl NexmarkRead {
    fn next(&mut self) -> Option<Event> {
        let event = self.events.next()?;
        self.made += 1;
        Some(event)
    }
}

impl Read<Event> for NexmarkRead {
    fn read(&mut self, out: &mut Vec<Event>) -> Result<Poll, Error> {
        let due = match self.rate {
            None => u64::MAX,
            Some(rate) => self.first + (self.start.elapsed().as_secs_f64() * rate) as u64 + 1,
        };
        let stop = due.min(self.made + BATCH as u64);
        while self.made < stop {
            match self.next() {
                Some(event) => out.push(event),
                None => return Ok(Poll::Done),
            }
        }
        Ok(match self.rate {
            Some(rate) if self.made >= due => {
                let at = Duration::from_secs_f64((self.made - self.first) as f64 / rate);
                Poll::Wait(at.saturating_sub(self.start.elapsed()))
            }
            _ => Poll::Ready,
        })
    }

    fn offset(&self) -> Option<u64> {
        Some(self.made)
    }

    fn seek(&mut self, offset: u64) -> Result<(), Error> {
        while self.made < offset {
            if self.next().is_none() {
                break;
            }
        }
        self.first = self.made;
        Ok(())
    }
}

impl Source for NexmarkSource {
    type Item = Event;

    fn spread(&self) -> Spread {
        Spread::AllWorkers
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, Event> {
        let (index, peers) = (scope.index(), scope.peers());
        let events = self.events.clone();
        let mine: Vec<usize> = (index..events.generators()).step_by(peers).collect();
        let rate = self
            .rate
            .map(|rate| rate * mine.len() as f64 / events.generators() as f64);
        let start_ms = self.start_ms;
        drive(scope, "Nexmark", move |_| {
            let start = match start_ms {
                Some(at) => instant_of(at),
                None => Instant::now(),
            };
            (!mine.is_empty()).then(|| NexmarkRead {
                events: events.in_turn(mine),
                made: 0,
                rate,
                first: 0,
                start,
            })
        })
    }
}

/// The `Instant` of a wall-clock time (ms since the Unix epoch), however far in the past or
/// future.
fn instant_of(unix_ms: u64) -> Instant {
    let now = Instant::now();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    if unix_ms >= now_ms {
        now + Duration::from_millis(unix_ms - now_ms)
    } else {
        now.checked_sub(Duration::from_millis(now_ms - unix_ms))
            .unwrap_or(now)
    }
}
