//! Salvaging a damaged log (`sluice log repair DIR`).
//!
//! Opening a log for appending cuts off only a *torn tail*: a last record that a crash cut
//! short, with nothing intact after it. Any other damage — a flipped byte, a length that runs
//! over the records after it, a truncated sealed segment — stops the writer and every reader
//! with an error naming the segment, offset and byte, and nothing is changed: the damaged
//! bytes may be all that is left of acknowledged records, so deciding to give them up is the
//! operator's, through this explicit repair.
//!
//! Repair reads every segment record by record. Where a record is damaged it looks for the
//! next intact one (a header whose checksum holds and whose offset can follow:
//! [`segment::resync`]), copies the bytes in between to a **quarantine** file
//! (`quarantine/<segment>@<byte>.bin`), and goes on. Intact records keep their offsets: a
//! segment with damage is rewritten as one segment per run of consecutive offsets, so offsets
//! stay contiguous within every segment, and the offsets that were lost between runs are
//! recorded in the log's `lost-offsets` file, which readers consult to pass over the gap (any
//! other gap is still an error). Offsets are never reused: after damage at the end of the
//! newest segment, the next append continues past every offset the damaged bytes may have held.
//!
//! Crash safety: quarantine files first, then the rewritten runs, each written to a temporary
//! file, synced and renamed — the last run first, so that the original segment is replaced (or
//! removed) only once every record it held is safely elsewhere. A crash part way leaves
//! records twice, never zero times, and running repair again finishes the job.
//!
//! ```
//! use sluice_engine::log::{repair, EventLog, LogReader};
//! let dir = tempfile::tempdir().unwrap();
//! let mut log = EventLog::open(dir.path()).unwrap();
//! log.append_all((0..10).map(|t| (t, format!("event {t}")))).unwrap();
//! drop(log);
//! // Damage the length field of record 4 (records here are 24 + 7 bytes).
//! let segment = dir.path().join("00000000000000000000.log");
//! let mut bytes = std::fs::read(&segment).unwrap();
//! bytes[4 * 31] = 0xff;
//! std::fs::write(&segment, bytes).unwrap();
//! assert!(EventLog::open(dir.path()).is_err()); // refused, nothing changed
//!
//! let report = repair::repair(dir.path()).unwrap();
//! assert_eq!(report.lost, vec![4..5]);
//! let mut reader = LogReader::open(dir.path()).unwrap();
//! let mut offsets = Vec::new();
//! while let Some(record) = reader.read().unwrap() {
//!     offsets.push(record.offset);
//! }
//! assert_eq!(offsets, [0, 1, 2, 3, 5, 6, 7, 8, 9]);
//! assert_eq!(EventLog::open(dir.path()).unwrap().next_offset(), 10);
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::record::{self, Decoded, HEADER};
use super::segment;
use super::writer;
use crate::durable;
use crate::error::Error;

/// The file recording the offsets repairs gave up, one `FROM TO` range (`TO` exclusive) a line.
const LOST: &str = "lost-offsets";

/// The folder damaged bytes are moved to.
const QUARANTINE: &str = "quarantine";

/// What a repair did.
#[derive(Debug, Default, Serialize)]
pub struct RepairReport {
    /// The damaged byte ranges moved to quarantine files.
    pub quarantined: Vec<Quarantined>,
    /// The offsets this repair gave up (their records were damaged), as ranges.
    pub lost: Vec<Range<u64>>,
    /// The intact records the rewritten segments hold.
    pub salvaged: u64,
    /// The segment files written.
    pub rewritten: Vec<String>,
}

/// Damaged bytes kept aside.
#[derive(Debug, Serialize)]
pub struct Quarantined {
    /// The segment they were in.
    pub segment: String,
    /// Where in it they started.
    pub position: u64,
    /// How many.
    pub bytes: u64,
    /// The quarantine file holding them.
    pub file: PathBuf,
}

/// A run of records with consecutive offsets within one segment.
struct Run {
    first: u64,
    end: u64,
    bytes: Range<usize>,
}

/// Repairs the log in `dir`; see the [module docs](self). Takes the writer's lock, so it fails
/// while a writer is appending.
pub fn repair(dir: &Path) -> Result<RepairReport, Error> {
    let _lock = writer::lock(dir)?;
    let bases = segment::list(dir)?;
    let mut report = RepairReport::default();
    let mut lost = lost_offsets(dir)?;
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let path = segment::segment_path(dir, base);
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let (runs, damaged, reserved) = split(&bytes, base);
        if damaged.is_empty() && runs.len() <= 1 && runs.first().is_none_or(|r| r.first == base) {
            continue; // intact
        }
        for range in &damaged {
            report
                .quarantined
                .push(quarantine(dir, &path, range.clone(), &bytes)?);
        }
        // Offsets given up: between runs, and after the last one up to the next segment (or,
        // in the newest, up to past every offset its damaged tail may have held).
        let mut at = base;
        for run in &runs {
            if run.first > at {
                report.lost.push(at..run.first);
            }
            at = run.end;
        }
        if next_base.is_some_and(|next| next > at) {
            report.lost.push(at..next_base.unwrap_or(at));
        }
        if next_base.is_none() && reserved > at {
            report.lost.push(at..reserved);
            // An empty newest segment makes the writer go on at `reserved`.
            let empty = segment::segment_path(dir, reserved);
            write_file(&empty, &[])?;
            report.rewritten.push(file_name(&empty));
        }
        // The last run first: the original is replaced or removed only when all else is safe.
        for run in runs.iter().rev() {
            let run_path = segment::segment_path(dir, run.first);
            write_file(&run_path, &bytes[run.bytes.clone()])?;
            let _ = std::fs::remove_file(segment::index_path(dir, run.first));
            report.salvaged += run.end - run.first;
            report.rewritten.push(file_name(&run_path));
        }
        if runs.first().is_none_or(|r| r.first != base) {
            std::fs::remove_file(&path).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            let _ = std::fs::remove_file(segment::index_path(dir, base));
        }
    }
    if !report.lost.is_empty() {
        lost.extend(report.lost.iter().cloned());
        let text: String = lost
            .iter()
            .map(|r| format!("{} {}\n", r.start, r.end))
            .collect();
        write_file(&dir.join(LOST), text.as_bytes())?;
    }
    durable::sync_dir(dir).map_err(|e| Error::Log {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    report.rewritten.sort();
    Ok(report)
}

/// The offsets earlier repairs gave up in the log in `dir` (none if it was never repaired).
pub fn lost_offsets(dir: &Path) -> Result<Vec<Range<u64>>, Error> {
    let path = dir.join(LOST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path, source }),
    };
    text.lines()
        .enumerate()
        .map(|(number, line)| {
            let mut fields = line.split(' ').map(str::parse::<u64>);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(Ok(from)), Some(Ok(to)), None) if from < to => Ok(from..to),
                _ => Err(Error::Log {
                    path: path.clone(),
                    reason: format!("line {} is not `FROM TO`: {line:?}", number + 1),
                }),
            }
        })
        .collect()
}

/// Splits a segment's bytes into runs of intact records with consecutive offsets and the
/// damaged byte ranges between them; also returns the offset after every offset the damage
/// at its end may have held (`base` if nothing is damaged there).
fn split(bytes: &[u8], base: u64) -> (Vec<Run>, Vec<Range<usize>>, u64) {
    let (mut runs, mut damaged) = (Vec::<Run>::new(), Vec::new());
    let (mut at, mut expected) = (0, base);
    let mut reserved = base;
    while at < bytes.len() {
        match record::decode(&bytes[at..]) {
            Decoded::Record { offset, len, .. } if offset >= expected => {
                match runs.last_mut() {
                    Some(run) if run.end == offset && run.bytes.end == at => {
                        run.end += 1;
                        run.bytes.end += len;
                    }
                    _ => runs.push(Run {
                        first: offset,
                        end: offset + 1,
                        bytes: at..at + len,
                    }),
                }
                at += len;
                expected = offset + 1;
                reserved = expected;
            }
            _ => {
                let skip =
                    segment::resync(&bytes[at..], expected).map_or(bytes.len() - at, |r| r.0);
                if at + skip == bytes.len() {
                    reserved = highest_claimed(&bytes[at..], expected).max(expected + 1);
                }
                damaged.push(at..at + skip);
                at += skip;
            }
        }
    }
    (runs, damaged, reserved)
}

/// One past the largest offset a header in `damaged` may hold: any position whose offset
/// field lies where the records after `expected` could be.
fn highest_claimed(damaged: &[u8], expected: u64) -> u64 {
    let highest = expected + (damaged.len() / HEADER) as u64;
    (0..damaged.len().saturating_sub(HEADER - 1))
        .map(|at| u64::from_le_bytes(damaged[at + 8..at + 16].try_into().unwrap()))
        .filter(|offset| (expected..=highest).contains(offset))
        .max()
        .map_or(expected, |offset| offset + 1)
}

/// Copies `range` of the segment at `path` to a quarantine file.
fn quarantine(
    dir: &Path,
    path: &Path,
    range: Range<usize>,
    bytes: &[u8],
) -> Result<Quarantined, Error> {
    let folder = dir.join(QUARANTINE);
    std::fs::create_dir_all(&folder).map_err(|source| Error::Write {
        path: folder.clone(),
        source,
    })?;
    let segment = file_name(path);
    let file = folder.join(format!("{segment}@{}.bin", range.start));
    write_file(&file, &bytes[range.clone()])?;
    Ok(Quarantined {
        segment,
        position: range.start as u64,
        bytes: range.len() as u64,
        file,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    durable::write_atomically(path, bytes).map_err(|e| Error::Log {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}
