//! Grep, the D-Streams paper's first workload: how many input lines contain a pattern.
//!
//! Native mode keeps one running count of matching lines and emits its new value for each match;
//! micro-batch mode counts each batch's matches (Spark's `filter(...).count()`). Only matching
//! lines have an effect, so only they are measured.

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use crate::probe::{Probe, Timed};

/// The default pattern: a substring found in about one line in thirty of the default corpus.
pub const DEFAULT_PATTERN: &str = "abc";

/// Whether `line` matches `pattern` (a plain substring, as `grep -F`).
pub fn matches(line: &str, pattern: &str) -> bool {
    line.contains(pattern)
}

/// Timed grep, native: a running count of matching lines, updated per match.
pub fn timed_native(lines: Stream<'_, Timed>, pattern: String, probe: &Probe) {
    let matched = lines
        .filter(move |(_, line)| matches(line, &pattern))
        .map(|(sent, _)| ((), sent));
    let updates = matched.map_with_state(|_, sent, count: &mut Option<u64>| {
        *count.get_or_insert(0) += 1;
        sent
    });
    probe.native(updates);
}

/// Timed grep, micro-batch: each batch's count of matching lines.
pub fn timed_minibatch(lines: DStream<'_, Timed>, pattern: String, probe: &Probe) {
    let matched = lines.filter(move |(_, line)| matches(line, &pattern));
    let count = matched.count();
    probe.minibatch(&matched.map(|(sent, _)| (sent, 1)), &count);
}
