//! Micro-batch vs native on the same data: each page's running view count, computed once
//! record at a time and once in Spark-style micro-batches.
//!
//! Both modes run the same engine. In native mode a record is counted at the moment it
//! arrives, so every update is visible at its arrival time. In micro-batch mode records are
//! grouped into batches of `INTERVAL_MS` and each batch's counts become visible together at
//! the batch's end: fewer, larger updates, each up to one interval late. The final counts are
//! the same — the modes differ in *when* results appear, not in what they are.
//!
//! Both runs replay the arrivals at their recorded times (the micro-batch run under a manual
//! clock), so the delays printed are the ones each model adds, free of machine noise;
//! `sluice bench` measures wall-clock latency and throughput of both modes.
//!
//! ```sh
//! cargo run --release --example minibatch_vs_native
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;

use sluice::minibatch::testing::ManualRun;
use sluice::prelude::*;

/// The micro-batch interval (ms).
pub const INTERVAL_MS: Time = 500;

/// A page view: when it arrived (ms since the start) and which page.
pub type Arrival = (Time, String);

/// `(time, page, count)`: the page's running count, as visible from `time` on.
pub type Update = (Time, String, u64);

/// Native mode: each page's running count, updated as each view arrives.
pub fn native(arrivals: &[Arrival], workers: usize) -> Result<Vec<Update>, Box<dyn Error>> {
    let arrivals = Arc::new(arrivals.to_vec());
    let updates = Collector::new();
    let sink = updates.clone();
    execute(Execution::default().workers(workers), move |worker| {
        // Worker 0 reads the arrivals, in order, as from one socket; the pages are counted
        // on the worker that owns each.
        let mine = if worker.index() == 0 {
            arrivals.to_vec()
        } else {
            Vec::new()
        };
        worker.dataflow(|scope| {
            scope
                .timed_source(mine) // each page at its arrival time
                .count_by_key()
                .with_processing_time()
                .map(|(time, (page, count))| (time, page, count))
                .collect_into(&sink);
        });
    })?;
    Ok(updates.take())
}

/// Micro-batch mode: each page's running count as of the end of every batch (Spark's
/// `updateStateByKey`).
pub fn minibatch(arrivals: &[Arrival], workers: usize) -> Result<Vec<Update>, Box<dyn Error>> {
    let last = arrivals.iter().map(|(t, _)| *t).max().unwrap_or(0);
    // Batch i (1-based) ends at i × interval and holds the arrivals before it.
    let mut batches = vec![Vec::new(); (last / INTERVAL_MS + 1) as usize];
    for (t, page) in arrivals {
        batches[(t / INTERVAL_MS) as usize].push(page.clone());
    }
    let batches: Vec<Option<Vec<String>>> = batches.into_iter().map(Some).collect();
    let n = batches.len();
    let out = ManualRun::new(INTERVAL_MS)
        .workers(workers)
        .run(n, move |graph| {
            graph
                .input_batches(batches.clone(), 2)
                .map(|page| (page, 1u64))
                .update_state_by_key(|new: Vec<u64>, count: Option<u64>| {
                    Some(count.unwrap_or(0) + new.iter().sum::<u64>())
                })
        })?;
    Ok(out
        .into_iter()
        .flat_map(|b| {
            let time = b.time();
            b.collect()
                .into_iter()
                .map(move |(page, n)| (time, page, n))
        })
        .collect())
}

/// Each page's final count: its largest running count.
pub fn final_counts(updates: &[Update]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (_, page, n) in updates {
        let count = counts.entry(page.clone()).or_insert(0);
        *count = (*count).max(*n);
    }
    counts
}

/// For each arrival, how long until an update counts it (ms): from its arrival to the first
/// update of its page whose count includes it (a page's counts follow its arrivals' order, as
/// one reader sends them).
pub fn delays(arrivals: &[Arrival], updates: &[Update]) -> Vec<Time> {
    let mut by_page: BTreeMap<&str, Vec<(Time, u64)>> = BTreeMap::new();
    for (t, page, n) in updates {
        by_page.entry(page).or_default().push((*t, *n));
    }
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sorted: Vec<&Arrival> = arrivals.iter().collect();
    sorted.sort_by_key(|(t, _)| *t);
    sorted
        .into_iter()
        .map(|(at, page)| {
            let count = seen.entry(page.as_str()).or_insert(0);
            *count += 1; // this view is the page's count-th
            let k = *count;
            let counted = by_page[page.as_str()].iter().filter(|(_, n)| *n >= k);
            counted
                .map(|(t, _)| *t)
                .min()
                .expect("every view is counted")
                - at
        })
        .collect()
}

/// Ten seconds of page views, one every 5 to 7 ms.
pub fn sample() -> Vec<Arrival> {
    let pages = ["home", "search", "cart", "checkout", "help"];
    (0..2_000u64)
        .map(|i| {
            let page = pages[((i * 2_654_435_761) >> 9) as usize % pages.len()];
            (i * 5 + i % 3, page.to_string())
        })
        .collect()
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let arrivals = sample();
    for (mode, updates) in [
        ("native", native(&arrivals, 2)?),
        ("micro-batch", minibatch(&arrivals, 2)?),
    ] {
        let delays = delays(&arrivals, &updates);
        let mean = delays.iter().sum::<Time>() as f64 / delays.len() as f64;
        let max = delays.iter().max().copied().unwrap_or(0);
        println!(
            "{mode}: {} updates for {} views; delay until counted: mean {mean:.0} ms, max {max} ms",
            updates.len(),
            arrivals.len()
        );
        println!("  final counts: {:?}", final_counts(&updates));
    }
    Ok(())
}
