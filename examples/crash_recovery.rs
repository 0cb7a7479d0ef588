//! Recovery after a crash: a word count that checkpoints as it runs is aborted half-way, run
//! again with the same checkpoint directory, and ends with exactly the counts of a run that
//! never failed — no line lost, none counted twice.
//!
//! Every `EVERY_MS` of stream time the job takes a consistent checkpoint: each operator's
//! state (here the running counts) and each source's offsets (here which generator lines each
//! worker has produced), committed together. A restarted job restores the newest committed
//! checkpoint and replays its sources from those offsets, so the lines read after it are read
//! again and counted once. The source must be replayable for that: a generator whose line `i`
//! can be made again, a file, or the event log — not a socket.
//!
//! The crash here is an in-process abort (`JobContext::abort`: stop at once, finish and write
//! nothing), so that the example needs no second process; `sluice run wordcount` survives a
//! real `kill -9` the same way (see `tests/recovery.rs`).
//!
//! ```sh
//! cargo run --release --example crash_recovery
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sluice::engine::checkpoint::Checkpointing;
use sluice::engine::sources::generator::Lines;
use sluice::engine::sources::Generator;
use sluice::prelude::*;

/// Lines in the input.
pub const LINES: u64 = 20_000;
/// How fast the lines come: a run takes about a second, long enough to checkpoint a few times.
pub const LINES_PER_SECOND: f64 = 20_000.0;
/// The checkpoint interval (ms of stream time).
pub const EVERY_MS: Time = 100;

/// The input: line `i` is a few words picked by a hash of `i`, so it can be made again.
#[derive(Debug)]
pub struct Words;

impl Lines for Words {
    fn write_line(&self, index: u64, out: &mut String) {
        const WORDS: [&str; 8] = ["to", "be", "or", "not", "that", "is", "the", "question"];
        let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D;
        for k in 0..(2 + index % 4) {
            x = x.rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            out.push_str(if k == 0 { "" } else { " " });
            out.push_str(WORDS[(x >> 61) as usize]);
        }
    }
}

/// What one run of the job did.
pub struct Run {
    /// The final counts, sorted by word; `None` if the job crashed, as a crashed process's
    /// results are lost with it.
    pub counts: Option<Vec<(String, u64)>>,
    /// How many lines this run read: fewer than [`LINES`] when it resumed from a checkpoint.
    pub lines_read: u64,
}

/// Runs the word count on 2 workers, checkpointing into `checkpoints` (and resuming from the
/// newest checkpoint there, if any). With `crash_after`, the job aborts once it has read that
/// many lines and a checkpoint has been committed.
pub fn word_count(checkpoints: &Path, crash_after: Option<u64>) -> Result<Run> {
    let execution = Execution::default()
        .workers(2)
        .checkpointing(Checkpointing::new(checkpoints, EVERY_MS).program("crash-recovery", "v1"));
    let generator = Generator::of(Arc::new(Words))
        .lines(LINES)
        .rate(LINES_PER_SECOND);
    let committed = checkpoints.join("LATEST"); // written when a checkpoint commits
    let (lines_read, crashed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let counts = Collector::new();
    let sink = counts.clone();
    let (reads, crashes) = (lines_read.clone(), crashed.clone());
    execute(execution, move |worker| {
        let (job, read, crashed, committed) = (
            worker.job(),
            reads.clone(),
            crashes.clone(),
            committed.clone(),
        );
        worker.dataflow(|scope| {
            scope
                .generate(&generator)
                .inspect(move |_| {
                    let n = read.fetch_add(1, Ordering::SeqCst) + 1;
                    let due = crash_after.is_some_and(|after| n >= after) && committed.exists();
                    if due && crashed.fetch_add(1, Ordering::SeqCst) == 0 {
                        job.abort(); // the crash: stop now, finish nothing
                    }
                })
                .count_keys_with(|line: String, words| {
                    line.split_ascii_whitespace().for_each(|w| words.add(w, 1))
                })
                .last_by_key()
                .collect_into(&sink);
        });
    })?;
    let mut counts = counts.take();
    counts.sort();
    Ok(Run {
        counts: (crashed.load(Ordering::SeqCst) == 0).then_some(counts),
        lines_read: lines_read.load(Ordering::SeqCst),
    })
}

/// The counts a plain loop finds in the input.
pub fn plain_loop() -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..LINES {
        for word in Words.line(i).split_ascii_whitespace() {
            *counts.entry(word.to_string()).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let checkpoints =
        std::env::temp_dir().join(format!("sluice-crash-recovery-{}", std::process::id()));
    let first = word_count(&checkpoints, Some(LINES / 2))?;
    match first.counts {
        None => println!("first run: crashed after {} lines", first.lines_read),
        Some(_) => println!("first run: ended before a checkpoint was committed, no crash"),
    }
    let second = word_count(&checkpoints, None)?;
    let counts = second.counts.expect("the second run does not crash");
    println!(
        "second run: resumed from the checkpoint, read the {} lines after it",
        second.lines_read
    );
    for (word, count) in &counts {
        println!("  {word:<9} {count}");
    }
    println!(
        "equal to a plain loop over the input: {}",
        counts == plain_loop()
    );
    std::fs::remove_dir_all(&checkpoints)?;
    Ok(())
}
