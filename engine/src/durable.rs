//! Committing files so that a crash leaves the old version or the new one, never half of one:
//! the one home of the write–sync–rename–sync protocol, for every file or directory the system
//! commits (checkpoint parts and metadata, epoch sink files, the event log's bookkeeping,
//! micro-batch output directories, the CLI's result file).
//!
//! A rename is atomic but not durable by itself: the data must be synced before it (or the new
//! name may point at empty blocks after a crash), and the directory after it (or the rename
//! itself may be lost).
//!
//! ```
//! use sluice_engine::durable;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("result.txt");
//! durable::write_atomically(&path, b"one\n").unwrap();
//! durable::write_atomically(&path, b"two\n").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
//!
//! let staging = dir.path().join("batch._temporary");
//! std::fs::create_dir(&staging).unwrap();
//! std::fs::write(staging.join("part-00000"), "a\n").unwrap();
//! durable::commit_dir(&staging, &dir.path().join("batch")).unwrap();
//! assert_eq!(std::fs::read(dir.path().join("batch/part-00000")).unwrap(), b"a\n");
//! ```

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O failure, with the path it happened on (the temporary file, the target, or the
/// directory being synced), so that a message can name it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct DurableError {
    /// The path the failing operation was on.
    pub path: PathBuf,
    /// What failed.
    #[source]
    pub source: std::io::Error,
}

impl DurableError {
    fn at(path: &Path) -> impl FnOnce(std::io::Error) -> DurableError + '_ {
        move |source| DurableError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory: written, synced,
/// renamed over `path`, and the directory synced, so that the rename is durable too. A path
/// that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a named pipe) is written
/// to directly: renaming over it would replace the device with a file; a symbolic link to a
/// file has the file it points at replaced, never the link.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DurableError> {
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return fs::write(path, bytes).map_err(DurableError::at(path));
    }
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        // Renaming over a link would replace the link (`/dev/stdout` redirected to a file
        // included): replace the file it points at instead.
        let target = fs::canonicalize(path).map_err(DurableError::at(path))?;
        return write_atomically(&target, bytes);
    }
    let tmp = temporary(path);
    let mut file = File::create(&tmp).map_err(DurableError::at(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(DurableError::at(&tmp))?;
    fs::rename(&tmp, path).map_err(DurableError::at(path))?;
    sync_parent(path)
}

/// Moves the directory `staging` into place as `target`, replacing an earlier `target`: the
/// files in `staging` and `staging` itself are synced first, and the parent directory after the
/// rename, so that after a crash `target` is either the old directory or the whole new one. A
/// missing `staging` commits an empty directory.
pub fn commit_dir(staging: &Path, target: &Path) -> Result<(), DurableError> {
    fs::create_dir_all(staging).map_err(DurableError::at(staging))?;
    for entry in fs::read_dir(staging).map_err(DurableError::at(staging))? {
        let path = entry.map_err(DurableError::at(staging))?.path();
        if path.is_file() {
            File::open(&path)
                .and_then(|file| file.sync_all())
                .map_err(DurableError::at(&path))?;
        }
    }
    sync_dir(staging)?;
    if target.exists() {
        fs::remove_dir_all(target).map_err(DurableError::at(target))?;
    }
    fs::rename(staging, target).map_err(DurableError::at(target))?;
    sync_parent(target)
}

/// Syncs a directory, making renames and creations in it durable.
pub fn sync_dir(dir: &Path) -> Result<(), DurableError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(DurableError::at(dir))
}

/// Syncs the directory `path` is in (the current directory for a bare name).
fn sync_parent(path: &Path) -> Result<(), DurableError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    sync_dir(parent.unwrap_or(Path::new(".")))
}

/// The temporary name `path` is written under before its rename: hidden (a leading dot), so
/// that a reader of the directory never mistakes a file a crash left half-written for output.
fn temporary(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_written_to_not_replaced() {
        let null = Path::new("/dev/null");
        write_atomically(null, b"gone").unwrap();
        assert!(
            !fs::metadata(null).unwrap().is_file(),
            "/dev/null became a file"
        );
    }

    #[test]
    fn a_link_has_the_file_it_points_at_replaced_not_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (file, link) = (dir.path().join("file"), dir.path().join("link"));
        fs::write(&file, b"old").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&file).unwrap(), b"new");
    }

    #[test]
    fn a_committed_directory_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out-1000");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("part-00001"), "old").unwrap();
        let staging = dir.path().join("out-1000._temporary");
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join("part-00000"), "new").unwrap();
        commit_dir(&staging, &target).unwrap();
        assert!(!staging.exists());
        assert!(!target.join("part-00001").exists());
        assert_eq!(fs::read(target.join("part-00000")).unwrap(), b"new");
    }
}
