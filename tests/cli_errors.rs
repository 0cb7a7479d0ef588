//! Bad input gives one clear error line naming the culprit, a non-zero exit, and no panic.

mod common;

use common::{run, stderr};

fn assert_fails_naming(args: &[&str], culprit: &str) {
    let output = run(args);
    let err = stderr(&output);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(
        err.contains(culprit),
        "{args:?}: the error should name {culprit}: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
}

#[test]
fn missing_input_file() {
    assert_fails_naming(
        &["run", "wordcount", "--input", "/no/such/corpus.txt"],
        "/no/such/corpus.txt",
    );
}

#[test]
fn refused_connection_names_the_address() {
    let port = common::free_port().to_string();
    let address = format!("127.0.0.1:{port}");
    assert_fails_naming(
        &[
            "run",
            "wordcount",
            "--socket",
            &address,
            "--retry-window-ms",
            "300",
        ],
        &address,
    );
}

#[test]
fn malformed_socket_address() {
    assert_fails_naming(
        &["run", "wordcount", "--socket", "nohostport"],
        "nohostport",
    );
}

#[test]
fn missing_directory() {
    assert_fails_naming(
        &["run", "wordcount", "--dir", "/no/such/dir"],
        "/no/such/dir",
    );
}

#[test]
fn bad_flag_and_unknown_job() {
    assert_fails_naming(
        &["run", "wordcount", "--input", "x", "--workers", "many"],
        "--workers",
    );
    assert_fails_naming(&["run", "wordcount", "--input", "x", "--bogus"], "--bogus");
    assert_fails_naming(&["run", "no-such-job", "--input", "x"], "no-such-job");
    assert_fails_naming(&["run", "wordcount"], "--input");
}

#[test]
fn bad_cluster_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "a\n").unwrap();
    let file = file.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--processes", "2", "--process", "5"], "--process 5"),
        (&["--workers", "0"], "--workers"),
        (
            &["--processes", "2", "--hostfile", "/no/hosts"],
            "/no/hosts",
        ),
    ];
    for (flags, culprit) in cases {
        let mut args = vec!["run", "wordcount", "--input", file];
        args.extend_from_slice(flags);
        assert_fails_naming(&args, culprit);
    }
}
