//! Appending a stream to an event log, exactly once across restores.
//!
//! One writer per log: the records go to worker 0, which appends each epoch (sorted) once the
//! epoch is complete. Its checkpoint state is the log's end offset after the epochs before the
//! checkpoint. A restored job recomputes what came after the checkpoint, and the log may
//! already hold some of it — appended before the crash, possibly only part of an epoch. Those
//! records are read back from the saved offset on restore, and recomputed records equal to one
//! of them (same time, same text) are skipped, once each; the rest are appended. Readers of
//! the log thus see every record once — when the job's sources replay at the same times (the
//! event log, a socket's write-ahead log, a file with the lines' own times). A source stamped
//! with processing time (the generator, a file or directory read as it comes) replays at new
//! times: what the failed run appended past the checkpoint then comes again, at its new time
//! (an appended log cannot take records back).

use timely::dataflow::channels::pact::Exchange;

use super::epochs::{write_per_epoch, EpochWriter};
use crate::error::Error;
use crate::hash::HashMap;
use crate::log::{EventLog, LogConfig, LogReader};
use crate::operators::stateless::Stateless;
use crate::stream::Stream;
use crate::time::Time;

pub(super) fn append_to_log<D: std::fmt::Display + 'static>(
    stream: Stream<'_, D>,
    dir: &std::path::Path,
    config: LogConfig,
    every: Time,
) {
    let dir = dir.to_path_buf();
    let lines = stream.map(|record| record.to_string());
    let to_first = Exchange::new(|_: &String| 0);
    write_per_epoch(lines, "AppendToLog", to_first, every, move |worker| {
        if worker != 0 {
            return Ok(None);
        }
        Ok(Some(LogAppender {
            log: EventLog::open_with(&dir, config)?,
            appended: HashMap::default(),
            restored: 0,
        }))
    })
}

struct LogAppender {
    log: EventLog,
    /// Records the run before a restore appended after the checkpoint, by time and text,
    /// with their numbers: recomputed, they are skipped.
    appended: HashMap<(Time, String), u64>,
    /// The offset the restored checkpoint saved.
    restored: u64,
}

impl EpochWriter for LogAppender {
    type State = u64;

    fn write(&mut self, end: Time, mut records: Vec<(Time, String)>) -> Result<(), Error> {
        if !self.appended.is_empty() {
            records.retain(|record| match self.appended.get_mut(record) {
                Some(n) => {
                    *n -= 1;
                    if *n == 0 {
                        self.appended.remove(record);
                    }
                    false
                }
                None => true,
            });
            // Earlier epochs are complete: what is left of them will not come again.
            self.appended.retain(|(time, _), _| *time >= end);
        }
        self.log.append_all(records).map(|_| ())
    }

    fn state(&self) -> u64 {
        // While records of the earlier run are still to be recomputed, a restore must read
        // them back again: from the offset this run was restored at.
        if self.appended.is_empty() {
            self.log.next_offset()
        } else {
            self.restored
        }
    }

    fn restore(&mut self, saved: u64) -> Result<(), Error> {
        self.restored = saved;
        if saved >= self.log.next_offset() {
            return Ok(());
        }
        let mut reader = LogReader::open(self.log.dir())?;
        reader.seek(saved)?;
        while let Some((time, text)) = reader
            .read_with(|_, time, payload| (time, String::from_utf8_lossy(payload).into_owned()))?
        {
            *self.appended.entry((time, text)).or_default() += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Fsync;

    fn epoch(end: Time, words: &[&str]) -> Vec<(Time, String)> {
        let mut records: Vec<(Time, String)> =
            words.iter().map(|w| (end - 1, w.to_string())).collect();
        records.sort();
        records
    }

    fn contents(dir: &std::path::Path) -> Vec<String> {
        let mut reader = LogReader::open(dir).unwrap();
        std::iter::from_fn(|| reader.read().unwrap())
            .map(|r| r.text().unwrap().to_string())
            .collect()
    }

    /// A run appends epochs 100 and 200 and part of 300, but its last checkpoint is at 100:
    /// the restored run recomputes 200 and 300 whole, and only the missing records are added.
    #[test]
    fn what_the_log_holds_past_the_checkpoint_is_not_appended_again() {
        let dir = tempfile::tempdir().unwrap();
        let open = || EventLog::open_with(dir.path(), LogConfig::default().fsync(Fsync::Never));
        let mut first = LogAppender {
            log: open().unwrap(),
            appended: HashMap::default(),
            restored: 0,
        };
        first.write(100, epoch(100, &["a", "b"])).unwrap();
        let saved = first.state();
        first.write(200, epoch(200, &["c", "a"])).unwrap();
        // Part of epoch 300 (a crash mid-write), not in sorted order's prefix.
        first.log.append_all([(299, "z")]).unwrap();
        drop(first);

        let mut second = LogAppender {
            log: open().unwrap(),
            appended: HashMap::default(),
            restored: 0,
        };
        second.restore(saved).unwrap();
        assert_eq!(
            second.state(),
            saved,
            "a restore must read the tail again until it is passed"
        );
        second.write(200, epoch(200, &["c", "a"])).unwrap();
        second.write(300, epoch(300, &["y", "z", "z"])).unwrap();
        assert_eq!(second.state(), second.log.next_offset());
        assert_eq!(contents(dir.path()), ["a", "b", "a", "c", "z", "y", "z"]);
    }
}
