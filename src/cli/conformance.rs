//! `sluice conformance FILE.json`: runs Spark-derived DStream cases against the micro-batch layer.

use std::path::PathBuf;

use clap::Args;

use super::flags;
use super::out::out;

#[derive(Args, Debug)]
pub struct ConformanceArgs {
    /// A case file in the format of minibatch/tests/data/README.md (e.g. the cases there).
    #[arg(value_parser = flags::input_file)]
    pub file: PathBuf,
    /// Worker threads to run each case on.
    #[arg(long, short = 'w', default_value_t = 1, value_parser = flags::workers())]
    pub workers: usize,
}

/// Prints one line per failing case and `N passed, M failed`; fails if any case failed.
pub fn conformance(args: ConformanceArgs) -> Result<(), Box<dyn std::error::Error>> {
    let report = sluice_minibatch::conformance::run_file(&args.file, args.workers)?;
    out!("{report}");
    if report.all_passed() {
        Ok(())
    } else {
        Err(format!("{} conformance case(s) failed", report.failures.len()).into())
    }
}
