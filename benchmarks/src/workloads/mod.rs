//! The jobs Sluice measures, each one function that builds its dataflow, shared by `sluice run`
//! and `sluice bench` so that what is measured is what users run.
//!
//! [`Workload`] names the timed jobs of the latency benchmark; each builds the same computation
//! in native and in micro-batch mode over [`timed`] lines.

pub mod grep;
pub mod hashtags;
pub mod timed;
pub mod topk;
pub mod tweets;
pub mod wordcount;
pub mod ysb;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_engine::sources::corpus::{Corpus, CorpusSpec};
use sluice_engine::sources::generator::Lines;
use sluice_engine::{Stream, Time};
use sluice_minibatch::DStream;

use timed::{Probe, Timed};

/// A benchmark workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "workload", rename_all = "kebab-case")]
pub enum Workload {
    /// The running count of every word.
    WordCount,
    /// The count of lines containing `pattern`.
    Grep { pattern: String },
    /// Each word's count per window (words standing for hashtags).
    Hashtags { window_ms: Time, slide_ms: Time },
    /// The `k` most frequent words per window.
    TopK {
        window_ms: Time,
        slide_ms: Time,
        k: usize,
    },
    /// The Yahoo Streaming Benchmark: views per campaign per tumbling window.
    Ysb { window_ms: Time },
}

impl Workload {
    /// The workload called `name` (one of [`NAMES`](Self::NAMES)), with its defaults: hashtag
    /// counts in 1 s tumbling windows, the top 10 words of 2 s windows sliding by 1 s, and YSB's
    /// 10 s tumbling windows.
    pub fn named(name: &str) -> Option<Workload> {
        match name {
            "wordcount" => Some(Workload::WordCount),
            "grep" => Some(Workload::Grep {
                pattern: grep::DEFAULT_PATTERN.to_string(),
            }),
            "hashtags" => Some(Workload::Hashtags {
                window_ms: 1000,
                slide_ms: 1000,
            }),
            "topk" => Some(Workload::TopK {
                window_ms: 2000,
                slide_ms: 1000,
                k: 10,
            }),
            "ysb" => Some(Workload::Ysb { window_ms: 10_000 }),
            _ => None,
        }
    }
    /// The names [`named`](Self::named) knows.
    pub const NAMES: [&'static str; 5] = ["wordcount", "grep", "hashtags", "topk", "ysb"];

    /// The same workload with windows of `window_ms` (tumbling ones stay tumbling; sliding
    /// ones slide by half a window). No effect on unwindowed workloads.
    pub fn with_window(self, window_ms: Time) -> Workload {
        match self {
            Workload::Hashtags { .. } => Workload::Hashtags {
                window_ms,
                slide_ms: window_ms,
            },
            Workload::TopK { k, .. } => Workload::TopK {
                window_ms,
                slide_ms: (window_ms / 2).max(1),
                k,
            },
            Workload::Ysb { .. } => Workload::Ysb { window_ms },
            other => other,
        }
    }

    /// The window length and slide in ms, for windowed workloads.
    pub fn window(&self) -> Option<(Time, Time)> {
        match self {
            Workload::Hashtags {
                window_ms,
                slide_ms,
            }
            | Workload::TopK {
                window_ms,
                slide_ms,
                ..
            } => Some((*window_ms, *slide_ms)),
            Workload::Ysb { window_ms } => Some((*window_ms, *window_ms)),
            _ => None,
        }
    }

    /// The input this workload reads: the corpus, or (YSB) ad events.
    pub fn lines(&self, corpus: &CorpusSpec) -> Arc<dyn Lines> {
        match self {
            Workload::Ysb { .. } => Arc::new(ysb::AdEvents::new(corpus.seed)),
            _ => Arc::new(Corpus::new(corpus.clone())),
        }
    }
    /// The name of [`lines`](Self::lines) for `sluice loadgen --events`.
    pub fn events(&self) -> &'static str {
        match self {
            Workload::Ysb { .. } => "ysb",
            _ => "corpus",
        }
    }

    /// Where this workload's latency is measured from: a record's scheduled send time, or, for
    /// a windowed workload, the end of the window its result is for (event-time latency).
    pub fn latency_from(&self) -> &'static str {
        match self.window() {
            Some(_) => "window end",
            None => "scheduled send time",
        }
    }

    /// What one output is.
    pub fn unit(&self) -> &'static str {
        match self {
            Workload::WordCount => "words",
            Workload::Grep { .. } => "matches",
            Workload::Hashtags { .. } | Workload::TopK { .. } => "counted",
            Workload::Ysb { .. } => "views",
        }
    }
    /// How many outputs `line` produces: the plain-loop reference for "nothing was lost". A
    /// windowed workload counts each input once in every window that holds it.
    pub fn outputs_of(&self, line: &str) -> u64 {
        let windows = self.window().map_or(1, |(length, slide)| length / slide);
        match self {
            Workload::WordCount => wordcount::words_in(line),
            Workload::Grep { pattern } => grep::matches(line, pattern) as u64,
            Workload::Hashtags { .. } | Workload::TopK { .. } => {
                wordcount::words_in(line) * windows
            }
            Workload::Ysb { .. } => ysb::is_view(line) as u64,
        }
    }
    /// Builds the job in native mode.
    pub fn native(&self, lines: Stream<'_, Timed>, probe: &Probe) {
        match self {
            Workload::WordCount => wordcount::timed_native(lines, probe),
            Workload::Grep { pattern } => grep::timed_native(lines, pattern.clone(), probe),
            Workload::Hashtags { .. } => hashtags::timed_native(lines, self.durations(), probe),
            Workload::TopK { k, .. } => topk::timed_native(lines, self.durations(), *k, probe),
            Workload::Ysb { .. } => ysb::timed_native(lines, self.durations().0, probe),
        }
    }
    /// Builds the job in micro-batch mode.
    pub fn minibatch(&self, lines: DStream<'_, Timed>, probe: &Probe) {
        match self {
            Workload::WordCount => wordcount::timed_minibatch(lines, probe),
            Workload::Grep { pattern } => grep::timed_minibatch(lines, pattern.clone(), probe),
            Workload::Hashtags { .. } => hashtags::timed_minibatch(lines, self.durations(), probe),
            Workload::TopK { k, .. } => topk::timed_minibatch(lines, self.durations(), *k, probe),
            Workload::Ysb { .. } => ysb::timed_minibatch(lines, self.durations().0, probe),
        }
    }
    /// The window length and slide as durations (zero for unwindowed workloads).
    fn durations(&self) -> (Duration, Duration) {
        let (length, slide) = self.window().unwrap_or((0, 0));
        (Duration::from_millis(length), Duration::from_millis(slide))
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::WordCount => write!(f, "wordcount"),
            Workload::Grep { .. } => write!(f, "grep"),
            Workload::Hashtags { .. } => write!(f, "hashtags"),
            Workload::TopK { .. } => write!(f, "topk"),
            Workload::Ysb { .. } => write!(f, "ysb"),
        }
    }
}
