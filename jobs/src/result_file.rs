//! A job's result files: checked before the job runs, written whole when it ends.
//!
//! A result file is not a checkpoint, but it must survive a crash the same way: the engine's
//! atomic write (a temporary file, synced, renamed over the target, the directory synced)
//! leaves either the old file or the new one, never part of one. Errors name the file the user
//! asked for, not the temporary one.

use std::fmt::Display;
use std::io::Write;
use std::path::Path;

use sluice_engine::durable;
use sluice_engine::Error;

/// Fails, naming `path`, if a result could not be written there: checked before the job runs,
/// so that a streaming job does not run for hours to fail at the end. A path that exists must
/// be a regular file: the result replaces it by a rename, which would replace a device
/// (`/dev/stdout`) or a symbolic link rather than write through it.
pub fn check_writable(path: &Path) -> Result<(), Error> {
    let problem = |what: &str| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(what.to_string()),
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => return Err(problem("exists and is not a regular file")),
        Ok(_) => {}
        Err(_) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if parent.is_some_and(|dir| !dir.is_dir()) {
                return Err(problem("its directory does not exist"));
            }
        }
    }
    Ok(())
}

/// Writes `lines`, each ended by a newline, to `path` atomically.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("counts.txt");
/// sluice_jobs::result_file::write_lines(&path, ["a\t1", "b\t2"]).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\t1\nb\t2\n");
/// ```
pub fn write_lines<L: Display>(
    path: &Path,
    lines: impl IntoIterator<Item = L>,
) -> Result<(), Error> {
    let mut out = Vec::new();
    for line in lines {
        writeln!(out, "{line}").expect("writing to memory");
    }
    durable::write_atomically(path, &out).map_err(|error| Error::Write {
        path: path.to_path_buf(),
        source: error.source,
    })
}
