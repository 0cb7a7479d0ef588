//! `sluice conformance FILE.json`: one line per failing case, `N passed, M failed`, exit 1 on any
//! failure or a malformed file.

mod common;

use common::{sluice, stderr};

fn cases() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("minibatch/tests/data/spark-dstream-cases.json")
}

#[test]
fn all_spark_cases_pass_from_the_command_line() {
    for workers in ["1", "2"] {
        let out = sluice()
            .args([
                "conformance",
                cases().to_str().unwrap(),
                "--workers",
                workers,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "34 passed, 0 failed\n"
        );
    }
}

#[test]
fn a_failing_case_is_named_and_the_exit_status_is_1() {
    let dir = tempfile::tempdir().unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cases()).unwrap()).unwrap();
    json["cases"][0]["expected"][2][0] = serde_json::json!("not 9");
    let path = dir.path().join("cases.json");
    std::fs::write(&path, json.to_string()).unwrap();
    let out = sluice()
        .args(["conformance", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("FAILED basic-map: batch 3 differs"),
        "{stdout}"
    );
    assert!(stdout.ends_with("33 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn a_malformed_file_names_the_case_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"cases": [{"id": "c1", "batch_ms": 1000}]}"#).unwrap();
    let out = sluice()
        .args(["conformance", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("case c1: field pipeline: missing"), "{err}");
    assert!(!err.contains("panicked"));
}
