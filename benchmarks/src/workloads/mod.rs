//! The jobs Sluice measures, each one function that builds its dataflow, shared by `sluice run`
//! and `sluice bench` so that what is measured is what users run.
//!
//! [`Workload`] names the timed jobs of the latency benchmark; each builds the same computation
//! in native and in micro-batch mode over [timed](timed) lines.

pub mod grep;
pub mod lines;
pub mod timed;
pub mod wordcount;

use std::fmt;

use serde::Serialize;
use sluice_engine::Stream;
use sluice_minibatch::DStream;

use timed::{Probe, Timed};

/// A benchmark workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "workload", rename_all = "kebab-case")]
pub enum Workload {
    /// The running count of every word.
    WordCount,
    /// The count of lines containing `pattern`.
    Grep { pattern: String },
}

impl Workload {
    /// The workload called `name` (`wordcount`, `grep`), with its defaults.
    pub fn named(name: &str) -> Option<Workload> {
        match name {
            "wordcount" => Some(Workload::WordCount),
            "grep" => Some(Workload::Grep {
                pattern: grep::DEFAULT_PATTERN.to_string(),
            }),
            _ => None,
        }
    }
    /// The names [`named`](Self::named) knows.
    pub const NAMES: [&'static str; 2] = ["wordcount", "grep"];

    /// What one output (one latency sample) is.
    pub fn unit(&self) -> &'static str {
        match self {
            Workload::WordCount => "words",
            Workload::Grep { .. } => "matches",
        }
    }
    /// How many outputs `line` produces: the plain-loop reference for "nothing was lost".
    pub fn outputs_of(&self, line: &str) -> u64 {
        match self {
            Workload::WordCount => wordcount::words_in(line),
            Workload::Grep { pattern } => grep::matches(line, pattern) as u64,
        }
    }
    /// Builds the job in native mode.
    pub fn native(&self, lines: Stream<'_, Timed>, probe: &Probe) {
        match self {
            Workload::WordCount => wordcount::timed_native(lines, probe),
            Workload::Grep { pattern } => grep::timed_native(lines, pattern.clone(), probe),
        }
    }
    /// Builds the job in micro-batch mode.
    pub fn minibatch(&self, lines: DStream<'_, Timed>, probe: &Probe) {
        match self {
            Workload::WordCount => wordcount::timed_minibatch(lines, probe),
            Workload::Grep { pattern } => grep::timed_minibatch(lines, pattern.clone(), probe),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::WordCount => write!(f, "wordcount"),
            Workload::Grep { .. } => write!(f, "grep"),
        }
    }
}
