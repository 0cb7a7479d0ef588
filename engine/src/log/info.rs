//! What a log holds, checked record by record (`sluice log info`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::reader::LogReader;
use super::segment;
use crate::error::Error;
use crate::time::Time;

/// A log's extent and health.
#[derive(Debug, Serialize)]
pub struct LogInfo {
    /// The log's directory.
    pub dir: PathBuf,
    /// The oldest offset kept.
    pub start_offset: u64,
    /// The offset the next append gets.
    pub next_offset: u64,
    /// Total size of its segment files, in bytes.
    pub bytes: u64,
    /// The smallest record time; `None` if the log holds no record.
    pub min_time: Option<Time>,
    /// The largest record time; `None` if the log holds no record.
    pub max_time: Option<Time>,
    /// Its segment files, oldest first.
    pub segments: Vec<SegmentInfo>,
    /// The first damage found, naming its file and offset; `None` if every record checks out.
    /// A torn record at the very end (a crash mid-append) is not damage: the writer cuts it off.
    pub problem: Option<String>,
    /// Bytes of a torn record at the end of the newest segment, if there is one.
    pub torn_tail_bytes: Option<u64>,
    /// Offsets `sluice log repair` gave up because their records were damaged.
    pub lost: Vec<std::ops::Range<u64>>,
}

/// One segment file.
#[derive(Debug, Serialize)]
pub struct SegmentInfo {
    /// The file's name within the log directory.
    pub file: String,
    /// The offset of its first record, which also names the file.
    pub base_offset: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Reads every record of the log in `dir`, verifying each checksum.
pub fn info(dir: &Path) -> Result<LogInfo, Error> {
    let mut reader = LogReader::open(dir)?;
    let start_offset = reader.offset();
    let (mut min_time, mut max_time, mut problem) = (None::<Time>, None::<Time>, None);
    loop {
        match reader.read_with(|_, time, _| time) {
            Ok(Some(time)) => {
                min_time = Some(min_time.map_or(time, |m| m.min(time)));
                max_time = Some(max_time.map_or(time, |m| m.max(time)));
            }
            Ok(None) => break,
            Err(error) => {
                problem = Some(error.to_string());
                break;
            }
        }
    }
    let segments: Vec<SegmentInfo> = segment::list(dir)?
        .into_iter()
        .map(|base| {
            let path = segment::segment_path(dir, base);
            SegmentInfo {
                file: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
                base_offset: base,
                bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
            }
        })
        .collect();
    let torn_tail_bytes = match (problem.is_none(), reader.position(), segments.last()) {
        (true, Some((base, position)), Some(last)) if base == last.base_offset => {
            (last.bytes > position).then(|| last.bytes - position)
        }
        _ => None,
    };
    Ok(LogInfo {
        torn_tail_bytes,
        lost: super::repair::lost_offsets(dir)?,
        dir: dir.to_path_buf(),
        start_offset,
        next_offset: reader.offset(),
        bytes: segments.iter().map(|s| s.bytes).sum(),
        min_time,
        max_time,
        segments,
        problem,
    })
}
