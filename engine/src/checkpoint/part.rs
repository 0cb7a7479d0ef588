//! Checkpoint parts: what each file of a checkpoint is the state of, and its name.
//!
//! Every checkpointed instance — a source on one worker, a stateful operator on one worker —
//! gives one *part* per epoch. Its kind ([`PartKind`]) says what the part holds; the names
//! built here, from the operator's name (its uid, or the one derived from its kind: see
//! [`registry`](super::registry)), are the file names in the checkpoint directory:
//!
//! | part                                   | name                           |
//! |----------------------------------------|--------------------------------|
//! | source `file` on worker 0              | `source-file-w0`               |
//! | operator `LastByKey` on worker 1       | `LastByKey-w1`                 |
//! | the second `LastByKey` on worker 1     | `LastByKey#2-w1`               |
//! | operator with uid `counts` on worker 0 | `counts-w0`                    |
//! | process 2's marker for an epoch        | `process-2`                    |

use crate::time::Time;

use super::domain::Domain;

/// What a checkpointed instance is, and so what its part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// A source: its part is its replay offset (`Option<u64>`), which a committed checkpoint's
    /// metadata also lists (see [`Metadata::source_offsets`](super::Metadata::source_offsets)).
    Source,
    /// A stateful operator or an epoch sink: its part is its state.
    Operator,
}

impl PartKind {
    /// The name the checkpoint knows the instance `name` by (a source's starts with
    /// `source-`); its parts are named from it with [`part_name`].
    pub(super) fn operator_name(self, name: &str) -> String {
        match self {
            PartKind::Source => format!("source-{name}"),
            PartKind::Operator => name.to_string(),
        }
    }
}

/// The part of `operator` (as named by [`PartKind::operator_name`]) on `worker`.
pub(super) fn part_name(operator: &str, worker: usize) -> String {
    format!("{operator}-w{worker}")
}

/// The operator a [`part_name`] belongs to.
pub(crate) fn operator_of(part: &str) -> &str {
    part.rsplit_once("-w")
        .map_or(part, |(operator, _)| operator)
}

/// The process that writes `part` (a [`part_name`] or a [`process_marker`]) in a job of
/// `workers` per process.
pub(super) fn process_of(part: &str, workers: usize) -> Option<usize> {
    if let Some(process) = part.strip_prefix("process-") {
        return process.parse().ok();
    }
    let (_, worker) = part.rsplit_once("-w")?;
    worker.parse::<usize>().ok().map(|w| w / workers.max(1))
}

/// The marker process `process` leaves in an epoch once all its parts of the epoch are durable
/// (holding the lowest watermark of its `with_event_time` instances at the epoch).
pub(super) fn process_marker(process: usize) -> String {
    format!("process-{process}")
}

/// What a part is, beside its state: see [`Coordinator::write`](super::Coordinator::write).
#[derive(Clone, Copy, Debug)]
pub struct PartOf<'a> {
    /// The part's name (from [`Coordinator::register`](super::Coordinator::register)).
    pub name: &'a str,
    /// The domain of the epochs it is saved at.
    pub domain: Domain,
    /// For a `with_event_time` instance: its watermark as of the epoch.
    pub watermark: Option<Time>,
}
