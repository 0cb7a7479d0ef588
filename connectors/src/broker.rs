//! What Sluice needs of a broker, in two traits — the one home of the broker protocol.
//!
//! A broker holds **partitions** (Redis Streams keys, NATS subjects, Kafka partitions): each an
//! ordered, replayable sequence of messages, every message at a **position** the broker gives
//! it. That is all a source needs for exactly-once reading in Spark's "direct" style: the
//! positions a reader has reached are saved in Sluice's checkpoints (never the broker's own
//! acknowledgements), and a restored job reads each partition again from its saved position.
//!
//! - [`Broker`] names the partitions and opens readers and appenders;
//! - [`Fetch`] reads messages from given positions, to the end as of opening or following;
//! - [`Append`] writes lines: plainly (`sluice broker push`, the load generator), or as one
//!   epoch of one writer, exactly once however often it is asked (the committed sink).
//!
//! A Kafka connector would be one more file implementing these (partitions: the topic's
//! partitions; positions: offsets; `append_epoch`: a transactional producer whose
//! transactional id is the writer's, or an idempotent write guarded by the epoch).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use sluice_engine::Error;

/// Each partition's position: where the last message read from it was.
pub type Positions = BTreeMap<String, String>;

/// A message read from a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The index of its partition among those the reader was opened on.
    pub partition: usize,
    /// Its position in the partition (reading again after it skips it).
    pub position: String,
    /// Its payload: one line of text, unless malformed.
    pub payload: Vec<u8>,
}

/// What a fetch found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Zero or more messages were appended; there may be more.
    More,
    /// Every partition has been read to its end as of opening (not following).
    Done,
}

/// A broker; see the module docs. Cheap to clone: a description, connected by each reader or
/// appender it opens. Displayed as its URL, which errors name.
pub trait Broker: Clone + Send + Sync + fmt::Debug + fmt::Display + 'static {
    /// The partitions, in a fixed order: reader `r` of `n` reads partitions `r, r + n, …`.
    /// Fails, naming the broker, if it cannot be reached or the stream does not exist.
    fn partitions(&self) -> Result<Vec<String>, Error>;

    /// A reader of `partitions`, each after its position in `from` (from its first message if
    /// it has none there). Unless `follow`, it ends at each partition's end as of opening.
    fn reader(
        &self,
        partitions: &[String],
        from: &Positions,
        follow: bool,
    ) -> Result<Box<dyn Fetch>, Error>;

    /// An appender to the partition output goes to (created if missing).
    fn appender(&self) -> Result<Box<dyn Append>, Error>;
}

/// Reads messages; see [`Broker::reader`].
pub trait Fetch: Send {
    /// Appends up to `max` messages to `out`, waiting up to `wait` when none is ready.
    fn fetch(
        &mut self,
        max: usize,
        wait: Duration,
        out: &mut Vec<Message>,
    ) -> Result<Fetched, Error>;
}

/// Writes lines, one message each; see [`Broker::appender`].
pub trait Append: Send {
    /// Appends `lines`, with no deduplication: stored when it returns.
    fn append(&mut self, lines: &[String]) -> Result<(), Error>;

    /// Appends `lines` like [`append`](Self::append), but may return before the broker has
    /// acknowledged them, so that a producer on a schedule (the load generator) does not wait
    /// a round trip per burst; [`flush`](Self::flush) waits for the acknowledgements. Lines
    /// whose acknowledgement fails are sent again, in order, by a later call.
    fn send(&mut self, lines: &[String]) -> Result<(), Error> {
        self.append(lines)
    }

    /// Waits until everything [`send`](Self::send) took is stored.
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Appends `lines` as epoch `epoch` of writer `writer` of the job `job`, once: asked again
    /// for an epoch of that writer it has already appended (after a restore: the same lines),
    /// it appends nothing. Epochs of a writer come in increasing order.
    fn append_epoch(
        &mut self,
        job: &str,
        writer: usize,
        epoch: u64,
        lines: &[String],
    ) -> Result<(), Error>;
}

/// Reader `reader` of `readers`'s partitions: `reader`, `reader + readers`, … (deterministic,
/// so the assignment is the same after a restart with as many readers).
pub fn assigned(partitions: &[String], reader: usize, readers: usize) -> Vec<String> {
    partitions
        .iter()
        .skip(reader)
        .step_by(readers.max(1))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_round_robin_and_covers_every_partition_once() {
        let partitions: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
        let parts: Vec<_> = (0..2).map(|r| assigned(&partitions, r, 2)).collect();
        assert_eq!(parts[0], ["p0", "p2", "p4"]);
        assert_eq!(parts[1], ["p1", "p3"]);
        assert_eq!(assigned(&partitions, 3, 8), ["p3"]);
        assert!(assigned(&partitions, 6, 8).is_empty());
    }
}
