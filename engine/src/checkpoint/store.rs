//! The checkpoint directory: one subdirectory per committed epoch, a `LATEST` pointer, and
//! retention of the last few.
//!
//! ```text
//! DIR/
//!   LATEST                      the newest committed epoch, e.g. "1200"
//!   epoch-1100/  epoch-1200/    committed: metadata.json + one frame per part
//!   epoch-1300.pending/         parts being written; never read by recovery, and removed
//!                               when the job starts again
//!   epoch-1000.discarded/       an epoch past the retention, being removed: renamed first,
//!                               so that a crash mid-removal leaves no half-epoch
//!   process-1.done              a process's last markers are written (the job ended)
//!   event-parts/900/            event-time operators' parts saved as of event time 900,
//!   event-parts/final/          and their last ones: the committer copies the parts that
//!                               stand for an epoch's event-time cut into it
//! ```
//!
//! Each worker writes its parts (one per stateful operator or source) into the epoch's pending
//! directory, each file atomically. When every part is there, one committer writes
//! `metadata.json` (listing the parts with their sizes and checksums, under a checksum of its
//! own), syncs, renames the directory to `epoch-T`, syncs the parent and moves `LATEST` with an
//! atomic rename: a crash at any moment leaves the previous checkpoint intact and in force.
//! Recovery reads `LATEST`, checks every part's frame (length and checksum, and that the
//! checksum is the one the metadata lists: an intact part of another epoch is not this one)
//! before decoding anything, and if the newest checkpoint is damaged says which file and falls
//! back to the newest one that is whole.
//!
//! ```
//! use sluice_engine::checkpoint::{CheckpointDir, Metadata};
//! let dir = tempfile::tempdir().unwrap();
//! let store = CheckpointDir::open(dir.path()).unwrap();
//! store.write_part(100, "count-w0", &vec![("a".to_string(), 3u64)]).unwrap();
//! store.commit(Metadata::new("wordcount", "v1", 100)).unwrap();
//! let (latest, warnings) = store.latest_valid().unwrap();
//! let latest = latest.unwrap();
//! assert!(warnings.is_empty());
//! assert_eq!(latest.metadata.epoch, 100);
//! let counts: Vec<(String, u64)> = latest.read_part("count-w0").unwrap();
//! assert_eq!(counts, vec![("a".to_string(), 3)]);
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::frame;
use super::CheckpointError;
use crate::time::Time;

const LATEST: &str = "LATEST";
const METADATA: &str = "metadata.json";
const PART_SUFFIX: &str = ".state";
const EVENT_PARTS: &str = "event-parts";
const FINAL: &str = "final";
/// The extension of an epoch whose parts are still being written.
const PENDING: &str = "pending";
/// The extension of a committed epoch being removed.
const DISCARDED: &str = "discarded";
const SAVEPOINTS: &str = "savepoints";
/// Beside a final event-time part: the first event epoch it stands for.
const FROM_SUFFIX: &str = ".from";

/// What a checkpoint is of: enough to refuse restoring it into a different program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The program's name, e.g. "wordcount".
    pub program: String,
    /// A fingerprint of the program's shape and options: a checkpoint is only restored into
    /// a program with the same one.
    pub fingerprint: String,
    /// The program's version label (see
    /// [`Checkpointing::version`](super::Checkpointing::version)); empty if none.
    #[serde(default)]
    pub version: String,
    /// "native" or "minibatch".
    pub mode: String,
    /// The batch interval in micro-batch mode.
    pub batch_interval_ms: Option<Time>,
    /// The checkpoint's epoch: its state holds exactly the effect of every record before it.
    pub epoch: Time,
    /// The event-time cut paired with the epoch, if the program has event-time operators:
    /// their state holds the effect of every record stamped before it, and `with_event_time`'s
    /// holds the records it had forwarded at or after it (see `checkpoint::domain`).
    #[serde(default)]
    pub event_epoch: Option<Time>,
    /// Each source part's replay offset as of the epoch.
    pub source_offsets: BTreeMap<String, u64>,
    /// The identity of each input, by name: a checkpoint is only restored over the same inputs.
    #[serde(default)]
    pub inputs: BTreeMap<String, super::Input>,
    /// The checkpointed operators.
    pub operators: Vec<String>,
    /// Workers in all processes together when it was taken: state is partitioned by worker,
    /// so a restore needs the same number.
    pub workers: usize,
    /// Processes when it was taken (1 unless the job ran from a hostfile).
    pub processes: usize,
    /// Every part file of the epoch and its size in bytes; filled in by the commit.
    pub parts: BTreeMap<String, u64>,
    /// Every part's checksum (its frame's CRC32), filled in by the commit: an intact part of
    /// another epoch or run put in its place has the right size and frame, and is caught by
    /// this. Absent in checkpoints written before it was kept.
    #[serde(default)]
    pub checksums: BTreeMap<String, u32>,
}

impl Metadata {
    /// Metadata for `program` with `fingerprint` at `epoch`, native mode, one worker.
    pub fn new(program: &str, fingerprint: &str, epoch: Time) -> Self {
        Metadata {
            program: program.to_string(),
            fingerprint: fingerprint.to_string(),
            version: String::new(),
            mode: "native".to_string(),
            batch_interval_ms: None,
            epoch,
            event_epoch: None,
            source_offsets: BTreeMap::new(),
            inputs: BTreeMap::new(),
            operators: Vec::new(),
            workers: 1,
            processes: 1,
            parts: BTreeMap::new(),
            checksums: BTreeMap::new(),
        }
    }
}

/// A part file's size and the checksum its header records (only the header is read).
fn part_summary(path: &Path) -> Result<(u64, u32), CheckpointError> {
    use std::io::Read;
    let io = |e| CheckpointError::io(path, e);
    let mut file = fs::File::open(path).map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    let mut header = [0; frame::HEADER_LEN];
    file.read_exact(&mut header).map_err(io)?;
    let checksum = frame::checksum(&header).expect("a whole header");
    Ok((bytes, checksum))
}

/// `metadata.json` as written: readable JSON, and a CRC32 of the metadata (of its compact
/// encoding), so that a flipped digit in an offset is caught rather than resumed from.
#[derive(Serialize, Deserialize)]
struct SealedMetadata {
    crc32: u32,
    metadata: Metadata,
}

fn metadata_crc(metadata: &Metadata) -> Result<u32, CheckpointError> {
    let compact =
        serde_json::to_vec(metadata).map_err(|e| CheckpointError::Encode(e.to_string()))?;
    Ok(crc32fast::hash(&compact))
}

/// A committed checkpoint whose files all checked out.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The epoch's directory, holding its part files and `metadata.json`.
    pub dir: PathBuf,
    /// Its metadata, checksum verified.
    pub metadata: Metadata,
}

impl Checkpoint {
    /// Loads and checks the checkpoint or savepoint in `dir`: its metadata, and every part's
    /// frame (length and checksum), before anything is decoded.
    pub fn load(dir: impl Into<PathBuf>) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::load_parts(dir, &|_| true)
    }

    /// [`load`](Self::load), checking only the parts `own` selects: with checkpoint
    /// directories that processes do not share, each holds only its own process's parts.
    pub fn load_parts(
        dir: impl Into<PathBuf>,
        own: &dyn Fn(&str) -> bool,
    ) -> Result<Checkpoint, CheckpointError> {
        let dir = dir.into();
        let metadata = read_metadata(&dir)?;
        for (part, &bytes) in metadata.parts.iter().filter(|(part, _)| own(part)) {
            let path = dir.join(format!("{part}{PART_SUFFIX}"));
            let content = fs::read(&path).map_err(|e| CheckpointError::io(&path, e))?;
            if content.len() as u64 != bytes {
                return Err(CheckpointError::Corrupt {
                    path,
                    reason: format!("{} bytes, the metadata says {bytes}", content.len()),
                });
            }
            frame::payload(&content, &path)?;
            let recorded = metadata.checksums.get(part);
            if recorded.is_some_and(|&crc| Some(crc) != frame::checksum(&content)) {
                return Err(CheckpointError::Corrupt {
                    path,
                    reason: "an intact part, but not the one this checkpoint wrote (its \
                             checksum differs from the metadata's)"
                        .into(),
                });
            }
        }
        Ok(Checkpoint { dir, metadata })
    }

    /// Decodes one part of the checkpoint.
    pub fn read_part<T: DeserializeOwned>(&self, part: &str) -> Result<T, CheckpointError> {
        frame::read(&self.dir.join(format!("{part}{PART_SUFFIX}")))
    }
}

/// One checkpoint or savepoint as `sluice checkpoint inspect` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    /// The epoch, which also names its directory.
    pub epoch: Time,
    /// Its directory.
    pub path: PathBuf,
    /// Whether `LATEST` points at it.
    pub latest: bool,
    /// The program's version label (see
    /// [`Checkpointing::version`](super::Checkpointing::version)).
    pub version: String,
    /// Workers and processes of the job that took it.
    pub workers: usize,
    /// See `workers`.
    pub processes: usize,
    /// Each operator's state: its parts and their bytes.
    pub state: Vec<OperatorState>,
    /// The key groups each worker's parts of keyed state hold, by worker (see
    /// [`hash`](crate::hash)): what a restore into another number of workers re-divides.
    pub key_groups: Vec<std::ops::Range<u64>>,
    /// Total bytes of its part files.
    pub bytes: u64,
    /// How many part files it has.
    pub parts: usize,
    /// The checkpointed operators whose state it holds.
    pub operators: Vec<String>,
    /// What it was taken of (see [`super::Input`]).
    pub inputs: Vec<String>,
    /// `None` if every file checks out, else what is wrong (naming the file).
    pub problem: Option<String>,
    /// The processes whose parts this directory holds, if not every process's: each process
    /// of the job kept its own directory (see [`protocol`](super::protocol)).
    pub holds: Option<Vec<usize>>,
}

/// One operator's state in a checkpoint, as `sluice checkpoint inspect` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct OperatorState {
    /// The operator's name (its uid, or the name derived from its kind).
    pub operator: String,
    /// Its parts (one per worker).
    pub parts: usize,
    /// Their bytes together.
    pub bytes: u64,
}

/// A checkpoint directory; see the module docs.
#[derive(Clone, Debug)]
pub struct CheckpointDir {
    root: PathBuf,
    retain: usize,
}

impl CheckpointDir {
    /// Opens (creating if needed) the checkpoint directory at `root`; keeps the last 3 epochs.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| CheckpointError::io(&root, e))?;
        Ok(CheckpointDir { root, retain: 3 })
    }

    /// Keeps the last `epochs` committed epochs (at least 1).
    pub fn retain(mut self, epochs: usize) -> Self {
        self.retain = epochs.max(1);
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The directory of the committed `epoch`.
    pub(super) fn committed(&self, epoch: Time) -> PathBuf {
        self.root.join(format!("epoch-{epoch}"))
    }

    /// The directory of `epoch`'s parts being written.
    pub(super) fn pending(&self, epoch: Time) -> PathBuf {
        self.root.join(format!("epoch-{epoch}.{PENDING}"))
    }

    /// Writes one part of `epoch` (atomically); returns its size in bytes.
    pub fn write_part<T: Serialize + ?Sized>(
        &self,
        epoch: Time,
        part: &str,
        value: &T,
    ) -> Result<u64, CheckpointError> {
        let dir = self.pending(epoch);
        create_dir_durably(&dir)?;
        frame::write(&dir.join(format!("{part}{PART_SUFFIX}")), value)
    }

    /// Writes one part of `epoch` given as an encoded frame (atomically).
    pub fn write_part_frame(
        &self,
        epoch: Time,
        part: &str,
        frame: &[u8],
    ) -> Result<(), CheckpointError> {
        let dir = self.pending(epoch);
        create_dir_durably(&dir)?;
        frame::write_atomically(&dir.join(format!("{part}{PART_SUFFIX}")), frame)
    }

    fn event_parts(&self) -> PathBuf {
        self.root.join(EVENT_PARTS)
    }

    /// Writes an event-time operator's part saved as of event time `epoch` (atomically); with
    /// `last`, also as its final part, standing for every event epoch from `last` on.
    pub fn write_event_part_frame(
        &self,
        epoch: Time,
        part: &str,
        frame: &[u8],
        last: Option<Time>,
    ) -> Result<(), CheckpointError> {
        let dir = self.event_parts().join(epoch.to_string());
        create_dir_durably(&dir)?;
        frame::write_atomically(&dir.join(format!("{part}{PART_SUFFIX}")), frame)?;
        if let Some(from) = last {
            let dir = self.event_parts().join(FINAL);
            create_dir_durably(&dir)?;
            frame::write_atomically(&dir.join(format!("{part}{PART_SUFFIX}")), frame)?;
            let path = dir.join(format!("{part}{FROM_SUFFIX}"));
            frame::write_atomically(&path, from.to_string().as_bytes())?;
        }
        Ok(())
    }

    /// What event-time parts the directory holds, as read from it now.
    pub fn event_index(&self) -> EventIndex {
        let mut index = EventIndex::new(self.event_parts());
        let listing = |dir: &Path| -> Vec<String> {
            fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        };
        for name in listing(&self.event_parts()) {
            let Ok(epoch) = name.parse::<Time>() else {
                continue;
            };
            for file in listing(&self.event_parts().join(&name)) {
                if let Some(part) = file.strip_suffix(PART_SUFFIX) {
                    let path = self.event_parts().join(&name).join(&file);
                    let (bytes, crc) = part_summary(&path).unwrap_or_default();
                    index.record(part, epoch, None, Saved { bytes, crc });
                }
            }
        }
        let finals = self.event_parts().join(FINAL);
        for file in listing(&finals) {
            let Some(part) = file.strip_suffix(FROM_SUFFIX) else {
                continue;
            };
            let from = fs::read_to_string(finals.join(&file)).ok();
            if let Some(from) = from.and_then(|f| f.trim().parse().ok()) {
                let path = finals.join(format!("{part}{PART_SUFFIX}"));
                let (bytes, crc) = part_summary(&path).unwrap_or_default();
                index
                    .finals
                    .insert(part.to_string(), (from, Saved { bytes, crc }));
            }
        }
        index
    }

    /// Copies the file at `from` into `epoch`'s pending parts as `part`.
    pub fn copy_into_pending(
        &self,
        epoch: Time,
        part: &str,
        from: &Path,
    ) -> Result<(), CheckpointError> {
        let frame = fs::read(from).map_err(|e| CheckpointError::io(from, e))?;
        self.write_part_frame(epoch, part, &frame)
    }

    /// Drops the event-time parts saved before event time `cut` (no later checkpoint needs
    /// them: cuts only move forward), or all of them.
    pub fn prune_event_parts(&self, cut: Option<Time>) -> Result<(), CheckpointError> {
        let epochs: Vec<Time> = fs::read_dir(self.event_parts())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        for epoch in epochs {
            if cut.is_none_or(|cut| epoch < cut) {
                let dir = self.event_parts().join(epoch.to_string());
                remove_dir(&dir)?;
            }
        }
        if cut.is_none() {
            let _ = fs::remove_dir_all(self.event_parts().join(FINAL));
        }
        Ok(())
    }

    /// The event-time cut of the newest committed checkpoint, read from its metadata alone.
    pub fn latest_event_epoch(&self) -> Result<Option<Time>, CheckpointError> {
        let Some(epoch) = self.latest()? else {
            return Ok(None);
        };
        Ok(self.metadata(epoch)?.event_epoch)
    }

    /// The metadata of the committed checkpoint of `epoch`.
    pub(super) fn metadata(&self, epoch: Time) -> Result<Metadata, CheckpointError> {
        read_metadata(&self.committed(epoch))
    }

    /// Where savepoints are kept: apart from the rolling checkpoints, and never pruned.
    pub fn savepoints(&self) -> PathBuf {
        self.root.join(SAVEPOINTS)
    }

    /// Keeps the committed checkpoint of `epoch` as a savepoint, `savepoints/savepoint-E`
    /// (checked, copied and synced under a temporary name, then renamed: a crash leaves no
    /// half savepoint); returns its directory.
    pub fn save_point(&self, epoch: Time) -> Result<PathBuf, CheckpointError> {
        self.save_parts(epoch, &|_| true)
    }

    /// [`save_point`](Self::save_point) of the parts `mine` selects and of every other part
    /// that is here: in a checkpoint directory the processes do not share, a process has
    /// only its own.
    pub fn save_parts(
        &self,
        epoch: Time,
        mine: &dyn Fn(&str) -> bool,
    ) -> Result<PathBuf, CheckpointError> {
        let dir = self.committed(epoch);
        let own = |part: &str| mine(part) || dir.join(format!("{part}{PART_SUFFIX}")).exists();
        let checkpoint = Checkpoint::load_parts(&dir, &own)?;
        let savepoints = self.savepoints();
        let target = savepoints.join(format!("savepoint-{epoch}"));
        if target.exists() {
            return Ok(target);
        }
        let partial = savepoints.join(format!("savepoint-{epoch}.pending"));
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(|e| CheckpointError::io(&partial, e))?;
        }
        fs::create_dir_all(&partial).map_err(|e| CheckpointError::io(&partial, e))?;
        let files = checkpoint
            .metadata
            .parts
            .keys()
            .filter(|part| own(part))
            .map(|part| format!("{part}{PART_SUFFIX}"))
            .chain([METADATA.to_string()]);
        for file in files {
            let (from, to) = (checkpoint.dir.join(&file), partial.join(&file));
            fs::copy(&from, &to).map_err(|e| CheckpointError::io(&from, e))?;
            fs::File::open(&to)
                .and_then(|f| f.sync_all())
                .map_err(|e| CheckpointError::io(&to, e))?;
        }
        frame::sync_dir(&partial)?;
        fs::rename(&partial, &target).map_err(|e| CheckpointError::io(&target, e))?;
        frame::sync_dir(&savepoints)?;
        Ok(target)
    }

    /// The savepoints, oldest epoch first.
    pub fn savepoint_dirs(&self) -> Result<Vec<(Time, PathBuf)>, CheckpointError> {
        let savepoints = self.savepoints();
        let entries = match fs::read_dir(&savepoints) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CheckpointError::io(&savepoints, e)),
        };
        let mut found: Vec<(Time, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let epoch = name.strip_prefix("savepoint-")?.parse().ok()?;
                Some((epoch, entry.path()))
            })
            .collect();
        found.sort();
        Ok(found)
    }
}

/// Whether the pending epoch in `dir` holds `marker` — its process wrote every part of it —
/// and its parts have intact frames.
fn pending_complete(dir: &Path, marker: &str) -> Result<bool, CheckpointError> {
    if !dir.join(format!("{marker}{PART_SUFFIX}")).exists() {
        return Ok(false);
    }
    for entry in fs::read_dir(dir).map_err(|e| CheckpointError::io(dir, e))? {
        let path = entry.map_err(|e| CheckpointError::io(dir, e))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(PART_SUFFIX) {
            let content = fs::read(&path).map_err(|e| CheckpointError::io(&path, e))?;
            frame::payload(&content, &path)?;
        }
    }
    Ok(true)
}

/// Creates the directory `dir` if it is not there, and syncs its parent: a part written into
/// it is acknowledged to process 0 once synced, and must not vanish with a lost directory
/// entry.
fn create_dir_durably(dir: &Path) -> Result<(), CheckpointError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| CheckpointError::io(dir, e))?;
    // The parent, and its parent: `event-parts/` may have been created with it.
    for ancestor in dir.ancestors().skip(1).take(2) {
        if !ancestor.as_os_str().is_empty() {
            frame::sync_dir(ancestor)?;
        }
    }
    Ok(())
}

/// Removes the directory `dir` and what it holds; already gone is fine (processes sharing a
/// checkpoint directory clear it at the same time).
fn remove_dir(dir: &Path) -> Result<(), CheckpointError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CheckpointError::io(dir, e)),
        _ => Ok(()),
    }
}

/// The metadata in the checkpoint or savepoint directory `dir`, its checksum verified.
pub(super) fn read_metadata(dir: &Path) -> Result<Metadata, CheckpointError> {
    let path = dir.join(METADATA);
    let json = fs::read(&path).map_err(|e| CheckpointError::io(&path, e))?;
    let sealed: SealedMetadata =
        serde_json::from_slice(&json).map_err(|e| CheckpointError::Corrupt {
            path: path.clone(),
            reason: format!("metadata does not parse: {e}"),
        })?;
    if sealed.crc32 != metadata_crc(&sealed.metadata)? {
        return Err(CheckpointError::Corrupt {
            path,
            reason: "the metadata's checksum does not match its content".into(),
        });
    }
    Ok(sealed.metadata)
}

impl CheckpointDir {
    /// Decodes a part of `epoch` written but not yet committed.
    pub fn read_pending_part<T: DeserializeOwned>(
        &self,
        epoch: Time,
        part: &str,
    ) -> Result<T, CheckpointError> {
        frame::read(&self.pending(epoch).join(format!("{part}{PART_SUFFIX}")))
    }

    /// The parts written so far for `epoch`, not yet committed.
    pub fn pending_parts(&self, epoch: Time) -> Vec<String> {
        let mut parts: Vec<String> = fs::read_dir(self.pending(epoch))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                name.strip_suffix(PART_SUFFIX).map(str::to_string)
            })
            .collect();
        parts.sort();
        parts
    }

    /// Commits the pending parts of `metadata.epoch` (see the module docs), then drops the
    /// epochs beyond the retention and any older pending ones.
    ///
    /// Parts already in `metadata` (another process's, in a directory this process does not
    /// share) are kept; every part in the pending directory is added.
    pub fn commit(&self, mut metadata: Metadata) -> Result<(), CheckpointError> {
        let epoch = metadata.epoch;
        let pending = self.pending(epoch);
        fs::create_dir_all(&pending).map_err(|e| CheckpointError::io(&pending, e))?;
        for part in self.pending_parts(epoch) {
            let path = pending.join(format!("{part}{PART_SUFFIX}"));
            let (bytes, checksum) = part_summary(&path)?;
            metadata.parts.insert(part.clone(), bytes);
            metadata.checksums.insert(part, checksum);
        }
        self.install(&metadata)
    }

    /// Commits this process's pending parts of the epoch process 0 committed with `metadata`
    /// (see [`protocol`](super::protocol)), copying in `copies` — its event-time parts of the
    /// epoch's cut, as `(part, file)`. Nothing to do (`false`) if nothing of the epoch is
    /// pending: the directory is shared with process 0, whose commit took it.
    pub fn promote(
        &self,
        metadata: &Metadata,
        copies: &[(String, PathBuf)],
    ) -> Result<bool, CheckpointError> {
        if !self.pending(metadata.epoch).exists() {
            return Ok(false);
        }
        for (part, from) in copies {
            self.copy_into_pending(metadata.epoch, part, from)?;
        }
        self.install(metadata)?;
        Ok(true)
    }

    /// Seals `metadata` into its epoch's pending directory, renames it committed and moves
    /// `LATEST` to it; then prunes.
    fn install(&self, metadata: &Metadata) -> Result<(), CheckpointError> {
        let epoch = metadata.epoch;
        let pending = self.pending(epoch);
        let crc32 = metadata_crc(metadata)?;
        let json = serde_json::to_vec_pretty(&SealedMetadata {
            crc32,
            metadata: metadata.clone(),
        })
        .map_err(|e| CheckpointError::Encode(e.to_string()))?;
        frame::write_atomically(&pending.join(METADATA), &json)?;
        let committed = self.committed(epoch);
        if committed.exists() {
            // A replay after recovery re-made this epoch: the new parts replace the old.
            self.discard(&committed)?;
        }
        fs::rename(&pending, &committed).map_err(|e| CheckpointError::io(&committed, e))?;
        frame::sync_dir(&self.root)?;
        frame::write_atomically(&self.root.join(LATEST), epoch.to_string().as_bytes())?;
        self.prune(epoch)
    }

    /// The size and checksum of the pending `part` of `epoch`.
    pub fn pending_summary(&self, epoch: Time, part: &str) -> Result<Saved, CheckpointError> {
        let (bytes, crc) = part_summary(&self.pending(epoch).join(format!("{part}{PART_SUFFIX}")))?;
        Ok(Saved { bytes, crc })
    }

    /// Leaves process `process`'s done marker: every part and epoch marker it will write
    /// is on disk, so that process 0 can make its last commit (see the writer).
    pub fn mark_done(&self, process: usize) -> Result<(), CheckpointError> {
        frame::write_atomically(&self.done_marker(process), b"done")
    }

    /// Whether process `process` has left its done marker.
    pub fn is_done(&self, process: usize) -> bool {
        self.done_marker(process).exists()
    }

    fn done_marker(&self, process: usize) -> PathBuf {
        self.root.join(format!("process-{process}.done"))
    }

    /// Removes what an earlier run left unfinished: its pending epochs and done markers.
    pub fn clear_unfinished(&self) -> Result<(), CheckpointError> {
        for (_, path) in self.listing()? {
            if path
                .extension()
                .is_some_and(|e| e == PENDING || e == DISCARDED)
            {
                remove_dir(&path)?;
            }
        }
        let entries = fs::read_dir(&self.root).map_err(|e| CheckpointError::io(&self.root, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("process-") && name.ends_with(".done") {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(CheckpointError::io(&path, e))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Removes committed epochs after `latest` — of a timeline the job left when it resumed
    /// from an older checkpoint or a savepoint, or started afresh — then those beyond the
    /// retention, and pending ones older than `latest`.
    fn prune(&self, latest: Time) -> Result<(), CheckpointError> {
        for old in self.epochs()?.into_iter().filter(|&e| e > latest) {
            self.discard(&self.committed(old))?;
        }
        let epochs = self.epochs()?;
        let keep_from = epochs.len().saturating_sub(self.retain);
        for &old in &epochs[..keep_from] {
            self.discard(&self.committed(old))?;
        }
        for (epoch, path) in self.listing()? {
            let stale = match path.extension() {
                Some(e) if e == PENDING => epoch < latest,
                Some(e) => e == DISCARDED,
                None => false,
            };
            if stale {
                remove_dir(&path)?;
            }
        }
        Ok(())
    }

    /// Removes the committed epoch at `dir`. It is renamed out of the committed ones first, so
    /// that a crash part-way through the removal leaves no half-removed epoch that still looks
    /// committed (a later prune removes the rest).
    fn discard(&self, dir: &Path) -> Result<(), CheckpointError> {
        let doomed = dir.with_extension(DISCARDED);
        match fs::rename(dir, &doomed) {
            // Another process sharing the directory removed it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CheckpointError::io(dir, e)),
            Ok(()) => remove_dir(&doomed),
        }
    }

    /// Every `epoch-T` entry of the directory: committed, pending (`.pending`) or being removed
    /// (`.discarded`).
    fn listing(&self) -> Result<Vec<(Time, PathBuf)>, CheckpointError> {
        let entries = fs::read_dir(&self.root).map_err(|e| CheckpointError::io(&self.root, e))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("epoch-") else {
                continue;
            };
            let digits = rest.split_once('.').map_or(rest, |(digits, _)| digits);
            if let Ok(epoch) = digits.parse::<Time>() {
                found.push((epoch, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The committed epochs, oldest first.
    pub fn epochs(&self) -> Result<Vec<Time>, CheckpointError> {
        Ok(self
            .listing()?
            .into_iter()
            .filter(|(_, path)| path.extension().is_none())
            .map(|(epoch, _)| epoch)
            .collect())
    }

    /// The epoch `LATEST` points at, if any.
    pub fn latest(&self) -> Result<Option<Time>, CheckpointError> {
        let path = self.root.join(LATEST);
        match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| CheckpointError::Corrupt {
                    path,
                    reason: format!("not an epoch: {:?}", text.trim()),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CheckpointError::io(&path, e)),
        }
    }

    /// Loads and checks the checkpoint of `epoch`: its metadata, and every part's frame.
    pub fn load(&self, epoch: Time) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::load(self.committed(epoch))
    }

    /// The newest checkpoint that checks out, starting from `LATEST` and falling back to older
    /// committed epochs; with a warning for each damaged one skipped (naming the file).
    #[allow(clippy::type_complexity)]
    pub fn latest_valid(&self) -> Result<(Option<Checkpoint>, Vec<String>), CheckpointError> {
        let every_part = |_: &Metadata| -> Box<dyn Fn(&str) -> bool> { Box::new(|_| true) };
        let (found, problems) = self.restorable(&every_part, None, false)?;
        let warnings = problems.into_iter().map(|(_, problem)| problem).collect();
        match found.first() {
            Some(&epoch) => Ok((Some(self.load(epoch)?), warnings)),
            None => Ok((None, warnings)),
        }
    }

    /// The epochs a process can resume from, newest first, and the problem of each it cannot
    /// (naming the file). Committed ones whose parts `own` selects (given their metadata)
    /// check out: for process 0, which commits, none newer than `LATEST` (a newer one is of a
    /// timeline the job left); another process (`marker`: its marker part) may lag behind
    /// process 0's commits, so its pending epochs it wrote every part of count too — process
    /// 0 may have committed them before a crash let this process promote them (see
    /// [`protocol`](super::protocol)).
    #[allow(clippy::type_complexity)]
    ///
    /// Unless `all`, the newest is enough: the search stops there.
    pub fn restorable(
        &self,
        own: &dyn Fn(&Metadata) -> Box<dyn Fn(&str) -> bool>,
        marker: Option<&str>,
        all: bool,
    ) -> Result<(Vec<Time>, Vec<(Option<Time>, String)>), CheckpointError> {
        let mut problems = Vec::new();
        let committed = self.epochs()?;
        let latest = match (marker, self.latest()) {
            (Some(_), _) => None,
            (None, Ok(latest)) => {
                if let Some(l) = latest.filter(|l| !committed.contains(l)) {
                    // A damaged pointer may name no epoch at all: then every committed one is
                    // a candidate.
                    problems.push((
                        None,
                        format!(
                            "{} names epoch {l}, which is not committed; trying every committed \
                             epoch",
                            self.root.join(LATEST).display()
                        ),
                    ));
                }
                latest.filter(|l| committed.contains(l))
            }
            (None, Err(e)) => {
                problems.push((None, e.to_string()));
                None
            }
        };
        let mut found = Vec::new();
        for (epoch, path) in self.listing()?.into_iter().rev() {
            let checked = match (path.extension(), marker) {
                (None, _) if latest.is_none_or(|l| epoch <= l) => read_metadata(&path)
                    .and_then(|metadata| Checkpoint::load_parts(&path, &*own(&metadata)))
                    .map(|_| true),
                (Some(e), Some(marker)) if e == PENDING => pending_complete(&path, marker),
                _ => continue,
            };
            match checked {
                Ok(true) if !all => return Ok((vec![epoch], problems)),
                Ok(true) => found.push(epoch),
                Ok(false) => {}
                Err(e) => problems.push((
                    Some(epoch),
                    format!("checkpoint of epoch {epoch} is unusable ({e})"),
                )),
            }
        }
        Ok((found, problems))
    }

    /// Every committed epoch, newest last, with its size, operators and validity.
    pub fn inspect(&self) -> Result<Vec<EpochReport>, CheckpointError> {
        let latest = self.latest().ok().flatten();
        let epochs = self.epochs()?;
        Ok(epochs
            .into_iter()
            .map(|epoch| report(epoch, &self.committed(epoch), latest == Some(epoch)))
            .collect())
    }

    /// Every savepoint, oldest epoch first, as [`inspect`](Self::inspect) lists epochs.
    pub fn inspect_savepoints(&self) -> Result<Vec<EpochReport>, CheckpointError> {
        Ok(self
            .savepoint_dirs()?
            .into_iter()
            .map(|(epoch, dir)| report(epoch, &dir, false))
            .collect())
    }
}

/// What the checkpoint or savepoint of `epoch` in `dir` holds, and whether it is whole.
fn report(epoch: Time, dir: &Path, latest: bool) -> EpochReport {
    // What is on disk, whatever the metadata says (a damaged epoch included).
    let files: Vec<(String, u64)> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let part = name.strip_suffix(PART_SUFFIX)?.to_string();
                    Some((part, e.metadata().ok()?.len()))
                })
                .collect()
        })
        .unwrap_or_default();
    // In directories the processes do not share, each holds its own processes' parts: those
    // whose markers are here.
    let markers: Vec<usize> = files
        .iter()
        .filter_map(|(part, _)| part.strip_prefix("process-")?.parse().ok())
        .collect();
    let (problem, metadata) = match read_metadata(dir) {
        Err(e) => (Some(e.to_string()), None),
        Ok(metadata) => {
            let per_process = metadata.workers / metadata.processes.max(1);
            let partial = !markers.is_empty() && markers.len() < metadata.processes;
            let own = |part: &str| {
                !partial
                    || super::part::process_of(part, per_process)
                        .is_none_or(|p| markers.contains(&p))
            };
            let problem = Checkpoint::load_parts(dir, &own)
                .err()
                .map(|e| e.to_string());
            (problem, Some(metadata))
        }
    };
    let holds = metadata
        .as_ref()
        .filter(|m| !markers.is_empty() && markers.len() < m.processes)
        .map(|_| markers.clone());
    // Unreadable metadata: nothing is known beyond the files.
    let metadata = metadata.unwrap_or_else(|| Metadata {
        workers: 0,
        processes: 0,
        ..Metadata::new("", "", epoch)
    });
    let state = metadata
        .operators
        .iter()
        .map(|operator| {
            let parts: Vec<u64> = files
                .iter()
                .filter(|(part, _)| super::part::operator_of(part) == operator)
                .map(|(_, bytes)| *bytes)
                .collect();
            OperatorState {
                operator: operator.clone(),
                parts: parts.len(),
                bytes: parts.iter().sum(),
            }
        })
        .collect();
    EpochReport {
        epoch,
        path: dir.to_path_buf(),
        latest,
        version: metadata.version.clone(),
        workers: metadata.workers,
        processes: metadata.processes,
        state,
        key_groups: (0..metadata.workers)
            .map(|worker| crate::hash::groups_of(worker, metadata.workers))
            .collect(),
        bytes: files.iter().map(|(_, bytes)| bytes).sum(),
        parts: files.len(),
        operators: metadata.operators.clone(),
        inputs: metadata.inputs.values().map(|i| i.describe()).collect(),
        problem,
        holds,
    }
}

/// Which event-time parts were saved as of which event epochs, and which are final: where to
/// find a part's state as of an event-time cut.
#[derive(Clone, Debug)]
pub struct EventIndex {
    dir: PathBuf,
    saves: BTreeMap<String, BTreeMap<Time, Saved>>,
    finals: BTreeMap<String, (Time, Saved)>,
}

/// A part's size and checksum: what the metadata lists of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// Its file's length.
    pub bytes: u64,
    /// Its frame's checksum.
    pub crc: u32,
}

impl Saved {
    /// The summary of the encoded `frame`.
    pub fn of(frame: &[u8]) -> Saved {
        Saved {
            bytes: frame.len() as u64,
            crc: frame::checksum(frame).unwrap_or_default(),
        }
    }
}

impl EventIndex {
    fn new(dir: PathBuf) -> Self {
        EventIndex {
            dir,
            saves: BTreeMap::new(),
            finals: BTreeMap::new(),
        }
    }

    /// An empty index of the event-time parts of the checkpoint directory `store`.
    pub fn of(store: &CheckpointDir) -> Self {
        EventIndex::new(store.event_parts())
    }

    /// `part` was saved as of `epoch` (and, with `last`, is final from `last` on), as `saved`.
    pub fn record(&mut self, part: &str, epoch: Time, last: Option<Time>, saved: Saved) {
        self.saves
            .entry(part.to_string())
            .or_default()
            .insert(epoch, saved);
        if let Some(from) = last {
            self.finals.insert(part.to_string(), (from, saved));
        }
    }

    /// Forgets the saves before `cut`: no later cut needs them.
    pub fn prune(&mut self, cut: Time) {
        for epochs in self.saves.values_mut() {
            *epochs = epochs.split_off(&cut);
        }
    }

    /// The file of `part`'s state as of event time `cut`: its first save at or after `cut` —
    /// an operator saves when its frontier passes an epoch, and when the frontier jumps it
    /// saves only the last epoch passed, whose state is that of every epoch jumped over — or
    /// its final part, if that stands for `cut`. `None` if the part has not got that far.
    /// Also its summary, as recorded.
    pub fn find(&self, part: &str, cut: Time) -> Option<(PathBuf, Saved)> {
        let file = format!("{part}{PART_SUFFIX}");
        if let Some((epoch, saved)) = self.saves.get(part).and_then(|s| s.range(cut..).next()) {
            return Some((self.dir.join(epoch.to_string()).join(file), *saved));
        }
        let (from, saved) = *self.finals.get(part)?;
        (from <= cut).then(|| (self.dir.join(FINAL).join(file), saved))
    }
}
