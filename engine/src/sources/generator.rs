//! The corpus generator as a source: the shared word-count corpus, split across workers, at full
//! speed or at a fixed open-loop rate.
//!
//! Worker `w` of `n` produces global lines `w, w + n, w + 2n, …` (the corpus is indexable, see
//! [`corpus`](super::corpus)), so the workers together produce each line once, with no
//! coordination. At a fixed rate, line `i` is *scheduled* at `start + i / rate`: a worker that
//! falls behind catches up in bursts instead of slowing the schedule (an open-loop load, so
//! latency measured from the schedule includes queueing).
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::sources::{corpus::CorpusSpec, Generator};
//! let generator = Generator::new(CorpusSpec::default()).lines(1000);
//! let lines = Collector::new();
//! let sink = lines.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     worker.dataflow(|scope| scope.generate(&generator).collect_into(&sink));
//! })
//! .unwrap();
//! assert_eq!(lines.take().len(), 1000);
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::corpus::{Corpus, CorpusSpec};
use super::driver::{drive, Poll, Read};
use super::source::{Source, Spread};
use super::stamped::stamp;
use crate::error::Error;
use crate::stream::{Scope, Stream};
use crate::time::now_nanos;

/// Lines produced per activation at full speed: large enough to amortize scheduling, small
/// enough that downstream operators run often.
const BATCH_LINES: u64 = 4096;
/// The shortest a paced generator waits for its next line. Waking for every line at high rates
/// keeps a worker spinning; at least this long lets it park, at the price of sending the lines
/// due meanwhile together (up to this much later than scheduled, which latency measured from
/// the schedule includes).
const MIN_WAIT: Duration = Duration::from_micros(100);

/// An input whose line `i` can be made on its own, in any order: what a generator can split
/// across workers with no coordination. The word-count corpus is one; benchmark workloads add
/// their own (ad events, for instance).
pub trait Lines: Send + Sync + std::fmt::Debug + 'static {
    /// Appends line `index` (without a newline) to `out`.
    fn write_line(&self, index: u64, out: &mut String);
    /// Line `index` as a new string.
    fn line(&self, index: u64) -> String {
        let mut line = String::new();
        self.write_line(index, &mut line);
        line
    }
}

impl Lines for Corpus {
    fn write_line(&self, index: u64, out: &mut String) {
        Corpus::write_line(self, index, out)
    }
}

/// A generator: which lines, how many, how fast.
#[derive(Clone, Debug)]
pub struct Generator {
    source: Arc<dyn Lines>,
    lines: Option<u64>,
    rate: Option<f64>,
    stamped: bool,
    linger: Duration,
    cached: Option<Arc<Vec<String>>>,
}

impl Generator {
    /// An endless, full-speed generator of the corpus `spec` describes.
    pub fn new(spec: CorpusSpec) -> Self {
        Self::of(Arc::new(Corpus::new(spec)))
    }
    /// An endless, full-speed generator of `lines`.
    pub fn of(lines: Arc<dyn Lines>) -> Self {
        Generator {
            source: lines,
            lines: None,
            rate: None,
            stamped: false,
            linger: Duration::ZERO,
            cached: None,
        }
    }
    /// After the last line, keeps the stream open (and silent) this long before it ends, so that
    /// windows over processing time that hold the last lines close before the input does.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }
    /// Stops after `lines` lines in total (across all workers).
    pub fn lines(mut self, lines: u64) -> Self {
        self.lines = Some(lines);
        self
    }
    /// Produces `lines_per_second` lines per second in total, on an open-loop schedule.
    pub fn rate(mut self, lines_per_second: f64) -> Self {
        self.rate = Some(lines_per_second).filter(|r| *r > 0.0);
        self
    }
    /// Puts each line's scheduled send time in front of it, in the [`stamped`](super::stamped)
    /// format `sluice loadgen` uses: at a fixed rate the time line `i` was due, at full speed the
    /// time it was made. Latency measured from it includes any time the line waited to be made.
    pub fn stamped(mut self) -> Self {
        self.stamped = true;
        self
    }
    /// Generates the first `lines` lines now and replays them from memory, so that a benchmark
    /// measures the engine rather than the random-number generator. Implies `.lines(lines)`.
    pub fn in_memory(mut self, lines: u64) -> Self {
        self.cached = Some(Arc::new((0..lines).map(|i| self.source.line(i)).collect()));
        self.lines(lines)
    }
    /// The lines generated up front by [`in_memory`](Self::in_memory), if any.
    pub fn lines_in_memory(&self) -> Option<&[String]> {
        self.cached.as_deref().map(Vec::as_slice)
    }
}

/// One worker's generation: which line is next, and the schedule.
struct GeneratorRead {
    generator: Generator,
    peers: u64,
    /// The next global line this worker produces.
    next: u64,
    /// Lines before this one were made in an earlier run (a restored checkpoint): the schedule
    /// goes on from it rather than from line 0.
    first: u64,
    start: Instant,
    start_nanos: u64,
    /// When this worker made its last line: the linger runs from then, not from when the
    /// schedule said it was due — a worker that fell behind still gives its last lines' windows
    /// the whole linger to close.
    made_last: Option<Instant>,
}

impl GeneratorRead {
    /// When line `line` is due, in ns since the Unix epoch (now, at full speed).
    fn scheduled(&self, line: u64) -> u64 {
        match self.generator.rate {
            Some(rate) => self.start_nanos + ((line - self.first) as f64 * 1e9 / rate) as u64,
            None => now_nanos(),
        }
    }

    /// How far into the schedule line `line` is.
    fn at(&self, line: u64) -> Duration {
        let rate = self.generator.rate.unwrap_or(f64::INFINITY);
        Duration::from_secs_f64(line.saturating_sub(self.first) as f64 / rate)
    }
}

impl Read<String> for GeneratorRead {
    type Offset = u64;

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll, Error> {
        let limit = self.generator.lines.unwrap_or(u64::MAX);
        let due = match self.generator.rate {
            None => limit,
            Some(rate) => self.first + (self.start.elapsed().as_secs_f64() * rate) as u64 + 1,
        };
        let stop = due
            .min(limit)
            .min(self.next.saturating_add(BATCH_LINES * self.peers));
        while self.next < stop {
            let line = match &self.generator.cached {
                Some(lines) => lines[self.next as usize].clone(),
                None => self.generator.source.line(self.next),
            };
            out.push(match self.generator.stamped {
                true => stamp(self.scheduled(self.next), &line),
                false => line,
            });
            self.next += self.peers;
        }
        let linger = self.generator.linger;
        Ok(if self.next >= limit {
            let made_last = *self.made_last.get_or_insert_with(Instant::now);
            match linger.checked_sub(made_last.elapsed()) {
                Some(wait) if !wait.is_zero() => Poll::Wait(wait),
                _ => Poll::Done,
            }
        } else if self.next < due {
            Poll::Ready
        } else {
            let wait = self.at(self.next).saturating_sub(self.start.elapsed());
            Poll::Wait(wait.max(MIN_WAIT))
        })
    }

    fn offset(&self) -> Option<u64> {
        Some(self.next)
    }

    fn seek(&mut self, offset: u64) -> Result<(), Error> {
        // The offset is this worker's own next line, from an earlier run of the same job.
        self.next = offset;
        self.first = offset - offset % self.peers;
        Ok(())
    }
}

/// Each worker makes every `workers`-th line.
impl Source for Generator {
    type Item = String;

    fn spread(&self) -> Spread {
        Spread::AllWorkers
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        build(scope, self)
    }
}

fn build<'scope>(scope: Scope<'scope>, generator: &Generator) -> Stream<'scope, String> {
    let (index, peers) = (scope.index() as u64, scope.peers() as u64);
    let generator = generator.clone();
    drive(scope, "Generator", move |_| {
        Some(GeneratorRead {
            generator,
            peers,
            next: index,
            first: 0,
            start: Instant::now(),
            start_nanos: now_nanos(),
            made_last: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker `behind` its schedule (overloaded) that has just made its last line.
    fn read_all(linger: Duration, behind: Duration) -> (GeneratorRead, Poll) {
        let generator = Generator::new(CorpusSpec::default())
            .lines(10)
            .rate(1000.0)
            .linger(linger);
        let mut read = GeneratorRead {
            generator,
            peers: 1,
            next: 0,
            first: 0,
            start: Instant::now() - behind,
            start_nanos: now_nanos(),
            made_last: None,
        };
        let mut out = Vec::new();
        let poll = read.read(&mut out).unwrap();
        assert_eq!(out.len(), 10, "every line was due");
        (read, poll)
    }

    #[test]
    fn a_late_worker_still_lingers_after_its_last_line() {
        // The schedule ended 10 s ago; the 1 s linger starts now, when the last line was made.
        let (_, poll) = read_all(Duration::from_secs(1), Duration::from_secs(10));
        match poll {
            Poll::Wait(wait) => assert!(wait > Duration::from_millis(900), "{wait:?}"),
            other => panic!("ended without lingering: {other:?}"),
        }
    }

    #[test]
    fn without_linger_the_last_line_ends_the_stream() {
        let (_, poll) = read_all(Duration::ZERO, Duration::from_secs(10));
        assert!(matches!(poll, Poll::Done), "{poll:?}");
    }

    #[test]
    fn the_linger_ends() {
        let (mut read, _) = read_all(Duration::from_millis(20), Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(30));
        assert!(matches!(read.read(&mut Vec::new()).unwrap(), Poll::Done));
    }
}
