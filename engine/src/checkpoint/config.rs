//! What a job asks of checkpointing: where, how often, for which program and inputs — and the
//! check that a checkpoint found in the directory is one this job may resume from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Checkpoint, Input};
use crate::error::Error;
use crate::time::Time;

/// Where and how often a job checkpoints, and which program the checkpoints belong to.
///
/// ```
/// use sluice_engine::checkpoint::Checkpointing;
/// let checkpoints = Checkpointing::new("/tmp/wordcount-checkpoints", 1000)
///     .program("wordcount", "input=corpus.txt")
///     .retain(5);
/// ```
#[derive(Clone, Debug)]
pub struct Checkpointing {
    pub(super) dir: PathBuf,
    pub(super) every: Time,
    pub(super) program: String,
    pub(super) fingerprint: String,
    pub(super) inputs: BTreeMap<String, Input>,
    pub(super) retain: usize,
    pub(super) discard: bool,
    pub(super) version: String,
    pub(super) allow_non_restored: bool,
    pub(super) savepoint: Option<PathBuf>,
}

impl Checkpointing {
    /// Checkpoints into `dir` every `every_ms` of stream time.
    pub fn new(dir: impl Into<PathBuf>, every_ms: Time) -> Self {
        Checkpointing {
            dir: dir.into(),
            every: every_ms.max(1),
            program: "program".into(),
            fingerprint: String::new(),
            inputs: BTreeMap::new(),
            retain: 3,
            discard: false,
            version: String::new(),
            allow_non_restored: false,
            savepoint: None,
        }
    }

    /// Names the program and fingerprints its shape and options: a checkpoint is only restored
    /// into a program with the same name and fingerprint.
    pub fn program(mut self, name: &str, fingerprint: &str) -> Self {
        self.program = name.to_string();
        self.fingerprint = fingerprint.to_string();
        self
    }

    /// Records the identity of the input `name` (see [`Input`]): a checkpoint is only restored
    /// over the same inputs, so that its offsets are offsets of what is read.
    pub fn input(mut self, name: &str, input: Input) -> Self {
        self.inputs.insert(name.to_string(), input);
        self
    }

    /// Labels the program's code, e.g. "v2": shown by `sluice checkpoint inspect`, and noted
    /// when a checkpoint of another version is restored. Unlike the fingerprint, a change of
    /// version is no reason to refuse: state is found by operator name (see
    /// [`registry`](super::registry)), so a program whose functions changed, or that gained
    /// stateful operators, resumes from its predecessor's checkpoint.
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.to_string();
        self
    }

    /// Resumes even if the checkpoint holds state of operators the program no longer has,
    /// dropping it (Flink's `--allowNonRestoredState`); without it such a restore is refused,
    /// naming them.
    pub fn allow_non_restored_state(mut self, allow: bool) -> Self {
        self.allow_non_restored = allow;
        self
    }

    /// Resumes from the savepoint (or any checkpoint's epoch directory) at `path` instead of
    /// the directory's newest checkpoint (Flink's `-s`); a damaged one is refused, naming the
    /// file, rather than fallen back from. The run's own checkpoints go to the directory as
    /// usual, and its first commit drops any later epochs there: they were of the timeline
    /// the savepoint leaves.
    pub fn from_savepoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.savepoint = Some(path.into());
        self
    }

    /// Keeps the last `epochs` committed checkpoints.
    pub fn retain(mut self, epochs: usize) -> Self {
        self.retain = epochs.max(1);
        self
    }

    /// Starts afresh even if the directory holds another program's checkpoints (which are
    /// then replaced as new ones are committed).
    pub fn discard_existing(mut self, discard: bool) -> Self {
        self.discard = discard;
        self
    }

    /// The interval in ms of stream time.
    pub fn every(&self) -> Time {
        self.every
    }

    /// Refuses to restore `checkpoint` if it is of another program or was taken over other
    /// inputs; notes a change of version, or of the number of workers (`workers` per process
    /// × `processes`), which the operators' restores then check.
    pub(super) fn check_compatible(
        &self,
        checkpoint: &Checkpoint,
        workers: usize,
        processes: usize,
    ) -> Result<(), Error> {
        let m = &checkpoint.metadata;
        if m.program != self.program || m.fingerprint != self.fingerprint {
            return Err(Error::Config(format!(
                "the checkpoint in {} is of another program ({} [{}]), not {} [{}]; \
                 use another directory, or --discard-checkpoint to start afresh",
                self.dir.display(),
                m.program,
                m.fingerprint,
                self.program,
                self.fingerprint
            )));
        }
        if m.version != self.version {
            eprintln!(
                "sluice: restoring the checkpoint of version {} into version {}",
                shown(&m.version),
                shown(&self.version)
            );
        }
        for (name, input) in &self.inputs {
            let verdict = match m.inputs.get(name) {
                Some(saved) => input.check(saved),
                None => Err(format!(
                    "the checkpoint records no input {name} (it was taken by an older version)"
                )),
            };
            match verdict {
                Ok(None) => {}
                Ok(Some(note)) => eprintln!("sluice: {note}"),
                Err(change) => {
                    return Err(Error::Config(format!(
                        "the checkpoint in {} was taken of another input: {change}; \
                         use another directory, or --discard-checkpoint to start afresh",
                        self.dir.display()
                    )))
                }
            }
        }
        if m.workers != workers * processes {
            // Each state divides as it says (see `rescale`); what cannot be divided refuses
            // as it is restored, naming its operator.
            let count = |n: usize| match n {
                1 => "1 worker".to_string(),
                n => format!("{n} workers"),
            };
            eprintln!(
                "sluice: rescaling the checkpoint of {} to {}",
                count(m.workers),
                count(workers * processes)
            );
        }
        Ok(())
    }
}

/// A version label as shown: "(none)" for none.
fn shown(version: &str) -> &str {
    if version.is_empty() {
        "(none)"
    } else {
        version
    }
}
