//! What a checkpoint was taken *of*: the identity of each input.
//!
//! A checkpoint holds state and source offsets as of an epoch; restored over a different input
//! it resumes at an offset of another file and yields counts that are silently wrong. So every
//! checkpoint records a fingerprint of each input, and a restore compares them first:
//!
//! - a **file**: its canonical path, its size, and a CRC32 of sampled blocks (its first, middle
//!   and last 64 KiB) — the same file named two ways (`F`, `./F`, through a link) is the same
//!   input; a file of another size or content is not, wherever it lies;
//! - an **event log**: its identity (the id its writer gave it when it was created) and its
//!   canonical path — `Input::log` is defined with the log, which sits above checkpoints;
//! - a **directory** (a watched one) by its canonical path, a **socket** by its address, a
//!   **generator** by its settings.
//!
//! A mismatch is refused with a message naming the input and what changed; only a file that
//! moved with its content intact is accepted (with a note).
//!
//! ```
//! use sluice_engine::checkpoint::Input;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("words.txt");
//! std::fs::write(&path, "a b c\n").unwrap();
//! let saved = Input::file(&path).unwrap();
//! let same = Input::file(dir.path().join(".").join("words.txt")).unwrap();
//! assert!(same.check(&saved).is_ok());
//! std::fs::write(&path, "a b c d\n").unwrap();
//! let error = Input::file(&path).unwrap().check(&saved).unwrap_err();
//! assert!(error.contains("6 bytes") && error.contains("8 bytes"), "{error}");
//! ```

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Bytes of each block a file's fingerprint samples.
const BLOCK: u64 = 64 << 10;

/// One input's identity, as a checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Input {
    /// A file read once.
    File {
        /// Its canonical path: the same file named two ways is one input.
        path: PathBuf,
        /// Its size in bytes.
        bytes: u64,
        /// CRC32 of the sampled blocks.
        sample_crc: u32,
    },
    /// An event log.
    Log {
        /// The log directory's canonical path.
        path: PathBuf,
        /// The identity its writer gave it when it was created; `None` for a log without one,
        /// which only ever matches itself at the same path.
        id: Option<String>,
    },
    /// A directory watched for new files.
    Directory {
        /// The directory's canonical path.
        path: PathBuf,
    },
    /// A TCP server.
    Socket {
        /// Its `host:port`, as given.
        address: String,
    },
    /// A broker's stream, by its URL (`redis://HOST:PORT/KEY`, `nats://HOST:PORT/STREAM`).
    Broker {
        /// The URL, as given.
        url: String,
    },
    /// Generated input, by its settings.
    Generated {
        /// The generator's settings in one line (what `sluice run` was told to generate and
        /// the corpus spec): the same settings generate the same records.
        settings: String,
    },
}

impl Input {
    /// The identity of the file at `path`.
    pub fn file(path: impl AsRef<Path>) -> Result<Input, Error> {
        let path = path.as_ref();
        let read_error = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let canonical = path.canonicalize().map_err(read_error)?;
        let mut file = std::fs::File::open(&canonical).map_err(read_error)?;
        let bytes = file.metadata().map_err(read_error)?.len();
        let mut crc = crc32fast::Hasher::new();
        let mut block = Vec::new();
        let mut starts = vec![
            0,
            bytes.saturating_sub(BLOCK) / 2,
            bytes.saturating_sub(BLOCK),
        ];
        starts.dedup();
        for start in starts {
            block.clear();
            file.seek(SeekFrom::Start(start)).map_err(read_error)?;
            (&mut file)
                .take(BLOCK)
                .read_to_end(&mut block)
                .map_err(read_error)?;
            crc.update(&block);
        }
        Ok(Input::File {
            path: canonical,
            bytes,
            sample_crc: crc.finalize(),
        })
    }

    /// The identity of the watched directory `dir`.
    pub fn directory(dir: impl AsRef<Path>) -> Result<Input, Error> {
        Ok(Input::Directory {
            path: canonical(dir.as_ref())?,
        })
    }

    /// The identity of the TCP server at `address`.
    pub fn socket(address: &str) -> Input {
        Input::Socket {
            address: address.to_string(),
        }
    }

    /// The identity of the broker stream at `url`.
    pub fn broker(url: &str) -> Input {
        Input::Broker {
            url: url.to_string(),
        }
    }

    /// The identity of generated input with these settings.
    pub fn generated(settings: impl Into<String>) -> Input {
        Input::Generated {
            settings: settings.into(),
        }
    }

    /// Whether this input is the one a checkpoint recorded as `saved`: `Ok` with an optional
    /// note (a file that moved with its content intact), or `Err` saying what changed.
    pub fn check(&self, saved: &Input) -> Result<Option<String>, String> {
        use Input::*;
        match (self, saved) {
            (now, saved) if now == saved => Ok(None),
            (
                File {
                    path,
                    bytes,
                    sample_crc,
                },
                File {
                    path: was,
                    bytes: was_bytes,
                    sample_crc: was_crc,
                },
            ) => {
                if bytes != was_bytes {
                    Err(format!(
                        "{} has {bytes} bytes; the checkpoint was taken of {} with {was_bytes} bytes",
                        path.display(),
                        was.display()
                    ))
                } else if sample_crc != was_crc {
                    Err(format!(
                        "{} has other content than {} had when the checkpoint was taken",
                        path.display(),
                        was.display()
                    ))
                } else {
                    Ok(Some(format!(
                        "{} was {} when the checkpoint was taken (same size and content)",
                        path.display(),
                        was.display()
                    )))
                }
            }
            (
                Log { path, id },
                Log {
                    path: was,
                    id: was_id,
                },
            ) => match (id, was_id) {
                (Some(id), Some(was_id)) if id == was_id => Ok(Some(format!(
                    "event log {id} was at {} when the checkpoint was taken",
                    was.display()
                ))),
                (Some(id), Some(was_id)) => Err(format!(
                    "{} is event log {id}; the checkpoint was taken of log {was_id} at {}",
                    path.display(),
                    was.display()
                )),
                _ => Err(format!(
                    "{} is not the event log the checkpoint was taken of ({})",
                    path.display(),
                    was.display()
                )),
            },
            (now, saved) => Err(format!(
                "the input is {}; the checkpoint was taken of {}",
                now.describe(),
                saved.describe()
            )),
        }
    }

    /// The input in a few words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Input::File { path, bytes, .. } => {
                format!("file {} ({bytes} bytes)", path.display())
            }
            Input::Log { path, .. } => format!("event log {}", path.display()),
            Input::Directory { path } => format!("directory {}", path.display()),
            Input::Socket { address } => format!("socket {address}"),
            Input::Broker { url } => format!("broker stream {url}"),
            Input::Generated { settings } => format!("generated input ({settings})"),
        }
    }
}

fn canonical(path: &Path) -> Result<PathBuf, Error> {
    path.canonicalize().map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}
