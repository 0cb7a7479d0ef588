//! Every Spark-derived case passes, on one worker and on two.
//!
//! `data/` holds a copy of the project's shared conformance folder (`../shared/conformance/`):
//! the cases (`spark-dstream-cases.json`), their format (`README.md`) and the Spark semantics
//! they pin (`SEMANTICS.md`), so that the tests and the docs need nothing outside the
//! repository. When the shared folder is there, every copy must match it.

use std::path::{Path, PathBuf};

use sluice_minibatch::conformance::{parse_file, run_cases, run_file};

fn cases_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-dstream-cases.json")
}

#[test]
fn the_copy_matches_the_shared_cases() {
    for name in ["spark-dstream-cases.json", "README.md", "SEMANTICS.md"] {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/conformance")
            .join(name);
        if let Ok(original) = std::fs::read(&shared) {
            let copy = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(name);
            assert_eq!(
                std::fs::read(&copy).unwrap(),
                original,
                "refresh tests/data from {}",
                shared.display()
            );
        }
    }
}

#[test]
fn every_spark_case_passes_on_one_worker() {
    let report = run_file(&cases_file(), 1).unwrap();
    assert!(report.all_passed(), "{report}");
    assert_eq!(report.passed, 34);
}

#[test]
fn every_spark_case_passes_on_two_workers() {
    let report = run_file(&cases_file(), 2).unwrap();
    assert!(report.all_passed(), "{report}");
}

#[test]
fn a_wrong_expectation_is_reported_with_its_batch() {
    let text = std::fs::read_to_string(cases_file()).unwrap();
    let mut cases = parse_file(&text).unwrap();
    cases.retain(|c| c.id == "basic-count");
    cases[0].expected[1][0] = serde_json::json!(99);
    let report = run_cases(cases, 1);
    assert_eq!(report.passed, 0);
    assert!(
        report.failures[0].1.starts_with("batch 2 differs"),
        "{report}"
    );
    assert!(report.to_string().ends_with("0 passed, 1 failed\n"));
}

#[test]
fn malformed_cases_name_the_case_and_field() {
    let bad = r#"{"cases": [{"id": "x", "batch_ms": 1000, "input_partitions": 2, "num_batches": 1,
        "ordered": true, "inputs": [[[1]]], "expected": [[1]],
        "pipeline": {"op": "map", "input": {"src": 0}, "fn": "sum"}}]}"#;
    let err = parse_file(bad).unwrap_err();
    assert!(
        err.contains("case x: pipeline.fn: function \"sum\" cannot be the fn of map"),
        "{err}"
    );
    let err = parse_file(&bad.replace("\"map\"", "\"mop\"")).unwrap_err();
    assert!(err.contains("unknown op \"mop\""), "{err}");
    let good = bad.replace("\"sum\"", "\"to_string\"");
    assert!(parse_file(&good).is_ok());
    let err = parse_file(&good.replace("\"batch_ms\": 1000", "\"batch_ms\": -1")).unwrap_err();
    assert!(err.contains("case x: field batch_ms"), "{err}");
}
