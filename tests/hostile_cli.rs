//! Hostile input to the command line: a table of bad invocations, each of which must end
//! within a time limit with a non-zero exit and one line on stderr naming the flag, file or
//! address at fault — no panic, no screens of output, no run that goes on forever. Then
//! hostile servers for the socket source, signals, and a closed standard output.

mod common;

use std::io::{BufRead, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{output_within, reference_counts, sluice, stderr};

/// How long any bad invocation may take before it counts as running forever.
const LIMIT: Duration = Duration::from_secs(20);

/// The files the table refers to, as placeholders in its arguments.
struct Fixtures {
    _dir: tempfile::TempDir,
    /// `{file}`: a small text file.
    file: String,
    /// `{dir}`: a directory.
    dir: String,
    /// `{cases}`: a valid conformance case file.
    cases: String,
    /// `{free}`: a loopback address nobody listens on.
    free: String,
    /// `{truncated}`, `{huge_batches}`, …: bad conformance files, by name.
    bad_cases: Vec<(&'static str, String)>,
}

impl Fixtures {
    fn new() -> Fixtures {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.txt");
        std::fs::write(&file, "a b\nc\n").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let cases = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("minibatch/tests/data/spark-dstream-cases.json");
        let text = std::fs::read_to_string(&cases).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let with = |field: &str, value: serde_json::Value| {
            let mut json = json.clone();
            json["cases"][0][field] = value;
            json.to_string()
        };
        let variants = [
            ("truncated", text[..text.len() / 2].to_string()),
            ("empty", String::new()),
            ("no_cases", "{\"version\": 1}".to_string()),
            (
                "huge_batches",
                with("num_batches", serde_json::json!(100_000_000u64)),
            ),
            ("zero_batches", with("num_batches", serde_json::json!(0))),
            (
                "huge_batch_ms",
                with("batch_ms", serde_json::json!(u64::MAX)),
            ),
            (
                "huge_partitions",
                with("input_partitions", serde_json::json!(1_000_000)),
            ),
            ("negative_batch_ms", with("batch_ms", serde_json::json!(-5))),
            // Not a conformance file: a Nexmark options file with a bad third line.
            (
                "bad_options",
                "# options\n\nbid.proportion = 0\n".to_string(),
            ),
        ];
        let bad_cases = variants
            .into_iter()
            .map(|(name, text)| {
                let path = dir.path().join(format!("{name}.json"));
                std::fs::write(&path, text).unwrap();
                (name, path.to_str().unwrap().to_string())
            })
            .collect();
        Fixtures {
            file: file.to_str().unwrap().to_string(),
            dir: sub.to_str().unwrap().to_string(),
            cases: cases.to_str().unwrap().to_string(),
            free: format!("127.0.0.1:{}", common::free_port()),
            bad_cases,
            _dir: dir,
        }
    }

    /// `text` with its placeholders filled in.
    fn fill(&self, text: &str) -> String {
        let mut text = text
            .replace("{file}", &self.file)
            .replace("{dir}", &self.dir)
            .replace("{cases}", &self.cases)
            .replace("{free}", &self.free);
        for (name, path) in &self.bad_cases {
            text = text.replace(&format!("{{{name}}}"), path);
        }
        text
    }
}

/// One bad invocation: its arguments and what its error must name.
type Case = (&'static [&'static str], &'static str);

/// Bad invocations of `sluice run wordcount --input {file}` plus the flags shown.
#[rustfmt::skip]
const WORDCOUNT_FLAGS: &[Case] = &[
    (&["--workers", "0"], "--workers"),
    (&["--workers", "-1"], "--workers"),
    (&["--workers", "10000"], "--workers"),
    (&["--workers", "many"], "--workers"),
    (&["--workers", "1.5"], "--workers"),
    (&["--workers", "99999999999999999999"], "--workers"),
    (&["--processes", "0"], "--processes"),
    (&["--processes", "5000"], "--processes"),
    (&["--process", "-1"], "--process"),
    (&["--processes", "2", "--process", "5"], "--process 5"),
    (&["--processes", "2", "--hostfile", "/no/hosts"], "/no/hosts"),
    (&["--mode", "minibatch", "--batch-ms", "0"], "--batch-ms"),
    (&["--mode", "minibatch", "--batch-ms", "-5"], "--batch-ms"),
    (&["--mode", "minibatch", "--batch-ms", "86400001"], "--batch-ms"),
    (&["--mode", "minibatch", "--batch-ms", "9223372036854775808"], "--batch-ms"),
    (&["--mode", "minibatch", "--batch-ms", "NaN"], "--batch-ms"),
    (&["--batch-ms", "100"], "--batch-ms"),
    (&["--mode", "sideways"], "--mode"),
    (&["--status-every-ms", "-1"], "--status-every-ms"),
    (&["--status-every-ms", "99999999999"], "--status-every-ms"),
    (&["--status-every-ms", "often"], "--status-every-ms"),
    (&["--checkpoint-every", "100"], "--checkpoint-dir"),
    (&["--discard-checkpoint"], "--checkpoint-dir"),
    (&["--checkpoint-dir", "{dir}", "--checkpoint-every", "0"], "--checkpoint-every"),
    (&["--checkpoint-dir", "{dir}", "--checkpoint-every", "-1"], "--checkpoint-every"),
    (&["--checkpoint-dir", "{dir}", "--checkpoint-every", "86400001"], "--checkpoint-every"),
    (&["--checkpoint-dir", "{file}"], "{file}"),
    (&["--rate", "100"], "--rate"),
    (&["--seed", "3"], "--seed"),
    (&["--vocab", "10"], "--vocab"),
    (&["--retry-window-ms", "100"], "--retry-window-ms"),
    (&["--write-ahead-log", "{dir}"], "--write-ahead-log"),
    (&["--follow"], "--follow"),
    (&["--socket", "{free}"], "--socket"),
    (&["--generate", "10"], "--generate"),
    (&["--final-counts", "/no/such/dir/counts"], "/no/such/dir/counts"),
    (&["--final-counts", "{dir}"], "{dir}"),
    (&["--bogus"], "--bogus"),
    (&["--ui", "nonsense"], "--ui"),
    (&["--ui", "127.0.0.1:99999"], "--ui"),
    (&["--ui", "-1"], "--ui"),
    (&["--ui", ":4040"], "--ui"),
    (&["--ui", "192.0.2.1:4040"], "--ui"),
    (&["--backpressure"], "--backpressure"),
    (&["--slow-line-us", "0"], "--slow-line-us"),
    (&["--slow-line-us", "-5"], "--slow-line-us"),
    (&["--slow-line-us", "NaN"], "--slow-line-us"),
    (&["--metrics-out", "/no/such/dir/m.json"], "/no/such/dir/m.json"),
];

/// Bad invocations of `sluice run wordcount --generate 10` plus the flags shown.
#[rustfmt::skip]
const GENERATE_FLAGS: &[Case] = &[
    (&["--rate", "0"], "--rate"),
    (&["--rate", "-1"], "--rate"),
    (&["--rate", "NaN"], "--rate"),
    (&["--rate", "inf"], "--rate"),
    (&["--rate", "-inf"], "--rate"),
    (&["--rate", "-NaN"], "--rate"),
    (&["--rate", "1e25"], "--rate"),
    (&["--rate", "fast"], "--rate"),
    (&["--vocab", "0"], "--vocab"),
    (&["--vocab", "99999999999"], "--vocab"),
    (&["--skew", "NaN"], "--skew"),
    (&["--skew", "inf"], "--skew"),
    (&["--skew", "-1"], "--skew"),
    (&["--skew", "steep"], "--skew"),
    (&["--words", "0"], "--words"),
    (&["--words", "100000"], "--words"),
    (&["--seed", "-1"], "--seed"),
    (&["--seed", "x"], "--seed"),
];

/// Whole invocations.
#[rustfmt::skip]
const INVOCATIONS: &[Case] = &[
    // Sources: missing, of the wrong kind, malformed addresses.
    (&["run", "wordcount"], "--input"),
    (&["run", "wordcount", "--input", "/no/such/in.txt"], "/no/such/in.txt"),
    (&["run", "wordcount", "--input", "{dir}"], "{dir}"),
    (&["run", "wordcount", "--input", "/dev/zero"], "/dev/zero"),
    (&["run", "wordcount", "--input", "{file}/x"], "{file}/x"),
    (&["run", "wordcount", "--input", ""], "--input"),
    (&["run", "wordcount", "--dir", "/no/such/dir"], "/no/such/dir"),
    (&["run", "wordcount", "--dir", "{file}"], "{file}"),
    (&["run", "wordcount", "--log", "/no/such/log"], "/no/such/log"),
    (&["run", "wordcount", "--log", "{file}"], "{file}"),
    (&["run", "wordcount", "--socket", "host"], "host"),
    (&["run", "wordcount", "--socket", "host:99999"], "host:99999"),
    (&["run", "wordcount", "--socket", ":"], "':'"),
    (&["run", "wordcount", "--socket", ""], "--socket"),
    (&["run", "wordcount", "--socket", ":80"], ":80"),
    (&["run", "wordcount", "--socket", "127.0.0.1:"], "127.0.0.1:"),
    (&["run", "wordcount", "--socket", "127.0.0.1:http"], "127.0.0.1:http"),
    (&["run", "wordcount", "--socket", "{free}", "--retry-window-ms", "-1"], "--retry-window-ms"),
    (&["run", "wordcount", "--socket", "{free}", "--retry-window-ms", "99999999999"], "--retry-window-ms"),
    (&["run", "wordcount", "--socket", "{free}", "--retry-window-ms", "soon"], "--retry-window-ms"),
    (&["run", "wordcount", "--generate", "-1"], "--generate"),
    (&["run", "wordcount", "--generate", "1e3"], "--generate"),
    (&["run", "wordcount", "--generate", "99999999999999999999"], "--generate"),
    (&["run", "wordcount", "--generate", "10", "--input", "{file}"], "--input"),
    (&["run", "no-such-job"], "no-such-job"),
    (&["no-such-command"], "no-such-command"),
    // Hashtags.
    (&["run", "hashtags", "--window", "0"], "--window"),
    (&["run", "hashtags", "--window", "0s"], "--window"),
    (&["run", "hashtags", "--window", "-1s"], "--window"),
    (&["run", "hashtags", "--window", "5h"], "--window"),
    (&["run", "hashtags", "--window", "2000m"], "--window"),
    (&["run", "hashtags", "--window", "999999999999999999m"], "--window"),
    (&["run", "hashtags", "--slide", "soon"], "--slide"),
    (&["run", "hashtags", "--window", "7s", "--slide", "5s"], "--window"),
    (&["run", "hashtags", "--tweets", "0"], "--tweets"),
    (&["run", "hashtags", "--tweets", "-1"], "--tweets"),
    (&["run", "hashtags", "--tweets", "1000000000000"], "--tweets"),
    (&["run", "hashtags", "--tweets-per-second", "0"], "--tweets-per-second"),
    (&["run", "hashtags", "--tweets-per-second", "NaN"], "--tweets-per-second"),
    (&["run", "hashtags", "--tweets-per-second", "inf"], "--tweets-per-second"),
    (&["run", "hashtags", "--hashtags", "0"], "--hashtags"),
    (&["run", "hashtags", "--hashtags", "99999999999"], "--hashtags"),
    (&["run", "hashtags", "--disorder-ms", "-1"], "--disorder-ms"),
    (&["run", "hashtags", "--disorder-ms", "99999999999"], "--disorder-ms"),
    (&["run", "hashtags", "--lateness-ms", "1e3"], "--lateness-ms"),
    (&["run", "hashtags", "--late-fraction", "1.5"], "--late-fraction"),
    (&["run", "hashtags", "--late-fraction", "-0.1"], "--late-fraction"),
    (&["run", "hashtags", "--late-fraction", "NaN"], "--late-fraction"),
    (&["run", "hashtags", "--late-fraction", "-inf"], "--late-fraction"),
    (&["run", "hashtags", "--top", "-1"], "--top"),
    (&["run", "hashtags", "--batch-ms", "100"], "--batch-ms"),
    (&["run", "hashtags", "--mode", "minibatch", "--batch-ms", "0"], "--batch-ms"),
    (&["run", "hashtags", "--mode", "minibatch", "--batch-ms", "7000"], "--batch-ms"),
    (&["run", "hashtags", "--workers", "0"], "--workers"),
    (&["run", "hashtags", "--tweets", "100", "--output", "{dir}"], "{dir}"),
    (&["run", "hashtags", "--tweets", "100", "--output", "/no/such/dir/out"], "/no/such/dir/out"),
    // Windowcount (its shared flags).
    (&["run", "windowcount", "--input", "/no/such/in.txt", "--output", "{dir}"], "/no/such/in.txt"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--window-ms", "0"], "--window-ms"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--workers", "10000"], "--workers"),
    // The benchmark.
    (&["bench", "--rates", "0"], "--rates"),
    (&["bench", "--rates", "NaN"], "--rates"),
    (&["bench", "--rates", "inf"], "--rates"),
    (&["bench", "--rates", "1e25"], "--rates"),
    (&["bench", "--rates", "10000,-1"], "--rates"),
    (&["bench", "--rates", "many"], "--rates"),
    (&["bench", "--seconds", "0"], "--seconds"),
    (&["bench", "--seconds", "NaN"], "--seconds"),
    (&["bench", "--seconds", "inf"], "--seconds"),
    (&["bench", "--seconds", "1e9"], "--seconds"),
    (&["bench", "--warmup", "-1"], "--warmup"),
    (&["bench", "--warmup", "NaN"], "--warmup"),
    (&["bench", "--seconds", "1", "--warmup", "2"], "--warmup"),
    (&["bench", "--lines", "-1"], "--lines"),
    (&["bench", "--lines", "100000000000"], "--lines"),
    (&["bench", "--runs", "0"], "--runs"),
    (&["bench", "--runs", "1000000"], "--runs"),
    (&["bench", "--workers", "0"], "--workers"),
    (&["bench", "--workers", "2,10000"], "--workers"),
    (&["bench", "--modes", "0"], "--modes"),
    (&["bench", "--modes", "native,86400001"], "--modes"),
    (&["bench", "--modes", "9223372036854775808"], "--modes"),
    (&["bench", "--modes", "sometimes"], "--modes"),
    (&["bench", "--p99-bound-ms", "5"], "--sustainable"),
    (&["bench", "--sustainable", "--p99-bound-ms", "0"], "--p99-bound-ms"),
    (&["bench", "--sustainable", "--p99-bound-ms", "NaN"], "--p99-bound-ms"),
    (&["bench", "--window-ms", "0"], "--window-ms"),
    (&["bench", "--window-ms", "1000"], "--window-ms"),
    (&["bench", "--workload", "bogus"], "--workload"),
    (&["bench", "--skew", "NaN"], "--skew"),
    (&["bench", "--vocab", "0"], "--vocab"),
    (&["bench", "--lines", "0", "--no-overhead", "--rates", "10000", "--out", "{file}"], "{file}"),
    // Conformance files.
    (&["conformance", "/no/such/cases.json"], "/no/such/cases.json"),
    (&["conformance", "{dir}"], "{dir}"),
    (&["conformance", "/dev/zero"], "/dev/zero"),
    (&["conformance", "{truncated}"], "{truncated}"),
    (&["conformance", "{empty}"], "{empty}"),
    (&["conformance", "{no_cases}"], "{no_cases}"),
    (&["conformance", "{huge_batches}"], "num_batches"),
    (&["conformance", "{zero_batches}"], "num_batches"),
    (&["conformance", "{huge_batch_ms}"], "batch_ms"),
    (&["conformance", "{huge_partitions}"], "input_partitions"),
    (&["conformance", "{negative_batch_ms}"], "batch_ms"),
    (&["conformance", "{cases}", "--workers", "0"], "--workers"),
    (&["conformance", "{cases}", "--workers", "10000"], "--workers"),
    (&["conformance"], "FILE"),
    // The demo.
    (&["demo", "--batch-ms", "0"], "--batch-ms"),
    (&["demo", "--batch-ms", "86400001"], "--batch-ms"),
    (&["demo", "--rate", "0"], "--rate"),
    (&["demo", "--rate", "NaN"], "--rate"),
    (&["demo", "--rate", "inf"], "--rate"),
    (&["demo", "--seconds", "-2"], "--seconds"),
    (&["demo", "--seconds", "inf"], "--seconds"),
    (&["demo", "--rate", "-inf"], "--rate"),
    (&["demo", "--vocab", "0"], "--vocab"),
    (&["demo", "--words", "0"], "--words"),
    (&["demo", "--stdin", "--socket", "{free}"], "--socket"),
    (&["demo", "--stdin", "--rate", "3"], "--rate"),
    (&["demo", "--socket", "{free}", "--seconds", "3"], "--seconds"),
    (&["demo", "--socket", "{free}"], "{free}"),
    (&["demo", "--socket", "host"], "host"),
    // The load generator.
    (&["loadgen", "--port", "99999", "--max"], "--port"),
    (&["loadgen", "--port", "-1", "--max"], "--port"),
    (&["loadgen", "--port", "0"], "--rate"),
    (&["loadgen", "--port", "0", "--rate", "10", "--max"], "--max"),
    (&["loadgen", "--port", "0", "--rate", "0"], "--rate"),
    (&["loadgen", "--port", "0", "--rate", "NaN"], "--rate"),
    (&["loadgen", "--port", "0", "--rate", "1e25"], "--rate"),
    (&["loadgen", "--port", "0", "--max", "--seconds", "0"], "--seconds"),
    (&["loadgen", "--port", "0", "--max", "--seconds", "inf"], "--seconds"),
    (&["loadgen", "--port", "0", "--max", "--linger", "-1"], "--linger"),
    (&["loadgen", "--port", "0", "--max", "--linger", "NaN"], "--linger"),
    (&["loadgen", "--port", "0", "--max", "--linger", "-inf"], "--linger"),
    (&["loadgen", "--port", "0", "--max", "--corpus", "/no/such/corpus.txt"], "/no/such/corpus.txt"),
    (&["loadgen", "--port", "0", "--max", "--corpus", "{dir}"], "{dir}"),
    (&["loadgen", "--port", "0", "--max", "--corpus", "{file}", "--events", "ysb"], "--events"),
    (&["loadgen", "--port", "0", "--max", "--host", "not a host"], "not a host"),
    // Checkpoints, logs, serving, comparisons, the corpus.
    (&["checkpoint", "inspect", "/no/such/checkpoints"], "/no/such/checkpoints"),
    (&["checkpoint", "inspect", "{file}"], "{file}"),
    (&["checkpoint", "bench", "--keys", "0"], "--keys"),
    (&["checkpoint", "bench", "--runs", "0"], "--runs"),
    (&["checkpoint", "bench", "--workers", "10000"], "--workers"),
    (&["checkpoint", "bench", "--intervals", "100,0"], "--intervals"),
    (&["checkpoint", "bench", "--lines", "-5"], "--lines"),
    (&["log", "info", "/no/such/log"], "/no/such/log"),
    (&["log", "tail", "/no/such/log"], "/no/such/log"),
    (&["log", "append", "{dir}", "--segment-bytes", "0"], "--segment-bytes"),
    (&["log", "append", "{dir}", "--segment-bytes", "99999999999999"], "--segment-bytes"),
    (&["log", "append", "{dir}", "--retention-bytes", "0"], "--retention-bytes"),
    (&["log", "append", "{dir}", "--retention-ms", "-1"], "--retention-ms"),
    (&["log", "append", "{dir}", "--retention-ms", "18446744073709551615"], "--retention-ms"),
    (&["log", "append", "{dir}", "--fsync", "0"], "--fsync"),
    (&["log", "append", "{dir}", "--fsync", "NaN"], "--fsync"),
    (&["log", "append", "{dir}", "--fsync", "99999999999999999999"], "--fsync"),
    (&["log", "repair", "/no/such/log"], "/no/such/log"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--window-ms", "18446744073709551615"], "--window-ms"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--slide-ms", "0"], "--slide-ms"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--disorder-ms", "-5"], "--disorder-ms"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--lateness-ms", "99999999999999999"], "--lateness-ms"),
    (&["run", "windowcount", "--input", "{file}", "--output", "{dir}", "--epoch-ms", "0"], "--epoch-ms"),
    (&["log", "tail", "{dir}", "--from", "-3"], "--from"),
    (&["serve", "--log", "{dir}", "--workers", "0"], "--workers"),
    (&["serve", "--log", "{dir}", "--serving", "bogus://x"], "bogus://x"),
    (&["serve", "--log", "/no/such/log", "--address", "127.0.0.1:0"], "/no/such/log"),
    (&["serve", "--log", "{dir}", "--address", "host"], "host"),
    (&["serve", "--log", "{dir}", "--address", "127.0.0.1:99999"], "127.0.0.1:99999"),
    (&["serve", "--log", "{dir}", "--address", ":"], "cannot listen on :"),
    (&["serve", "--log", "{dir}", "--address", "127.0.0.1:0", "--serving", "redis://{free}"], "redis://{free}"),
    (&["compare", "lambda-kappa", "--rate", "0"], "--rate"),
    (&["compare", "lambda-kappa", "--seconds", "NaN"], "--seconds"),
    (&["compare", "lambda-kappa", "--workers", "0"], "--workers"),
    (&["compare", "lambda-kappa", "--initial", "-1"], "--initial"),
    (&["compare", "lambda-kappa", "--batch-every", "-1"], "--batch-every"),
    (&["compare", "lambda-kappa", "--workload", "bogus"], "--workload"),
    (&["gen", "corpus", "-5"], "LINES"),
    (&["gen", "corpus", "many"], "LINES"),
    (&["gen", "corpus", "99999999999999"], "LINES"),
    (&["gen", "corpus", "10", "--vocab", "0"], "--vocab"),
    (&["gen", "corpus", "10", "--skew", "inf"], "--skew"),
    (&["gen", "corpus", "10", "--words", "0"], "--words"),
    (&["gen", "nexmark", "-1"], "EVENTS"),
    (&["gen", "nexmark", "10", "--person-proportion", "-1"], "--person-proportion"),
    (&["gen", "nexmark", "10", "--generators", "0"], "--generators"),
    (&["gen", "nexmark", "10", "--base-time", "x"], "--base-time"),
    (&["gen", "nexmark", "10", "--seed", "1.5"], "--seed"),
    (&["gen", "nexmark", "10", "--bid-avg-size", "999999999"], "--bid-avg-size"),
    (&["gen", "nexmark", "10", "--bid-hot-ratio-auctions", "0"], "--bid-hot-ratio-auctions"),
    (&["gen", "nexmark", "10", "--options", "{dir}"], "{dir}"),
    (&["gen", "nexmark", "10", "--options", "{bad_options}"], "{bad_options}:3"),
    (&["run", "nexmark"], "--query"),
    (&["run", "nexmark", "--query", "q99", "--events", "10"], "--query"),
    (&["run", "nexmark", "--query", "q0"], "--events"),
    (&["run", "nexmark", "--query", "q0", "--events", "0"], "--events"),
    (&["run", "nexmark", "--query", "q0", "--rate", "NaN"], "--rate"),
    (&["run", "nexmark", "--query", "q0", "--rate", "1000", "--seconds", "-1"], "--seconds"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--seconds", "1"], "--seconds"),
    (&["run", "nexmark", "--query", "q0", "--seconds", "1"], "--seconds"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--first-event-rate", "0"], "--first-event-rate"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--generators", "0"], "--generators"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--batch-ms", "100"], "--batch-ms"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--output", "{dir}"], "{dir}"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--workers", "0"], "--workers"),
    (&["run", "nexmark", "--query", "q0", "--events", "10", "--side-input", "{file}"], "--side-input"),
    (&["run", "nexmark", "--query", "q13", "--events", "10", "--side-input", "{file}"], "{file}"),
    (&["run", "nexmark", "--query", "q13", "--events", "10", "--side-input", "{dir}"], "{dir}"),
    (&["run", "nexmark", "--query", "q10", "--events", "10", "--q10-dir", "{file}"], "--q10-dir"),
    (&["run", "nexmark", "--query", "q2", "--events", "10", "--q10-dir", "{dir}"], "--q10-dir"),
    (&["run", "nexmark", "--query", "q4", "--events", "10", "--mode", "minibatch"], "q4"),
    (&["bench", "--workload", "nexmark", "--workers", "1,2"], "--workers"),
    (&["bench", "--events", "10"], "--events"),
    (&["bench", "--workload", "nexmark", "--queries", "q0,q99"], "--queries"),
];

/// Every case of the table, as arguments and culprit with the placeholders filled in.
fn table(fixtures: &Fixtures) -> Vec<(Vec<String>, String)> {
    let with = |base: &[&str], cases: &[Case]| -> Vec<(Vec<String>, String)> {
        cases
            .iter()
            .map(|(flags, culprit)| {
                let args = base.iter().chain(flags.iter());
                (
                    args.map(|a| fixtures.fill(a)).collect(),
                    fixtures.fill(culprit),
                )
            })
            .collect()
    };
    let mut all = with(&["run", "wordcount", "--input", "{file}"], WORDCOUNT_FLAGS);
    all.extend(with(
        &["run", "wordcount", "--generate", "10"],
        GENERATE_FLAGS,
    ));
    all.extend(with(&[], INVOCATIONS));
    all
}

/// Why a bad invocation's outcome is not the one required, if it is not.
fn judge(args: &[String], culprit: &str, output: &Output) -> Option<String> {
    let err = stderr(output);
    let lines = err.lines().count();
    let problem = if output.status.success() {
        "exited 0"
    } else if output.status.code().is_none() {
        "was killed by a signal"
    } else if err.contains("panicked") {
        "panicked"
    } else if lines != 1 {
        "did not print exactly one line on stderr"
    } else if !err.contains(culprit) {
        "does not name the culprit"
    } else {
        return None;
    };
    Some(format!(
        "sluice {}: {problem} (should name {culprit:?}; {:?}; {lines} stderr lines):\n{err}",
        args.join(" "),
        output.status
    ))
}

#[test]
fn every_bad_invocation_fails_fast_with_one_line_naming_the_culprit() {
    let fixtures = Fixtures::new();
    let table = table(&fixtures);
    assert!(table.len() >= 100, "the table has {} cases", table.len());
    let failures: Vec<String> = table
        .iter()
        .filter_map(|(args, culprit)| {
            let output = output_within(sluice().args(args), LIMIT);
            judge(args, culprit, &output)
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad invocations misbehaved:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

/// Runs a server on a loopback port that does `serve` with each connection it accepts, until
/// the test ends; returns its address.
fn server(serve: impl Fn(std::net::TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for connection in listener.incoming().flatten() {
            serve(connection);
        }
    });
    address
}

#[test]
fn a_server_that_accepts_and_closes_at_once_is_given_up_on_after_the_retry_window() {
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = accepted.clone();
    let address = server(move |connection| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        drop(connection);
    });
    let output = socket_wordcount(&address, "2000", &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("error") && last.contains(&address),
        "the last line is the error naming {address}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // A handful of attempts in 2 s of backoff, reported in a handful of lines (not thousands).
    let attempts = accepted.load(std::sync::atomic::Ordering::Relaxed);
    assert!((2..=20).contains(&attempts), "{attempts} attempts: {err}");
    assert!(err.lines().count() <= 5, "{err}");
}

/// `sluice run wordcount --socket ADDRESS --retry-window-ms WINDOW EXTRA...`, run to its end
/// (within the time limit), without status lines.
fn socket_wordcount(address: &str, window_ms: &str, extra: &[&str]) -> std::process::Output {
    output_within(
        sluice()
            .args(["run", "wordcount", "--socket", address])
            .args(["--retry-window-ms", window_ms, "--status-every-ms", "0"])
            .args(extra),
        LIMIT,
    )
}

#[test]
fn a_refused_connection_is_retried_in_a_few_lines_and_named() {
    let address = format!("127.0.0.1:{}", common::free_port());
    let output = socket_wordcount(&address, "1500", &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(&address) && err.contains("refused"), "{err}");
    assert!(err.contains("more times"), "repeats are summarised: {err}");
    assert!(err.lines().count() <= 5, "{err}");
}

/// Starts `sluice` with `args`, stderr piped and forwarded line by line over a channel.
fn start(args: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = sluice()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits (at most [`LIMIT`]) for a stderr line containing `text`.
fn wait_for(lines: &std::sync::mpsc::Receiver<String>, text: &str) {
    wait_until(lines, |line| line.contains(text));
}

/// Waits (at most [`LIMIT`]) for a stderr line that `wanted` accepts.
fn wait_until(lines: &std::sync::mpsc::Receiver<String>, wanted: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + LIMIT;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if wanted(&line) => return,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no such stderr line within {LIMIT:?}: {seen:#?}");
}

/// Sends `signal` (e.g. `TERM`) to the child.
fn signal(child: &std::process::Child, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} failed");
}

/// Waits (at most [`LIMIT`]) for the child to exit; returns its status.
fn exit_of(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running {LIMIT:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_stops_a_socket_job_gracefully_and_writes_its_final_counts() {
    // 4096 lines: a multiple of the 1024 lines after which the status line's count moves, so
    // that the status line says when every line sent has been counted.
    let text: String = (0..4096)
        .map(|i| format!("w{} w{} common\n", i % 7, i % 13))
        .collect();
    let sent = text.clone();
    let address = server(move |mut connection| {
        connection.write_all(sent.as_bytes()).unwrap();
        // Then stay open, idle: only a signal ends the job.
        std::thread::sleep(Duration::from_secs(60));
    });
    let dir = tempfile::tempdir().unwrap();
    let counts = dir.path().join("counts");
    let (mut child, lines) = start(&[
        "run",
        "wordcount",
        "--socket",
        &address,
        "--final-counts",
        counts.to_str().unwrap(),
        "--status-every-ms",
        "50",
    ]);
    wait_for(&lines, " 4096 lines");
    signal(&child, "TERM");
    let status = exit_of(&mut child);
    let err: Vec<String> = lines.iter().collect();
    assert_eq!(status.code(), Some(0), "{err:#?}");
    assert_eq!(common::read(&counts), reference_counts(&text));
    assert!(!err.iter().any(|l| l.contains("panicked")), "{err:#?}");
}

#[test]
fn an_idle_server_is_waited_for_until_a_signal_stops_the_job() {
    // Accepts and sends nothing: like `nc -lk` before anyone types, not a failure.
    let address = server(|_connection| std::thread::sleep(Duration::from_secs(60)));
    let dir = tempfile::tempdir().unwrap();
    let counts = dir.path().join("counts");
    let (mut child, lines) = start(&[
        "run",
        "wordcount",
        "--socket",
        &address,
        "--retry-window-ms",
        "200",
        "--final-counts",
        counts.to_str().unwrap(),
        "--status-every-ms",
        "100",
    ]);
    // Well past the retry window, the job is still running and has counted nothing.
    wait_until(&lines, |line| {
        let elapsed = line
            .strip_prefix("sluice: ")
            .and_then(|l| l.split_once(" s: 0 lines"));
        elapsed.is_some_and(|(seconds, _)| seconds.parse::<f64>().is_ok_and(|s| s >= 1.0))
    });
    assert!(child.try_wait().unwrap().is_none());
    signal(&child, "INT");
    let status = exit_of(&mut child);
    assert_eq!(status.code(), Some(0));
    assert_eq!(common::read(&counts), "");
}

#[test]
fn a_second_signal_aborts_a_stop_that_is_still_under_way() {
    // The demo reading typed lines stops after the next line: with standard input left open
    // and silent, the first signal's stop cannot finish, and the second must end the process.
    let (mut child, lines) = start(&["demo", "--stdin", "--batch-ms", "100"]);
    wait_for(&lines, "type lines");
    signal(&child, "TERM");
    wait_for(&lines, "SIGTERM: stopping");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal waits for the stop"
    );
    signal(&child, "TERM");
    assert_eq!(exit_of(&mut child).code(), Some(143));
    drop(child.stdin.take());
}

#[test]
fn sigint_stops_the_demo_gracefully_with_its_summary() {
    let mut child = sluice()
        .args([
            "demo",
            "--rate",
            "20",
            "--seconds",
            "60",
            "--batch-ms",
            "100",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("arrives") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the demo ended early"
        );
    }
    signal(&child, "INT");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(exit_of(&mut child).code(), Some(0), "{rest}");
    assert!(rest.contains("Final counts agree"), "{rest}");
}

/// Runs `sluice args` with its standard output a pipe whose reading end is already closed, so
/// that its first write fails with EPIPE.
fn with_stdout_closed(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    output_within(sluice().args(args).stdout(writer), LIMIT)
}

#[test]
fn a_closed_standard_output_ends_any_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let appended = common::run_with_stdin(
        sluice().args(["log", "append", log.to_str().unwrap()]),
        b"one\ntwo\n",
    );
    assert!(appended.status.success(), "{}", stderr(&appended));
    let cases =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("minibatch/tests/data/spark-dstream-cases.json");
    let commands: &[&[&str]] = &[
        &["run", "hashtags", "--tweets", "5000"],
        &["log", "info", log.to_str().unwrap()],
        &["log", "tail", log.to_str().unwrap()],
        &["conformance", cases.to_str().unwrap()],
        &[
            "demo",
            "--seconds",
            "0.5",
            "--rate",
            "4",
            "--batch-ms",
            "100",
        ],
        &["gen", "corpus", "100000"],
        &["checkpoint", "inspect", dir.path().to_str().unwrap()],
        &["--help"],
    ];
    for args in commands {
        let output = with_stdout_closed(args);
        let err = stderr(&output);
        assert!(
            matches!(output.status.code(), Some(0 | 141)),
            "sluice {args:?} with stdout closed: {:?}: {err}",
            output.status
        );
        assert!(!err.contains("panicked"), "sluice {args:?}: {err}");
    }
}

#[test]
fn sigterm_stops_serve_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let appended = common::run_with_stdin(
        sluice().args(["log", "append", log.to_str().unwrap()]),
        b"a b\nb\n",
    );
    assert!(appended.status.success(), "{}", stderr(&appended));
    let (mut child, lines) = start(&[
        "serve",
        "--log",
        log.to_str().unwrap(),
        "--address",
        "127.0.0.1:0",
        "--workers",
        "1",
    ]);
    wait_for(&lines, "caught up and published");
    signal(&child, "TERM");
    let status = exit_of(&mut child);
    let err: Vec<String> = lines.iter().collect();
    assert_eq!(status.code(), Some(0), "{err:#?}");
    assert!(!err.iter().any(|l| l.contains("panicked")), "{err:#?}");
}

#[test]
fn sigterm_stops_loadgen_which_closes_the_connection_and_reports() {
    let mut child = sluice()
        .args(["loadgen", "--port", "0", "--rate", "200", "--seconds", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut listening = String::new();
    stdout.read_line(&mut listening).unwrap();
    let address = listening
        .trim()
        .strip_prefix("listening ")
        .unwrap()
        .to_string();
    let connection = std::net::TcpStream::connect(&address).unwrap();
    let mut received = std::io::BufReader::new(connection);
    let mut line = String::new();
    received.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "loadgen sends lines");
    signal(&child, "TERM");
    // The connection ends (the job's stream would end), then the report is printed.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut received, &mut rest).unwrap();
    let mut report = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut report).unwrap();
    assert_eq!(exit_of(&mut child).code(), Some(0), "{report}");
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    let sent = report["lines_sent"].as_u64().unwrap();
    assert_eq!(sent as usize, 1 + rest.lines().count(), "{report}");
}

#[test]
fn after_data_a_server_that_only_accepts_and_closes_ends_the_stream_normally() {
    // The first connection delivers lines; every later one is closed at once. Those later
    // connections do not restart the retry window, so the stream ends (normally: it had data).
    let text = "x y\ny z\n";
    let first = std::sync::atomic::AtomicBool::new(true);
    let address = server(move |mut connection| {
        if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
            connection.write_all(text.as_bytes()).unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let counts = dir.path().join("counts");
    let output = socket_wordcount(
        &address,
        "1500",
        &["--final-counts", counts.to_str().unwrap()],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(common::read(&counts), reference_counts(text));
    assert!(err.contains("ending the stream"), "{err}");
    assert!(err.lines().count() <= 5, "{err}");
}
