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
use sluice_engine::time::now_nanos;
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
    at_event_time: bool,
}

impl NexmarkSource {
    /// All of `events`, as fast as the workers make them.
    pub fn new(events: EventSet) -> Self {
        NexmarkSource {
            events,
            rate: None,
            at_event_time: false,
        }
    }
    /// At `events_per_second` in total, on an open-loop schedule (a worker that falls behind
    /// catches up at full speed; it never skips).
    pub fn rate(mut self, events_per_second: f64) -> Self {
        self.rate = Some(events_per_second);
        self
    }
    /// Releases each event when the wall clock reaches its event time (ms since the Unix
    /// epoch), instead of by [`rate`](Self::rate): with the event set's `base-time` at a moment
    /// just ahead and `first-event.rate` the wanted rate, an event's time is exactly when it
    /// was due, so the time from it to a result is the result's latency — to the nanosecond,
    /// with no rounding of the schedule to whole milliseconds in between. The events of one
    /// millisecond go out together, as a source reading a millisecond-stamped feed would.
    pub fn at_event_time(mut self) -> Self {
        self.at_event_time = true;
        self
    }
    /// The event set.
    pub fn events(&self) -> &EventSet {
        &self.events
    }
}

/// When a worker's events go out.
#[derive(Clone, Copy, Debug)]
enum Pace {
    /// As fast as they are made.
    Full,
    /// This many per second, from the worker's start.
    Rate(f64),
    /// Each when the wall clock reaches its event time.
    EventTime,
}

/// One worker's generators and schedule.
struct NexmarkRead {
    events: InTurn,
    made: u64,
    pace: Pace,
    /// Where the schedule starts: made events before this came from an earlier run.
    first: u64,
    start: Instant,
    /// An event made but not yet due ([`Pace::EventTime`]).
    held: Option<Event>,
}

impl NexmarkRead {
    fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.held.take() {
            return Some(event);
        }
        let event = self.events.next()?;
        self.made += 1;
        Some(event)
    }

    /// Up to [`BATCH`] events whose time has come; waits for the next one's.
    fn read_at_event_time(&mut self, out: &mut Vec<Event>) -> Poll {
        let now = now_nanos();
        for _ in 0..BATCH {
            let Some(event) = self.next() else {
                return Poll::Done;
            };
            let due = (event.date_time().max(0) as u64).saturating_mul(1_000_000);
            if due > now {
                self.held = Some(event);
                return Poll::Wait(Duration::from_nanos(due - now));
            }
            out.push(event);
        }
        Poll::Ready
    }
}

impl Read<Event> for NexmarkRead {
    type Offset = u64;

    fn read(&mut self, out: &mut Vec<Event>) -> Result<Poll, Error> {
        let rate = match self.pace {
            Pace::EventTime => return Ok(self.read_at_event_time(out)),
            Pace::Rate(rate) => Some(rate),
            Pace::Full => None,
        };
        let due = match rate {
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
        Ok(match rate {
            Some(rate) if self.made >= due => {
                let at = Duration::from_secs_f64((self.made - self.first) as f64 / rate);
                Poll::Wait(at.saturating_sub(self.start.elapsed()))
            }
            _ => Poll::Ready,
        })
    }

    /// Events emitted so far (a held event was made but not emitted).
    fn offset(&self) -> Option<u64> {
        Some(self.made - self.held.is_some() as u64)
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
        let pace = match (self.at_event_time, rate) {
            (true, _) => Pace::EventTime,
            (false, Some(rate)) => Pace::Rate(rate),
            (false, None) => Pace::Full,
        };
        drive(scope, "Nexmark", move |_| {
            (!mine.is_empty()).then(|| NexmarkRead {
                events: events.in_turn(mine),
                made: 0,
                pace,
                first: 0,
                start: Instant::now(),
                held: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::NexmarkOptions;
    use sluice_engine::prelude::*;

    #[test]
    fn at_event_time_no_event_goes_out_before_its_time_and_none_is_lost() {
        let start_ms = now_nanos() / 1_000_000 + 50;
        let options = NexmarkOptions {
            base_time: start_ms as i64,
            first_event_rate: 20_000,
            ..NexmarkOptions::default()
        };
        // 2,000 events over 100 ms, from 3 generators over 2 workers.
        let source = NexmarkSource::new(EventSet::new(options, 3, Some(2000))).at_event_time();
        let released = Collector::new();
        let sink = released.clone();
        execute(Execution::default().workers(2), move |worker| {
            worker.dataflow(|scope| {
                scope
                    .source(&source)
                    .map(|event: Event| (event.date_time(), now_nanos()))
                    .collect_into(&sink)
            });
        })
        .unwrap();
        let released = released.take();
        assert_eq!(released.len(), 2000);
        for (time, at) in &released {
            assert!(
                *at >= *time as u64 * 1_000_000,
                "{time} ms released at {at} ns"
            );
        }
        let last = released.iter().map(|(time, _)| *time).max().unwrap();
        assert!(last as u64 >= start_ms + 95, "the schedule spans 100 ms");
    }
}
