//! Exactly-once text output: one file per epoch and worker, written whole.
//!
//! Records are kept until the frontier passes the end of their epoch (a multiple of the
//! checkpoint interval, or of the interval given when the job does not checkpoint); then the
//! epoch's records, as sorted lines, go to `dir/epoch-<end>-w<worker>.txt` through a temporary
//! file and a rename. A file is thus complete or absent, never partial; and it is written
//! before the sink's part of the epoch's checkpoint, so a committed checkpoint implies its
//! files. After a failure the job resumes from a checkpoint and recomputes the epochs after it:
//! their files are rewritten with the same bytes (the sort makes the content independent of
//! arrival order). Reading the directory's `epoch-*.txt` files in name order gives the output
//! once; a file being written is hidden (`.epoch-….tmp-PID`), and one a crash left behind is
//! never renamed into place.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::checkpoint::{frame, EpochGate};
use crate::error::Error;
use crate::execution::JobContext;
use crate::stream::Stream;
use crate::time::Time;

pub(super) fn write_epochs<D: Display + 'static>(stream: Stream<'_, D>, dir: &Path, every: Time) {
    let scope = stream.scope();
    let job = JobContext::of(scope);
    let every = job.checkpoints().map_or(every, |c| c.every()).max(1);
    let worker = scope.index();
    let dir = dir.to_path_buf();
    if let Err(source) = std::fs::create_dir_all(&dir) {
        job.fail(Error::Write {
            path: dir.clone(),
            source,
        });
    }
    stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "WriteEpochs",
        move |initial, info| {
            drop(initial);
            // Its checkpoint part is empty: what is before an epoch is written when the epoch is
            // saved, and what is after it will be recomputed from the checkpoint.
            let mut gate: EpochGate<()> = EpochGate::new(scope, "WriteEpochs", &info.address);
            // Lines by the end of their epoch.
            let mut pending: BTreeMap<Time, Vec<String>> = BTreeMap::new();
            move |(input, frontier), _| {
                input.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let lines = pending.entry((t / every + 1) * every).or_default();
                    for batch in data {
                        lines.extend(batch.drain(..).map(|record| record.to_string()));
                    }
                });
                // The epochs whose records are all in: every time before their end has passed.
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_than(entry.key()) {
                        break;
                    }
                    let (end, lines) = entry.remove_entry();
                    if let Err(error) = write_epoch(&path_of(&dir, end, worker), lines) {
                        job.fail(error);
                    }
                }
                while let Some(epoch) = gate.due(frontier) {
                    gate.save(epoch, &(), frontier);
                }
            }
        },
    );
}

/// The file of `epoch` on `worker`.
fn path_of(dir: &Path, epoch: Time, worker: usize) -> PathBuf {
    dir.join(format!("epoch-{epoch:020}-w{worker:05}.txt"))
}

/// Writes an epoch's lines, sorted, atomically.
fn write_epoch(path: &Path, mut lines: Vec<String>) -> Result<(), Error> {
    lines.sort_unstable();
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    frame::write_atomically(path, &bytes).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}
