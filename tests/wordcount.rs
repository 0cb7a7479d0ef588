//! Word count end to end: the engine's counts equal a plain loop, on 1 worker, 2 workers and
//! 2 processes on loopback — in native mode and in micro-batch mode, which therefore agree.

mod common;

use std::io::Write;

use common::{read, reference_counts, run, sluice};
use sluice::engine::sources::corpus::{Corpus, CorpusSpec};

/// A 200k-line corpus file (the shared corpus, default parameters) and its reference counts.
fn corpus_file(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let path = dir.join("corpus.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    Corpus::new(CorpusSpec::default())
        .write_to(200_000, &mut file)
        .unwrap();
    file.flush().unwrap();
    drop(file);
    let reference = reference_counts(&read(&path));
    (path, reference)
}

#[test]
fn native_word_count_equals_a_plain_loop_on_one_and_two_workers_and_two_processes() {
    word_count_equals_a_plain_loop(&["--mode", "native"]);
}

#[test]
fn minibatch_word_count_equals_a_plain_loop_on_one_and_two_workers_and_two_processes() {
    word_count_equals_a_plain_loop(&["--mode", "minibatch", "--batch-ms", "20"]);
}

fn word_count_equals_a_plain_loop(mode: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (input, reference) = corpus_file(dir.path());
    let input = input.to_str().unwrap();

    for workers in ["1", "2"] {
        let out = dir.path().join(format!("counts-{workers}"));
        let mut args = vec![
            "run",
            "wordcount",
            "--input",
            input,
            "--workers",
            workers,
            "--final-counts",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(mode);
        let result = run(&args);
        assert!(result.status.success(), "{}", common::stderr(&result));
        assert!(
            read(&out) == reference,
            "{mode:?}, {workers} worker(s): counts differ from the plain loop"
        );
    }

    let hosts = common::loopback_hosts(dir.path());
    let out = dir.path().join("counts-2p");
    let hosts = hosts.to_str().unwrap();
    let common_args = [
        "run",
        "wordcount",
        "--input",
        input,
        "--processes",
        "2",
        "--hostfile",
        hosts,
        "--status-every-ms",
        "0",
    ];
    let mut second = sluice()
        .args(common_args)
        .args(mode)
        .args(["--process", "1"])
        .spawn()
        .unwrap();
    let first = sluice()
        .args(common_args)
        .args(mode)
        .args(["--process", "0", "--final-counts", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(second.wait().unwrap().success());
    assert!(first.status.success(), "{}", common::stderr(&first));
    assert!(
        read(&out) == reference,
        "{mode:?}, 2 processes: counts differ from the plain loop"
    );
}

#[test]
fn generated_input_counts_like_the_same_corpus_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.txt");
    let generated = sluice()
        .args(["gen", "corpus", "3000", "--seed", "9", "--vocab", "500"])
        .output()
        .unwrap();
    std::fs::write(&corpus, &generated.stdout).unwrap();
    let reference = reference_counts(&read(&corpus));
    let out = dir.path().join("counts");
    let result = run(&[
        "run",
        "wordcount",
        "--generate",
        "3000",
        "--seed",
        "9",
        "--vocab",
        "500",
        "--workers",
        "2",
        "--final-counts",
        out.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", common::stderr(&result));
    assert_eq!(read(&out), reference);
}
