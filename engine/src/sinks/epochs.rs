//! Exactly-once text output: one file per epoch and worker, written whole.
//!
//! Records are kept until the frontier passes the end of their epoch (a multiple of the
//! checkpoint interval, or of the interval given when the job does not checkpoint); then the
//! epoch's records, as sorted lines, go to `dir/epoch-<end>-w<worker>.txt` through a temporary
//! file and a rename. A file is thus complete or absent, never partial; and it is written
//! before the sink's part of the epoch's checkpoint, so a committed checkpoint implies its
//! files. After a failure the job resumes from a checkpoint and recomputes the epochs after it:
//! each worker first removes its files of those epochs, then writes them again — with the same
//! bytes when the sources replay at the same times (the sort makes the content independent of
//! arrival order), or into the epochs of their new times when a source stamps with processing
//! time. Once the job has run to its end, reading the directory's `epoch-*.txt` files in name
//! order gives the output once; while it runs, a reader may see a failed run's files past the
//! last checkpoint before the restart removes them (the output of a checkpointed epoch is
//! final). A file being written is hidden (`.epoch-….tmp-PID`), and one a crash left behind
//! is never renamed into place.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::channels::pact::{ParallelizationContract, Pipeline};

use crate::checkpoint::rescale::Share;
use crate::checkpointed::{At, Checkpointed, CheckpointedOperator, Frontiers, Saving};
use crate::durable;
use crate::error::Error;
use crate::job::JobContext;
use crate::stream::{OutputSession, Stream};
use crate::time::Time;

/// A sink that writes whole epochs: `(time, line)` pairs sorted by both, once every time
/// before the epoch's end has passed.
pub(super) trait EpochWriter: 'static {
    /// What the writer must remember across a restore (saved with each epoch).
    type State: Serialize + DeserializeOwned;
    /// Whether the records of one time keep the order they were emitted in (a broker's
    /// readers see a key's updates in order) rather than being sorted by their text too
    /// (the same bytes on every replay, whatever the arrival order).
    const KEEPS_ORDER: bool = false;
    /// Writes the epoch ending at `end`.
    fn write(&mut self, end: Time, records: Vec<(Time, String)>) -> Result<(), Error>;
    /// Its state after the epochs written so far.
    fn state(&self) -> Self::State;
    /// Continues from a state saved in an earlier run.
    fn restore(&mut self, state: Self::State) -> Result<(), Error>;
    /// The state of `share` after a rescale, from every old worker's (see
    /// [`rescale`](crate::checkpoint::rescale)); by default a sink's state cannot be divided.
    fn rescale(states: Vec<Self::State>, share: Share) -> Result<Self::State, String> {
        let _ = (states, share);
        Err("a sink's progress per worker".into())
    }
}

/// Collects `stream` (moved by `pact`) per epoch of `every` ms — the checkpoint interval when
/// the job checkpoints — and hands each complete epoch to this worker's writer from `make`
/// (`None`: this worker receives nothing). An epoch is written before the sink's part of the
/// checkpoint of its end, so a committed checkpoint implies its epochs' output.
pub(super) fn write_per_epoch<D, P, W>(
    stream: Stream<'_, D>,
    name: &str,
    pact: P,
    every: Time,
    make: impl FnOnce(usize) -> Result<Option<W>, Error>,
) where
    D: Display + 'static,
    P: ParallelizationContract<Time, Vec<D>>,
    W: EpochWriter,
{
    let scope = stream.scope();
    let job = JobContext::of(scope);
    let every = job.checkpoints().map_or(every, |c| c.every()).max(1);
    let mut writer = make(scope.index()).unwrap_or_else(|error| {
        job.fail(error);
        None
    });
    stream.checkpointed_unary::<(), _, _>(pact, name, move |_, gate| {
        // Records at or after the next checkpoint epoch wait for its save: the writer's state
        // at an epoch covers exactly the epochs before it. Without a checkpoint, the state of
        // the job's first start in the directory: the writer may have written past it before a
        // crash that came before any checkpoint.
        let restored = gate.restore_divided(|states: Vec<Option<W::State>>, share| {
            let states: Vec<W::State> = states.into_iter().flatten().collect();
            match states.is_empty() {
                true => Ok(None),
                false => W::rescale(states, share).map(Some),
            }
        });
        let restored = restored.flatten().or_else(|| {
            let now = writer.as_ref()?.state();
            gate.initial(now)
        });
        if let (Some(writer), Some(state)) = (writer.as_mut(), restored) {
            if let Err(error) = writer.restore(state) {
                job.fail(error);
            }
        }
        Epochs {
            writer,
            pending: BTreeMap::new(),
            every,
            job,
            records: PhantomData,
        }
    });
}

/// A [`write_per_epoch`] sink on one worker: its writer and the records by the end of their
/// epoch.
struct Epochs<W, D> {
    writer: Option<W>,
    pending: BTreeMap<Time, Vec<(Time, String)>>,
    every: Time,
    job: JobContext,
    records: PhantomData<fn(D)>,
}

impl<W: EpochWriter, D> Epochs<W, D> {
    /// Writes the epochs whose records are all in: every time before their end has passed.
    fn write_complete(&mut self, frontiers: &Frontiers<'_>) {
        let frontier = frontiers.all();
        while let Some(entry) = self.pending.first_entry() {
            if frontier.less_than(entry.key()) {
                break;
            }
            let (end, mut records) = entry.remove_entry();
            if W::KEEPS_ORDER {
                records.sort_by_key(|(time, _)| *time);
            } else {
                records.sort_unstable();
            }
            if let Some(writer) = self.writer.as_mut() {
                if let Err(error) = writer.write(end, records) {
                    self.job.fail(error);
                }
            }
        }
    }
}

impl<'a, W: EpochWriter, D: Display> Checkpointed<OutputSession<'a, ()>> for Epochs<W, D> {
    type Record = D;

    fn apply(
        &mut self,
        at: &At<'_>,
        records: impl Iterator<Item = D>,
        _: &mut OutputSession<'a, ()>,
    ) {
        let t = at.time();
        let every = self.every;
        let epoch = self.pending.entry((t / every + 1) * every).or_default();
        epoch.extend(records.map(|record| (t, record.to_string())));
    }

    /// An epoch is written before the sink's part of the checkpoint of its end.
    fn close_before(&mut self, saving: &Saving<'_>, _: &mut OutputSession<'a, ()>) {
        self.write_complete(saving.frontiers);
    }

    fn image(&self) -> impl Serialize + '_ {
        self.writer.as_ref().map(|writer| writer.state())
    }

    fn on_frontier(&mut self, frontiers: &Frontiers<'_>, _: &mut OutputSession<'a, ()>) {
        self.write_complete(frontiers);
    }

    /// What an aborted job drains is no cut of its input (windows fire on a stopped stream):
    /// nothing more is written, and a restart recomputes the epochs after its checkpoint —
    /// whose files were written before it.
    fn gives_up(&mut self) -> bool {
        if self.job.is_aborted() {
            self.pending.clear();
        }
        self.job.is_aborted()
    }
}

pub(super) fn write_epochs<D: Display + 'static>(stream: Stream<'_, D>, dir: &Path, every: Time) {
    let dir = dir.to_path_buf();
    // Without checkpoints nothing is restored, and the files of another run are left alone.
    let restores = JobContext::of(stream.scope()).checkpoints().is_some();
    let workers = stream.scope().peers();
    write_per_epoch(stream, "WriteEpochs", Pipeline, every, move |worker| {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        Ok(Some(EpochFiles {
            dir,
            worker,
            workers,
            written: 0,
            restores,
        }))
    })
}

/// One worker's epoch files. Their checkpoint state is the end of the last epoch written: what
/// is before an epoch is written when the epoch is saved, and what is after it is recomputed.
/// A restore removes this worker's files of later epochs, which the failed run wrote after the
/// checkpoint: a source stamped with processing time (a socket, the generator, a directory)
/// replays those records at new times, into other epochs, and the old files would repeat them.
/// After a rescale, each old worker's files are removed by its heir ([`Share::inherits`]).
struct EpochFiles {
    dir: PathBuf,
    worker: usize,
    workers: usize,
    written: Time,
    /// Whether the job checkpoints, so that a restore means a failed run's files to replace.
    restores: bool,
}

impl EpochWriter for EpochFiles {
    type State = Time;

    fn write(&mut self, end: Time, records: Vec<(Time, String)>) -> Result<(), Error> {
        let lines = records.into_iter().map(|(_, line)| line).collect();
        write_epoch(&path_of(&self.dir, end, self.worker), lines)?;
        self.written = self.written.max(end);
        Ok(())
    }

    fn state(&self) -> Time {
        self.written
    }

    /// Every old worker wrote all its epochs before the checkpoint, none after it: the latest
    /// end any wrote is where all their files of failed epochs begin.
    fn rescale(written: Vec<Time>, _: Share) -> Result<Time, String> {
        Ok(written.into_iter().max().unwrap_or(0))
    }

    fn restore(&mut self, written: Time) -> Result<(), Error> {
        self.written = written;
        if !self.restores {
            return Ok(());
        }
        let listing = |source| Error::Write {
            path: self.dir.clone(),
            source,
        };
        for entry in std::fs::read_dir(&self.dir).map_err(listing)? {
            let path = entry.map_err(listing)?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let Some((end, worker)) = epoch_of(&name) else {
                continue;
            };
            let heir = Share::new(self.worker, self.workers);
            if heir.inherits(worker) && end > written {
                std::fs::remove_file(&path).map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }
}

/// The file of `epoch` on `worker`.
fn path_of(dir: &Path, epoch: Time, worker: usize) -> PathBuf {
    dir.join(format!("epoch-{epoch:020}-w{worker:05}.txt"))
}

/// The lines a [`write_epochs`](super::Sinks::write_epochs) sink has written into `dir`, epoch
/// by epoch (each epoch's workers in order): the job's output, once. Files still being written
/// (hidden) are not read.
///
/// ```no_run
/// let output = sluice_engine::sinks::read_epochs(std::path::Path::new("out")).unwrap();
/// ```
pub fn read_epochs(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files: Vec<((Time, usize), PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if let Some(epoch) = epoch_of(&name) {
            files.push((epoch, path));
        }
    }
    files.sort();
    let mut lines = Vec::new();
    for (_, path) in files {
        lines.extend(std::fs::read_to_string(&path)?.lines().map(String::from));
    }
    Ok(lines)
}

/// The epoch and worker of an epoch file's name, as [`path_of`] makes it.
fn epoch_of(name: &str) -> Option<(Time, usize)> {
    let (epoch, worker) = name
        .strip_prefix("epoch-")?
        .strip_suffix(".txt")?
        .split_once("-w")?;
    Some((epoch.parse().ok()?, worker.parse().ok()?))
}

/// Writes an epoch's lines, sorted, atomically.
fn write_epoch(path: &Path, mut lines: Vec<String>) -> Result<(), Error> {
    lines.sort_unstable();
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    durable::write_atomically(path, &bytes).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A failed run wrote epochs 100–300 on worker 0 and 300 on worker 1, but its checkpoint is
    /// at 100: worker 0's restore removes its files of 200 and 300 and nothing else.
    #[test]
    fn a_restore_removes_this_workers_files_past_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let writer = |worker, workers, restores| EpochFiles {
            dir: dir.path().to_path_buf(),
            worker,
            workers,
            written: 0,
            restores,
        };
        let (mut first, mut other) = (writer(0, 2, true), writer(1, 2, true));
        for end in [100, 200, 300] {
            first
                .write(end, vec![(end - 1, format!("at {end}"))])
                .unwrap();
        }
        other.write(300, vec![(299, "other".into())]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not an epoch").unwrap();
        assert_eq!(first.state(), 300);

        // Without checkpoints a restore (of the first start's state) removes nothing.
        writer(0, 2, false).restore(0).unwrap();
        assert_eq!(files(dir.path()).len(), 5);

        let mut second = writer(0, 2, true);
        second.restore(100).unwrap();
        assert_eq!(
            files(dir.path()),
            vec![
                path_of(dir.path(), 100, 0)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                path_of(dir.path(), 300, 1)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                "notes.txt".to_string(),
            ]
        );
        assert_eq!(second.state(), 100);
        // Rescaled to 1 worker, worker 0 is worker 1's heir: its file of 300 goes too.
        writer(0, 1, true).restore(100).unwrap();
        assert_eq!(files(dir.path()).len(), 2);
        assert_eq!(
            epoch_of("epoch-00000000000000000300-w00001.txt"),
            Some((300, 1))
        );
    }
}
