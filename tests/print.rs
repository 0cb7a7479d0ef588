//! What `sluice run wordcount` prints while it runs: every micro-batch as Spark's
//! NetworkWordCount prints it (`wordCounts.print()`), native updates as Flink's `print()`, and
//! a status line with exact counts — through the binary, against a slow socket server.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::process::Output;
use std::time::Duration;

use common::{sluice, stderr};

/// Lines typed slowly: each burst a second after the previous one. Nine distinct words in all,
/// so that no batch has more than `print()`'s ten to show, however the bursts fall into batches.
const BURSTS: [&str; 3] = ["a b a\nc\n", "b b\na d\n", "e f g\nh i a\n"];
const BATCH_MS: u64 = 250;

/// Serves `bursts` one second apart on one connection, then closes; returns the address.
fn serve(bursts: &'static [&'static str]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        for burst in bursts {
            conn.write_all(burst.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(1000));
        }
    });
    address
}

/// `sluice run wordcount` in micro-batch mode against a server of `bursts`, with `extra` flags.
fn run_minibatch(bursts: &'static [&'static str], extra: &[&str]) -> Output {
    let output = sluice()
        .args(["run", "wordcount", "--socket", &serve(bursts)])
        .args(["--mode", "minibatch", "--batch-ms", &BATCH_MS.to_string()])
        .args(["--retry-window-ms", "300"])
        .args(extra)
        .output()
        .expect("the sluice binary runs");
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

/// Word counts by a plain loop.
fn plain_counts(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in text.split_ascii_whitespace() {
        *counts.entry(word.to_string()).or_default() += 1;
    }
    counts
}

/// One printed batch: its time, its `(word,count)` pairs, and whether `...` followed them.
#[derive(Debug)]
struct Printed {
    time: u64,
    pairs: Vec<(String, u64)>,
    more: bool,
}

/// Parses stdout as a sequence of Spark `print()` blocks; panics on anything else.
fn parse_batches(stdout: &str) -> Vec<Printed> {
    let rule = "-".repeat(43);
    let mut lines = stdout.lines();
    let mut batches = Vec::new();
    while let Some(first) = lines.next() {
        assert_eq!(first, rule, "a block starts with a rule: {stdout}");
        let time = lines
            .next()
            .and_then(|l| l.strip_prefix("Time: "))
            .and_then(|l| l.strip_suffix(" ms"))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("a `Time: T ms` line: {stdout}"));
        assert_eq!(lines.next(), Some(rule.as_str()), "{stdout}");
        let (mut pairs, mut more) = (Vec::new(), false);
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            assert!(!more, "nothing follows `...`: {stdout}");
            if line == "..." {
                more = true;
                continue;
            }
            let pair = line
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .and_then(|l| l.rsplit_once(','))
                .and_then(|(w, c)| Some((w.to_string(), c.parse().ok()?)))
                .unwrap_or_else(|| panic!("a `(word,count)` line, not {line:?}: {stdout}"));
            pairs.push(pair);
        }
        batches.push(Printed { time, pairs, more });
    }
    batches
}

/// Checks that every batch was printed once, in order, as a multiple of the interval.
fn assert_every_batch_once_in_order(batches: &[Printed], stdout: &str) {
    assert!(batches.len() >= 3, "a batch every {BATCH_MS} ms: {stdout}");
    for pair in batches.windows(2) {
        assert_eq!(
            pair[1].time,
            pair[0].time + BATCH_MS,
            "each batch once, in order, none left out: {stdout}"
        );
    }
    assert!(batches.iter().all(|b| b.time % BATCH_MS == 0), "{stdout}");
}

fn prints_every_batch_as_spark(workers: &str) {
    let output = run_minibatch(&BURSTS, &["--workers", workers, "--status-every-ms", "0"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let batches = parse_batches(&stdout);
    assert_every_batch_once_in_order(&batches, &stdout);
    // Fewer than ten distinct words per batch: every pair is shown, and their sum per word is
    // the plain loop's count of everything sent.
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for batch in &batches {
        assert!(!batch.more, "{stdout}");
        let mut words: Vec<&String> = batch.pairs.iter().map(|(w, _)| w).collect();
        words.sort();
        words.dedup();
        assert_eq!(
            words.len(),
            batch.pairs.len(),
            "a word once per batch: {stdout}"
        );
        for (word, count) in &batch.pairs {
            *total.entry(word.clone()).or_default() += count;
        }
    }
    assert_eq!(total, plain_counts(&BURSTS.concat()), "{stdout}");
    let with_data = batches.iter().filter(|b| !b.pairs.is_empty()).count();
    assert!(
        with_data >= 2,
        "bursts a second apart land in different batches: {stdout}"
    );
}

#[test]
fn minibatch_prints_every_batch_as_spark_on_one_worker() {
    prints_every_batch_as_spark("1");
}

#[test]
fn minibatch_prints_every_batch_as_spark_on_two_workers() {
    prints_every_batch_as_spark("2");
}

#[test]
fn print_n_shows_the_first_n_pairs_and_dots_for_the_rest() {
    // One line of eight distinct words: its batch has eight pairs, whatever the timing.
    const WIDE: [&str; 1] = ["p q r s t u v w\n"];
    let output = run_minibatch(&WIDE, &["--workers", "2", "--print", "3"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let batches = parse_batches(&stdout);
    assert_every_batch_once_in_order(&batches, &stdout);
    let shown: Vec<&Printed> = batches.iter().filter(|b| !b.pairs.is_empty()).collect();
    assert_eq!(shown.len(), 1, "{stdout}");
    assert_eq!(shown[0].pairs.len(), 3, "{stdout}");
    assert!(shown[0].more, "`...` for the five not shown: {stdout}");
    let expected = plain_counts(WIDE[0]);
    for (word, count) in &shown[0].pairs {
        assert_eq!(expected.get(word), Some(count), "{stdout}");
    }
}

#[test]
fn print_0_prints_nothing_and_final_counts_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("counts");
    let out_arg = out.to_str().unwrap();
    let output = run_minibatch(&BURSTS, &["--print", "0", "--final-counts", out_arg]);
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        common::read(&out),
        common::reference_counts(&BURSTS.concat())
    );
}

#[test]
fn status_lines_count_every_line_exactly() {
    let output = run_minibatch(&BURSTS, &["--status-every-ms", "100", "--print", "0"]);
    let stderr = stderr(&output);
    let status: Vec<&str> = stderr.lines().filter(|l| l.contains(" lines, ")).collect();
    let lines_in = |burst: &str| burst.lines().count();
    let words_in = |burst: &str| burst.split_ascii_whitespace().count();
    // A second passes after the first burst: some status line in it shows that burst exactly,
    // where counting in chunks showed 0 lines.
    let first = format!(
        " {} lines, {} words",
        lines_in(BURSTS[0]),
        words_in(BURSTS[0])
    );
    assert!(
        status.iter().any(|l| l.contains(&first)),
        "{first}: {stderr}"
    );
    let all = BURSTS.concat();
    let last = format!(" {} lines, {} words", lines_in(&all), words_in(&all));
    assert!(
        status.last().is_some_and(|l| l.contains(&last)),
        "the last status line has the final counts ({last}): {stderr}"
    );
}

/// `sluice run wordcount` in native mode over a file of `text`, with `extra` flags.
fn run_native(text: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, text).unwrap();
    let output = sluice()
        .args(["run", "wordcount", "--input", input.to_str().unwrap()])
        .args(["--status-every-ms", "0"])
        .args(extra)
        .output()
        .expect("the sluice binary runs");
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

/// The native updates printed: (worker prefix, word, count) in print order.
fn parse_updates(stdout: &str) -> Vec<(Option<usize>, String, u64)> {
    stdout
        .lines()
        .map(|line| {
            let (worker, pair) = match line.split_once("> ") {
                Some((w, pair)) => (Some(w.parse().expect("a worker number")), pair),
                None => (None, line),
            };
            let (word, count) = pair
                .strip_prefix('(')
                .and_then(|p| p.strip_suffix(')'))
                .and_then(|p| p.rsplit_once(','))
                .unwrap_or_else(|| panic!("an update, not {line:?}"));
            (worker, word.to_string(), count.parse().expect("a count"))
        })
        .collect()
}

#[test]
fn native_prints_updates_as_flink_only_when_asked() {
    let text: String = (0..200)
        .map(|i| format!("w{} w{} common\n", i % 7, i % 3))
        .collect();
    let expected = plain_counts(&text);
    let silent = run_native(&text, &["--workers", "2"]);
    assert!(
        silent.stdout.is_empty(),
        "native mode prints nothing by default"
    );
    for (workers, prefixed) in [("1", false), ("2", true)] {
        let output = run_native(&text, &["--workers", workers, "--print", "1"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let updates = parse_updates(&stdout);
        let mut last: BTreeMap<&str, (Option<usize>, u64)> = BTreeMap::new();
        for (worker, word, count) in &updates {
            assert_eq!(
                worker.is_some(),
                prefixed,
                "Flink's `N> ` only when parallel: {stdout}"
            );
            assert!(worker.is_none_or(|w| (1..=2).contains(&w)), "{stdout}");
            if let Some((owner, before)) = last.get(word.as_str()) {
                assert_eq!(
                    owner, worker,
                    "a word's updates come from its owner: {stdout}"
                );
                assert!(count > before, "running counts grow: {stdout}");
            }
            last.insert(word, (*worker, *count));
        }
        let finals: BTreeMap<String, u64> =
            last.iter().map(|(w, (_, c))| (w.to_string(), *c)).collect();
        assert_eq!(
            finals, expected,
            "the last update of each word is its count"
        );
    }
}
