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
use super::driver::{drive, Poll};
use super::stamped::stamp;
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

pub(super) fn build<'scope>(scope: Scope<'scope>, generator: &Generator) -> Stream<'scope, String> {
    let (index, peers) = (scope.index() as u64, scope.peers() as u64);
    let Generator {
        source,
        lines,
        rate,
        stamped,
        linger,
        cached,
    } = generator.clone();
    let limit = lines.unwrap_or(u64::MAX);
    drive(scope, "Generator", move |_| {
        let (start, start_nanos) = (Instant::now(), now_nanos());
        let scheduled = move |line: u64| match rate {
            Some(rate) => start_nanos + (line as f64 * 1e9 / rate) as u64,
            None => now_nanos(),
        };
        let mut next = index; // the next global line this worker produces
        Some(move |out: &mut Vec<String>| {
            let due = match rate {
                None => limit,
                Some(rate) => (start.elapsed().as_secs_f64() * rate) as u64 + 1,
            };
            let stop = due.min(limit).min(next.saturating_add(BATCH_LINES * peers));
            while next < stop {
                let line = match &cached {
                    Some(lines) => lines[next as usize].clone(),
                    None => source.line(next),
                };
                out.push(match stamped {
                    true => stamp(scheduled(next), &line),
                    false => line,
                });
                next += peers;
            }
            Ok(if next >= limit {
                let end = Duration::from_secs_f64(limit as f64 / rate.unwrap_or(f64::INFINITY));
                match (end + linger).checked_sub(start.elapsed()) {
                    Some(wait) if !linger.is_zero() => Poll::Wait(wait),
                    _ => Poll::Done,
                }
            } else if next < due {
                Poll::Ready
            } else {
                let at = Duration::from_secs_f64(next as f64 / rate.unwrap_or(f64::INFINITY));
                Poll::Wait(at.saturating_sub(start.elapsed()).max(MIN_WAIT))
            })
        })
    })
}
