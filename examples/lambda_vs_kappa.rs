//! Lambda and kappa: two ways to keep a view (here, each page's view count) over an
//! append-only log of events, and why both give the same answer.
//!
//! - **Kappa** (Kreps, 2014): one streaming job reads the log from its start and maintains the
//!   view. A code change is a new version of the job replaying the whole log into a new view,
//!   which replaces the old one once it has caught up.
//! - **Lambda** (Marz, 2011): a *batch layer* recomputes the view from the log up to an offset
//!   `X`, a *speed layer* streams what came after `X`, and the *serving layer* answers a query
//!   by adding the two. A code change means a new batch view and a new speed layer.
//!
//! On Sluice both layers and the kappa job are the same dataflow over different slices of the
//! log, so this example runs one view program three times. `sluice compare lambda-kappa` does
//! the full version: a durable event log, a serving store, periodic batch generations, and
//! freshness and reprocessing time measured.
//!
//! ```sh
//! cargo run --release --example lambda_vs_kappa
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice::prelude::*;

/// A view: each key's count.
pub type View = BTreeMap<String, u64>;

/// The view program: each event's page, counted. Version 2 is a code change: it counts
/// pages case-insensitively, and every view must be rebuilt from the log to apply it.
pub fn page_views(events: Stream<'_, String>, version: u32) -> Stream<'_, (String, u64)> {
    events
        .map(move |line| {
            let page = line.split(' ').nth(1).unwrap_or_default();
            match version {
                1 => page.to_string(),
                _ => page.to_lowercase(),
            }
        })
        .count_by_key() // running counts: a streaming job's view is always up to date
}

/// Runs the view program over `log` on `workers` workers to the end of the slice: the view
/// once every event in it has been counted.
pub fn run_view(log: &[String], version: u32, workers: usize) -> Result<View> {
    let log: Arc<Vec<String>> = Arc::new(log.to_vec());
    let view = Collector::new();
    let sink = view.clone();
    execute(Execution::default().workers(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<String> = log.iter().skip(index).step_by(peers).cloned().collect();
        worker.dataflow(|scope| {
            page_views(scope.iterator_source(mine), version)
                .last_by_key()
                .collect_into(&sink);
        });
    })?;
    Ok(view.take().into_iter().collect())
}

/// Kappa: one job over the whole log.
pub fn kappa(log: &[String], version: u32, workers: usize) -> Result<View> {
    run_view(log, version, workers)
}

/// Lambda: the batch view of `log[..batch_end]` plus the speed layer's view of the rest, as
/// the serving layer adds them for each key.
pub fn lambda(log: &[String], batch_end: usize, version: u32, workers: usize) -> Result<View> {
    let batch = run_view(&log[..batch_end], version, workers)?;
    let speed = run_view(&log[batch_end..], version, workers)?;
    let mut served = batch;
    for (page, count) in speed {
        *served.entry(page).or_default() += count;
    }
    Ok(served)
}

/// The log: `user page` events, a few pages in mixed case.
pub fn sample() -> Vec<String> {
    let pages = [
        "Home", "home", "Cart", "Search", "search", "Checkout", "Help",
    ];
    (0..5_000u64)
        .map(|i| {
            let page = pages[((i * 2_654_435_761) >> 7) as usize % pages.len()];
            format!("u{} {page}", i % 97)
        })
        .collect()
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let log = sample();
    let batch_end = log.len() * 3 / 4; // the offset the last batch run stopped at
    for version in [1, 2] {
        let kappa_view = kappa(&log, version, 2)?;
        let lambda_view = lambda(&log, batch_end, version, 2)?;
        println!("version {version}:");
        println!("  kappa: one job over {} events", log.len());
        println!(
            "  lambda: batch over {batch_end} + speed over {}",
            log.len() - batch_end
        );
        for (page, count) in &kappa_view {
            println!(
                "    {page:<9} kappa {count:>5}  lambda {:>5}",
                lambda_view[page]
            );
        }
        assert_eq!(kappa_view, lambda_view, "the two architectures agree");
    }
    Ok(())
}
