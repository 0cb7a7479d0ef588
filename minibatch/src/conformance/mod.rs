//! Running Spark-derived conformance cases against the micro-batch layer.
//!
//! A case file (format: `minibatch/tests/data/README.md`) holds cases derived from Apache Spark's
//! own DStream test suites: a pipeline over input batches and the output Spark produces per
//! batch. [`run_file`] runs each case as Spark's `TestSuiteBase` does — a manual clock, batch
//! *i* at time *i × batch_ms*, each input batch split into contiguous partitions — and compares
//! every output batch. `sluice conformance FILE.json` is the command-line form.
//!
//! ```no_run
//! let report = sluice_minibatch::conformance::run_file("cases.json".as_ref(), 1).unwrap();
//! print!("{report}");
//! ```

mod case;
mod functions;
mod pipeline;
mod value;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

pub use case::{parse_file, Case};
pub use value::Value;

use crate::testing::ManualRun;
use pipeline::{build, Faults};

/// How a run of cases went.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// Failed cases: id and what differed.
    pub failures: Vec<(String, String)>,
}

impl Report {
    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (id, problem) in &self.failures {
            writeln!(f, "FAILED {id}: {problem}")?;
        }
        writeln!(f, "{} passed, {} failed", self.passed, self.failures.len())
    }
}

/// The largest case file read, in bytes: the cases are held in memory as JSON and as values.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads and runs every case of the file at `path` on `workers` workers. Errors name the file,
/// or the case and field that is malformed.
pub fn run_file(path: &Path, workers: usize) -> Result<Report, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{}: {size} bytes is more than the limit of {MAX_FILE_BYTES} for a case file",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let cases = parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(run_cases(cases, workers))
}

/// Runs `cases` on `workers` workers.
pub fn run_cases(cases: Vec<Case>, workers: usize) -> Report {
    let mut report = Report::default();
    for case in cases {
        match run_case(&case, workers) {
            Ok(()) => report.passed += 1,
            Err(problem) => report.failures.push((case.id.clone(), problem)),
        }
    }
    report
}

/// Runs one case; `Err` says where its output first differs from Spark's.
pub fn run_case(case: &Case, workers: usize) -> Result<(), String> {
    let faults = Faults::default();
    let shared = Arc::new(case.clone());
    let seen = faults.clone();
    let batches = ManualRun::new(case.batch_ms)
        .workers(workers)
        .run(case.num_batches, move |graph| {
            let sources: Vec<_> = shared
                .inputs
                .iter()
                .map(|batches| graph.input_batches(batches.clone(), shared.input_partitions))
                .collect();
            build(&shared.pipeline, graph, &sources, &seen)
        })
        .map_err(|e| format!("the run failed: {e}"))?;
    if let Some(fault) = faults.first() {
        return Err(format!("a function failed: {fault}"));
    }
    let actual: Vec<Vec<Json>> = batches
        .into_iter()
        .map(|b| b.collect().iter().map(Value::to_json).collect())
        .collect();
    for (j, (got, want)) in actual.iter().zip(&case.expected).enumerate() {
        if !same_batch(case, got, want) {
            return Err(format!(
                "batch {} differs: expected {}, got {}",
                j + 1,
                Json::from(want.clone()),
                Json::from(got.clone())
            ));
        }
    }
    if actual.len() != case.expected.len() {
        return Err(format!(
            "expected {} output batches, got {}",
            case.expected.len(),
            actual.len()
        ));
    }
    Ok(())
}

/// Whether an output batch matches the expected one under the case's comparison.
fn same_batch(case: &Case, got: &[Json], want: &[Json]) -> bool {
    if let Some(n) = case.partitions {
        let parts: Option<Vec<&Vec<Json>>> = got.iter().map(Json::as_array).collect();
        return match parts {
            Some(parts) if parts.len() == n => {
                let flat: Vec<Json> = parts.into_iter().flatten().cloned().collect();
                multiset(&flat) == multiset(want)
            }
            _ => false,
        };
    }
    if case.ordered {
        got == want
    } else {
        multiset(got) == multiset(want)
    }
}

fn multiset(items: &[Json]) -> Vec<String> {
    let mut keys: Vec<String> = items.iter().map(Json::to_string).collect();
    keys.sort();
    keys
}
