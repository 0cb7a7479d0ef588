//! The Rust corpus generator produces the same bytes as `tests/data/gencorpus.py`, the corpus
//! specification every compared system reads (see `docs/corpus.md`).
//!
//! The digests are of the script's output (`gencorpus.py ARGS | sha256sum`), checked in so that
//! the test needs no Python; when Python is at hand the bytes are also compared directly. The
//! script is a copy of the one in the project's shared folder (`../shared/bench/`); when that
//! folder is there, the copy must match it.

mod common;

use sha2::{Digest, Sha256};

const SCRIPT_DIGESTS: &[(&str, &str)] = &[
    (
        "1000",
        "246778206e896dc970169fdfd5be01ea81dea01fe076dd62e15a92a11fc95bfd",
    ),
    (
        "5000 --seed 7",
        "c3c8ec1dc215690c9bfed71072bd9eecdcc7f3254acba7171002437d15e16266",
    ),
    (
        "2000 --vocab 100 --skew 1.5 --words 7",
        "24af7ccce8a45057b5585b8978c01dc499614d9ead6717c6e69285ac2dddb4b4",
    ),
    (
        "3000 --skew 0.5 --seed 0 --vocab 18279",
        "01ba4be33f09c316dc6bd6aa8d6bede0e80dc2485bf459860969de05e0d13e37",
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn generator_matches_the_shared_script_byte_for_byte() {
    for (args, digest) in SCRIPT_DIGESTS {
        let out = common::sluice()
            .args(["gen", "corpus"])
            .args(args.split(' '))
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            hex(&Sha256::digest(&out.stdout)),
            *digest,
            "sluice gen corpus {args}"
        );
    }
}

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gencorpus.py")
}

#[test]
fn the_script_copy_matches_the_shared_script() {
    let shared =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gencorpus.py");
    if let Ok(original) = std::fs::read(&shared) {
        assert_eq!(
            std::fs::read(script()).unwrap(),
            original,
            "refresh tests/data/gencorpus.py from {}",
            shared.display()
        );
    }
}

#[test]
fn generator_matches_the_script_when_python_is_available() {
    let script = script();
    let Ok(python) = std::process::Command::new("python3")
        .arg(&script)
        .args(["1500", "--seed", "11"])
        .output()
    else {
        return; // no python3 here: the digests above still pin the bytes
    };
    if !python.status.success() {
        return;
    }
    let ours = common::sluice()
        .args(["gen", "corpus", "1500", "--seed", "11"])
        .output()
        .unwrap();
    assert!(
        ours.stdout == python.stdout,
        "sluice gen corpus differs from gencorpus.py"
    );
}
