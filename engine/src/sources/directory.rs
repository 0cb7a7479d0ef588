//! A directory monitor as a source, with Spark's `textFileStream` semantics.
//!
//! Worker 0 lists the directory every poll interval. Each file that appears is read once, whole,
//! in modification-time order (then by name); files already present when the source is described
//! ([`Directory::open`]) are ignored unless [`Directory::include_existing`] says otherwise, as Spark's `newFilesOnly`.
//! Hidden files (names starting with `.` or `_`, as Hadoop's filter) are skipped, so a writer
//! can create `.name.tmp` and rename it into place: files must be *moved* in atomically, since a
//! file is read as soon as it is seen.
//!
//! With checkpoints the source replays by modification time, as Spark's file stream recovers:
//! its offset is the cut below which every file has been read (just past the newest file read,
//! or the job's first start while nothing is), and a job resuming from a checkpoint reads every
//! file modified at or after the cut — those read after the checkpoint, and those moved in
//! while the job was down — even though they were there when it started. A file moved in with
//! a modification time older than one already read is read live, but not replayed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::driver::{drive, Poll, Read};
use super::lines::decode_line;
use super::source::{Source, Spread};
use crate::checkpoint::rescale::Share;
use crate::error::{Error, Result};
use crate::job::JobContext;
use crate::stream::{Scope, Stream};

/// How often the directory is listed by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(100);

/// A directory to monitor, checked to exist when described.
#[derive(Clone, Debug)]
pub struct Directory {
    path: PathBuf,
    poll: Duration,
    include_existing: bool,
    /// The files present when the directory was described: "existing" for `newFilesOnly`.
    existing: Arc<HashSet<PathBuf>>,
    /// When it was described.
    opened: SystemTime,
}

impl Directory {
    /// Describes the directory at `path`; fails, naming it, if it is not a readable directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Directory> {
        let path = path.as_ref().to_path_buf();
        let opened = SystemTime::now();
        let existing = new_files(&path, &HashSet::new()).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        Ok(Directory {
            path,
            poll: DEFAULT_POLL,
            include_existing: false,
            existing: Arc::new(existing.into_iter().map(|(_, path)| path).collect()),
            opened,
        })
    }
    /// How often to list the directory.
    pub fn poll_every(mut self, interval: Duration) -> Self {
        self.poll = interval;
        self
    }
    /// Its visible files not in `seen`, oldest first, with their modification times; an error
    /// names the directory.
    fn files_not_in(&self, seen: &HashSet<PathBuf>) -> Result<Vec<(SystemTime, PathBuf)>> {
        new_files(&self.path, seen).map_err(|source| Error::Read {
            path: self.path.clone(),
            source,
        })
    }

    /// Also reads the files present when the job starts (Spark: `newFilesOnly = false`).
    pub fn include_existing(mut self, include: bool) -> Self {
        self.include_existing = include;
        self
    }
}

/// The visible regular files of `dir` not yet in `seen`, oldest first, with their modification
/// times.
fn new_files(dir: &Path, seen: &HashSet<PathBuf>) -> std::io::Result<Vec<(SystemTime, PathBuf)>> {
    let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with(['.', '_']);
        let path = entry.path();
        if hidden || seen.contains(&path) {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(meta) if meta.is_file() => meta,
            _ => continue, // vanished or not a file
        };
        found.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), path));
    }
    found.sort();
    Ok(found)
}

/// A modification time as a replay offset: ns since the Unix epoch.
fn nanos(time: SystemTime) -> u64 {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

/// Listed and read by worker 0.
impl Source for Directory {
    type Item = String;

    fn spread(&self) -> Spread {
        Spread::Worker0
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        build(scope, self)
    }
}

fn build<'scope>(scope: Scope<'scope>, directory: &Directory) -> Stream<'scope, String> {
    let directory = directory.clone();
    let job = JobContext::of(scope);
    let reader = scope.index() == 0;
    drive(scope, "TextDirectory", move |_| {
        reader.then(|| {
            let mut seen = HashSet::new();
            if !directory.include_existing {
                seen.extend(directory.existing.iter().cloned());
            }
            let read_below = if directory.include_existing {
                0
            } else {
                nanos(directory.opened)
            };
            DirectoryReader {
                directory,
                job,
                seen,
                read_below,
            }
        })
    })
}

/// Worker 0's reader of the directory.
struct DirectoryReader {
    directory: Directory,
    job: JobContext,
    /// The files read (or ignored as existing), never read again.
    seen: HashSet<PathBuf>,
    /// The replay offset: every file modified before it has been read or ignored.
    read_below: u64,
}

impl Read<String> for DirectoryReader {
    type Offset = u64;

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll> {
        for (modified, path) in self.directory.files_not_in(&self.seen)? {
            match std::fs::read(&path) {
                Ok(bytes) => split_lines(&bytes, out, |at| {
                    self.job
                        .malformed(|| format!("{}: byte {at}: line is not UTF-8", path.display()))
                }),
                // Removed between listing and reading: it was never fully ours to read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Read { path, source }),
            }
            self.seen.insert(path);
            self.read_below = self.read_below.max(nanos(modified).saturating_add(1));
        }
        Ok(Poll::Wait(self.directory.poll))
    }

    fn offset(&self) -> Option<u64> {
        Some(self.read_below)
    }

    /// Worker 0 reads the directory, whatever the number of workers: it goes on from where
    /// the old worker 0 was.
    fn rescale(
        offsets: Vec<Option<u64>>,
        share: Share,
    ) -> std::result::Result<Option<u64>, String> {
        Ok(offsets
            .into_iter()
            .next()
            .flatten()
            .filter(|_| share.worker == 0))
    }

    /// Everything modified before `offset` was read before the checkpoint; the rest is read
    /// (again), whether or not it was there when this job started.
    fn seek(&mut self, offset: u64) -> Result<()> {
        self.seen = (self.directory.files_not_in(&HashSet::new())?)
            .into_iter()
            .filter(|(modified, _)| nanos(*modified) < offset)
            .map(|(_, path)| path)
            .collect();
        self.read_below = offset;
        Ok(())
    }
}

/// Splits a whole file into lines, as the file source reads them.
fn split_lines(bytes: &[u8], out: &mut Vec<String>, mut malformed: impl FnMut(usize)) {
    let mut at = 0;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        match decode_line(line) {
            Some(text) => out.push(text.to_owned()),
            None => malformed(at),
        }
        at += line.len();
    }
}
