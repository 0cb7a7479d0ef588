//! Lambda and kappa on one engine: the same log, operators, checkpoints and serving store.
//!
//! - [`kappa`]: one streaming job over the event log maintains a view; reprocessing is a new
//!   version of the job replaying the log from its start into a new version of the view, which
//!   takes over atomically once it has caught up;
//! - [`lambda`]: a batch view over the log up to an offset, a speed layer after it, and a
//!   serving layer that adds the two; a new generation replaces both at once;
//! - [`compare`]: both over the same events — equality, freshness, reprocessing time, cost.

pub mod compare;
pub mod kappa;
pub mod lambda;

use std::sync::Arc;

use sluice_engine::prelude::*;

use kappa::ViewProgram;

/// The word-count view both architectures serve: each word (after `normalize`, which a "code
/// change" varies) with its running count.
pub fn word_count_view(normalize: fn(&str) -> String) -> ViewProgram {
    Arc::new(move |lines| {
        lines
            .flat_map(move |line: String| {
                line.split_ascii_whitespace()
                    .map(|w| (normalize(w), ()))
                    .collect::<Vec<_>>()
            })
            .map_with_state(|word: &String, (), count: &mut Option<u64>| {
                let count = count.get_or_insert(0);
                *count += 1;
                (word.clone(), *count)
            })
    })
}
