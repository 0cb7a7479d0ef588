//! A text file as a source: its lines, read once, split across workers by byte range.
//!
//! Worker `w` of `n` owns the lines that *start* in bytes `[w·len/n, (w+1)·len/n)` — the rule
//! Hadoop's input splits use — so every line is read by exactly one worker with no coordination.
//! Lines end at `\n` (a trailing `\r` is dropped); a line that is not UTF-8 is skipped and
//! counted as malformed, naming the file and byte offset. Each worker's reading position is
//! visible through [`TextFile::positions`] and can be resumed with [`TextFile::resume_at`]: the
//! offsets are what a checkpoint stores to replay a file.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::driver::{drive, Poll, Read};
use super::lines::decode_line;
use super::source::{Source, Spread};
use super::timed::{drive_timed, Next, TimedRead};
use crate::checkpoint::rescale::{same_position, Share};
use crate::error::{Error, Result};
use crate::hash::route;
use crate::job::JobContext;
use crate::stream::{Scope, Stream};
use crate::time::Time;

/// Lines read per activation.
const BATCH_LINES: usize = 8192;

/// A text file to read, checked to exist when described.
#[derive(Clone, Debug)]
pub struct TextFile {
    path: PathBuf,
    len: u64,
    resume: BTreeMap<usize, u64>,
    positions: Arc<Mutex<BTreeMap<usize, u64>>>,
    time_of: Option<TimeOf>,
}

/// Reads a line's own time (ms) from it.
type TimeFn = dyn Fn(&str) -> Option<Time> + Send + Sync;

/// How a line's own time is read from it.
#[derive(Clone)]
struct TimeOf(Arc<TimeFn>);

impl std::fmt::Debug for TimeOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimeOf")
    }
}

impl TextFile {
    /// Describes the file at `path`; fails, naming it, if it cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<TextFile> {
        let path = path.as_ref().to_path_buf();
        let read_error = |source| Error::Read {
            path: path.clone(),
            source,
        };
        let meta = std::fs::metadata(&path).map_err(read_error)?;
        if meta.is_dir() {
            return Err(Error::Read {
                path: path.clone(),
                source: std::io::Error::other("is a directory, not a file"),
            });
        }
        // A device or FIFO has no length to split among workers (`/dev/zero` would read as
        // empty, a FIFO as nothing): only a regular file is a file input.
        if !meta.is_file() {
            return Err(Error::Read {
                path: path.clone(),
                source: std::io::Error::other("is not a regular file"),
            });
        }
        File::open(&path).map_err(read_error)?;
        Ok(TextFile {
            path,
            len: meta.len(),
            resume: BTreeMap::new(),
            positions: Default::default(),
            time_of: None,
        })
    }

    /// Stamps each line with its own time (ms), read from it by `time_of`, instead of the time
    /// it was read: the stream's time is the data's, so windows over it, and checkpoints
    /// taken every so much of it, come out the same on every run (a replay of recorded data).
    /// Each worker's lines must be in ascending time; a line earlier than one before it is
    /// stamped with that later time (Flink's ascending timestamps). A line whose time does not
    /// parse is skipped and counted as malformed.
    ///
    /// ```
    /// # use sluice_engine::sources::TextFile;
    /// # fn f(file: TextFile) -> TextFile {
    /// // lines like "1717171717000 GET /index.html": the first field is the time in ms
    /// file.timed_by(|line| line.split_ascii_whitespace().next()?.parse().ok())
    /// # }
    /// ```
    pub fn timed_by(
        mut self,
        time_of: impl Fn(&str) -> Option<Time> + Send + Sync + 'static,
    ) -> Self {
        self.time_of = Some(TimeOf(Arc::new(time_of)));
        self
    }

    /// Resumes worker `w`'s split at byte `offset` (a position it reported earlier).
    pub fn resume_at(mut self, worker: usize, offset: u64) -> Self {
        self.resume.insert(worker, offset);
        self
    }

    /// Each worker's byte offset: the start of the first line it has not yet emitted.
    pub fn positions(&self) -> BTreeMap<usize, u64> {
        self.positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One worker's share of the file.
struct Split {
    reader: BufReader<File>,
    position: u64,
    end: u64,
    line: Vec<u8>,
}

impl Split {
    /// Opens the split `[start, end)`, positioned at the first line that starts in it.
    fn open(path: &Path, start: u64, end: u64) -> std::io::Result<Split> {
        let mut file = File::open(path)?;
        let mut position = start;
        if start > 0 {
            // The line containing byte start-1 belongs to the previous split: skip past it.
            file.seek(SeekFrom::Start(start - 1))?;
            let mut reader = BufReader::new(file);
            let mut skipped = Vec::new();
            position = start - 1 + reader.read_until(b'\n', &mut skipped)? as u64;
            file = reader.into_inner();
            file.seek(SeekFrom::Start(position))?;
        }
        Ok(Split {
            reader: BufReader::with_capacity(1 << 16, file),
            position,
            end,
            line: Vec::new(),
        })
    }

    /// Reads up to `max` lines into `out`; false once the split is exhausted.
    fn read(
        &mut self,
        max: usize,
        out: &mut Vec<String>,
        mut malformed: impl FnMut(u64),
    ) -> std::io::Result<bool> {
        for _ in 0..max {
            if self.position >= self.end {
                return Ok(false);
            }
            self.line.clear();
            let n = self.reader.read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(false);
            }
            let at = self.position;
            self.position += n as u64;
            match decode_line(&self.line) {
                Some(text) => out.push(text.to_owned()),
                None => malformed(at),
            }
        }
        Ok(self.position < self.end)
    }
}

/// One worker's reading of its share of the file: byte ranges, each read as a [`Split`] —
/// one at first; after a rescale, its share of what the old readers had left.
struct FileRead {
    file: TextFile,
    index: usize,
    /// The ranges after the open split, in file order.
    left: VecDeque<(u64, u64)>,
    split: Option<Split>,
    job: JobContext,
}

impl FileRead {
    fn new(file: TextFile, index: usize, ranges: Vec<(u64, u64)>, job: JobContext) -> FileRead {
        FileRead {
            file,
            index,
            left: ranges.into(),
            split: None,
            job,
        }
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Read {
            path: self.file.path.clone(),
            source,
        }
    }

    /// Reads up to `max` lines into `out`; false once every range is exhausted.
    fn read_lines(&mut self, max: usize, out: &mut Vec<String>) -> Result<bool> {
        if self.split.is_none() {
            let Some((start, end)) = self.left.pop_front() else {
                return Ok(false);
            };
            let split = Split::open(&self.file.path, start, end).map_err(|e| self.io_error(e))?;
            self.split = Some(split);
        }
        let (path, job) = (&self.file.path, &self.job);
        let split = self.split.as_mut().expect("opened above");
        let more = split
            .read(max, out, |at| {
                job.malformed(|| format!("{}: byte {at}: line is not UTF-8", path.display()))
            })
            .map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
        if !more {
            self.split = None;
        }
        let position = self.position();
        self.file
            .positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.index, position);
        Ok(more || !self.left.is_empty())
    }

    /// The byte ranges whose lines are still to be emitted, in file order.
    fn ranges_left(&self) -> Vec<(u64, u64)> {
        let open = self.split.iter().map(|s| (s.position, s.end));
        open.chain(self.left.iter().copied())
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// The start of the first line not yet emitted (the file's length once all is).
    fn position(&self) -> u64 {
        self.ranges_left().first().map_or(self.file.len, |r| r.0)
    }
}

impl Read<String> for FileRead {
    /// The byte ranges left to read (see [`FileRead::ranges_left`]).
    type Offset = Vec<(u64, u64)>;

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll> {
        Ok(match self.read_lines(BATCH_LINES, out)? {
            true => Poll::Ready,
            false => Poll::Done,
        })
    }

    fn offset(&self) -> Option<Vec<(u64, u64)>> {
        Some(self.ranges_left())
    }

    fn seek(&mut self, ranges: Vec<(u64, u64)>) -> Result<()> {
        self.left = ranges.into();
        self.split = None;
        Ok(())
    }

    /// What every old reader had left, divided again by byte range (see [`share_of`]).
    fn rescale(
        offsets: Vec<Option<Vec<(u64, u64)>>>,
        share: Share,
    ) -> std::result::Result<Option<Vec<(u64, u64)>>, String> {
        let left = offsets.into_iter().flatten().flatten().collect();
        Ok(Some(share_of(left, share)))
    }
}

/// `share`'s part of the bytes in `ranges`, by the rule of the first splits applied to the
/// bytes left: the ranges are laid end to end and cut into equal spans. A cut may fall inside
/// a line: as at a split's start, the line is read by the share before the cut, so each line
/// left is read once, by the share where it starts.
fn share_of(mut ranges: Vec<(u64, u64)>, share: Share) -> Vec<(u64, u64)> {
    ranges.retain(|(start, end)| start < end);
    ranges.sort_unstable();
    let total: u64 = ranges.iter().map(|(start, end)| end - start).sum();
    let (w, n) = (share.worker as u64, share.workers as u64);
    let (from, to) = (w * total / n, (w + 1) * total / n);
    let mut mine = Vec::new();
    let mut before = 0; // bytes of the ranges before this one
    for (start, end) in ranges {
        let (low, high) = (from.max(before), to.min(before + end - start));
        if low < high {
            mine.push((start + low - before, start + high - before));
        }
        before += end - start;
    }
    mine
}

/// Split over all workers by byte range (a timed file: by the hash of each line's offset).
impl Source for TextFile {
    type Item = String;

    fn spread(&self) -> Spread {
        Spread::AllWorkers
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        build(scope, self)
    }
}

fn build<'scope>(scope: Scope<'scope>, file: &TextFile) -> Stream<'scope, String> {
    if let Some(time_of) = &file.time_of {
        return build_timed(scope, file, time_of.clone());
    }
    let (index, peers) = (scope.index() as u64, scope.peers() as u64);
    let job = JobContext::of(scope);
    let file = file.clone();
    drive(scope, "TextFile", move |_| {
        let (start, end) = (index * file.len / peers, (index + 1) * file.len / peers);
        let start = file
            .resume
            .get(&(index as usize))
            .map_or(start, |&at| at.max(start));
        Some(FileRead::new(file, index as usize, vec![(start, end)], job))
    })
}

/// The file at the lines' own times ([`drive_timed`]): one line at a time, so that the source
/// knows the exact offset at which its time passes each checkpoint epoch.
///
/// A time-ordered file is not split by byte range: the worker with the second half would run
/// far ahead in time of the first, and everything it read would wait on the watermark. Every
/// worker scans the whole file instead and keeps the lines whose start offset hashes to it, so
/// all workers move through time together (the scan costs a read of the file per worker).
fn build_timed<'scope>(
    scope: Scope<'scope>,
    file: &TextFile,
    time_of: TimeOf,
) -> Stream<'scope, String> {
    let (index, peers) = (scope.index() as u64, scope.peers() as u64);
    let job = JobContext::of(scope);
    let file = file.clone();
    drive_timed(scope, "TimedTextFile", move |restored, _| {
        let start = restored.or_else(|| file.resume.get(&(index as usize)).copied());
        let len = file.len;
        Ok(TimedLines {
            reader: FileRead::new(file, index as usize, vec![(start.unwrap_or(0), len)], job),
            time_of,
            line: Vec::new(),
            index,
            peers,
        })
    })
}

/// One worker's lines of a timed file.
struct TimedLines {
    reader: FileRead,
    time_of: TimeOf,
    line: Vec<String>,
    index: u64,
    peers: u64,
}

impl TimedRead<String> for TimedLines {
    fn next(&mut self) -> Result<Next<String>> {
        let offset = self.offset();
        let more = self.reader.read_lines(1, &mut self.line)?;
        let skipped = |time| Next::Record {
            time,
            offset,
            item: None,
        };
        let Some(text) = self.line.pop() else {
            // A line that is not UTF-8 (counted as malformed), or the end.
            return Ok(if more { skipped(0) } else { Next::Done });
        };
        let time = (self.time_of.0)(&text);
        if route(&offset) % self.peers != self.index {
            // Another worker's line: its time moves this reader's too, so that every reader
            // passes each epoch at the same offset.
            return Ok(skipped(time.unwrap_or(0)));
        }
        let Some(time) = time else {
            let path = self.reader.file.path.display();
            self.reader
                .job
                .malformed(|| format!("{path}: no time in line {text:?}"));
            return Ok(skipped(0));
        };
        Ok(Next::Record {
            time,
            offset,
            item: Some(text),
        })
    }

    fn offset(&self) -> u64 {
        self.reader.position()
    }

    /// Every reader scans the whole file, keeping the lines whose offset hashes to it.
    fn rescale(offsets: Vec<Option<u64>>, share: Share) -> Result<Option<u64>, String> {
        same_position(offsets, share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Reads a file in `n` splits and returns the concatenation of their lines.
    fn read_in_splits(text: &[u8], n: u64) -> Vec<String> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text).unwrap();
        let len = text.len() as u64;
        let mut lines = Vec::new();
        for w in 0..n {
            let mut split = Split::open(f.path(), w * len / n, (w + 1) * len / n).unwrap();
            while split.read(3, &mut lines, |_| panic!("malformed")).unwrap() {}
        }
        lines
    }

    #[test]
    fn splits_read_every_line_exactly_once() {
        let text = b"alpha\nbe\n\ngamma delta\r\nx\nlast-without-newline";
        let expected: Vec<String> = [
            "alpha",
            "be",
            "",
            "gamma delta",
            "x",
            "last-without-newline",
        ]
        .map(String::from)
        .to_vec();
        for n in 1..=text.len() as u64 + 2 {
            assert_eq!(read_in_splits(text, n), expected, "{n} splits");
        }
    }

    #[test]
    fn non_utf8_lines_are_reported_with_their_offset() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"ok\n\xff\xfe\nfine\n").unwrap();
        let mut split = Split::open(f.path(), 0, 11).unwrap();
        let (mut lines, mut bad) = (Vec::new(), Vec::new());
        split.read(10, &mut lines, |at| bad.push(at)).unwrap();
        assert_eq!(lines, vec!["ok", "fine"]);
        assert_eq!(bad, vec![3]);
    }

    proptest::proptest! {
        /// Old readers stopped anywhere in their splits; what they left, divided among any
        /// number of new readers, is read exactly once.
        #[test]
        fn what_readers_left_is_read_once_by_any_number_of_new_readers(
            lines in proptest::collection::vec("[a-c]{0,5}", 0..30),
            trailing_newline: bool,
            old in 1u64..4,
            progress in proptest::collection::vec(0usize..12, 3),
            new in 1usize..5,
        ) {
            let mut text = lines.join("\n");
            if trailing_newline {
                text.push('\n');
            }
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(text.as_bytes()).unwrap();
            let len = text.len() as u64;
            let none = |at| panic!("malformed at {at}");
            let (mut read, mut left) = (Vec::new(), Vec::new());
            for w in 0..old {
                let mut split = Split::open(f.path(), w * len / old, (w + 1) * len / old).unwrap();
                split.read(progress[w as usize], &mut read, none).unwrap();
                left.push((split.position, split.end));
            }
            for j in 0..new {
                for (start, end) in share_of(left.clone(), Share::new(j, new)) {
                    let mut split = Split::open(f.path(), start, end).unwrap();
                    while split.read(100, &mut read, none).unwrap() {}
                }
            }
            let mut all = read_in_splits(text.as_bytes(), 1);
            all.sort();
            read.sort();
            proptest::prop_assert_eq!(read, all);
        }
    }

    #[test]
    fn missing_file_is_named() {
        let err = TextFile::open("/no/such/file.txt").unwrap_err();
        assert!(err.to_string().contains("/no/such/file.txt"), "{err}");
    }
}
