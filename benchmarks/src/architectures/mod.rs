//! Lambda and kappa on one engine: the same log, operators, checkpoints and serving store.
//!
//! - [`kappa`]: one streaming job over the event log maintains a view; reprocessing is a new
//!   version of the job replaying the log from its start into a new version of the view, which
//!   takes over atomically once it has caught up;
//! - [`lambda`]: a batch view over the log up to an offset, a speed layer after it, and a
//!   serving layer that adds the two; the batch layer runs periodically, and each new
//!   generation replaces both at once;
//! - [`views`]: what they compute — word counts, hashtags per window, YSB's campaign counts;
//! - [`compare`]: both over the same events — equality, freshness, reprocessing time, cost.

pub mod compare;
pub mod kappa;
pub mod lambda;
pub mod views;

use kappa::ViewProgram;

/// The word-count view: each word (after `normalize`, which a "code change" varies) with its
/// running count.
pub fn word_count_view(normalize: fn(&str) -> String) -> ViewProgram {
    views::counting_view(move |line| line.split_ascii_whitespace().map(normalize).collect())
}
