//! `sluice loadgen` and `sluice bench` end to end: the load's schedule and contents, the
//! benchmark's files, and clear errors for bad flags.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::Stdio;

use common::{run_with_stdin, sluice, stderr};
use sluice::engine::sources::corpus::{Corpus, CorpusSpec};
use sluice::engine::sources::stamped::parse_stamped;

#[test]
fn loadgen_sends_the_corpus_on_schedule_with_scheduled_times() {
    let mut child = sluice()
        .args([
            "loadgen",
            "--port",
            "0",
            "--rate",
            "5000",
            "--seconds",
            "0.4",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first.trim().strip_prefix("listening ").expect(&first);
    let received: Vec<String> = BufReader::new(TcpStream::connect(address).unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    let mut report = String::new();
    stdout.read_line(&mut report).unwrap();
    assert!(child.wait().unwrap().success());

    assert_eq!(received.len(), 2000, "5000 lines/s for 0.4 s");
    let corpus = Corpus::new(CorpusSpec::default());
    let (t0, _) = parse_stamped(&received[0]).unwrap();
    for (i, line) in received.iter().enumerate() {
        let (scheduled, text) = parse_stamped(line).unwrap();
        assert_eq!(text, corpus.line(i as u64), "line {i} is corpus line {i}");
        let expected = t0 + i as u64 * 200_000; // one line every 200 µs
        assert!(
            scheduled.abs_diff(expected) <= 1,
            "line {i} scheduled at {scheduled}"
        );
    }
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["lines_sent"], 2000);
}

#[test]
fn loadgen_errors_name_the_flag_or_file() {
    let out = sluice().args(["loadgen", "--port", "0"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--rate") && stderr.contains("--max"),
        "{stderr}"
    );

    let out = sluice()
        .args([
            "loadgen",
            "--port",
            "0",
            "--rate",
            "10",
            "--corpus",
            "/no/such/corpus.txt",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/no/such/corpus.txt"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bench_compares_the_modes_and_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = sluice()
        .args([
            "bench", "--lines", "20000", "--runs", "1", "--rates", "2000",
        ])
        .args([
            "--seconds",
            "0.6",
            "--warmup",
            "0.1",
            "--modes",
            "native,100",
        ])
        .args(["--load", "tcp", "--no-overhead", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // hand loop + native (memory, file) + micro-batch (file) + native and micro-batch at 2k/s
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with("= yes") || l.ends_with("!= NO"))
        .collect();
    assert_eq!(rows.len(), 6, "{stdout}");
    assert!(rows.iter().all(|r| r.ends_with("= yes")), "{stdout}");
    assert!(rows
        .iter()
        .any(|r| r.contains("tcp 2k/s") && r.contains("100 ms")));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["latency"].as_array().unwrap().len(), 2);
    assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6);
    for plot in ["interval.svg", "latency-cdf-wordcount-2w-2000.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(plot)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("micro-batch"),
            "{plot}"
        );
    }
}

#[test]
fn bench_rejects_a_bad_mode() {
    let out = sluice()
        .args(["bench", "--modes", "native,fast"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'fast'"), "{stderr}");
}

#[test]
fn demo_shows_every_arrival_and_both_modes_agree() {
    let out = sluice()
        .args([
            "demo",
            "--seconds",
            "1.5",
            "--rate",
            "4",
            "--batch-ms",
            "200",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let count = |who: &str| stdout.lines().filter(|l| l.contains(who)).count();
    assert_eq!(count("] arrives"), 6, "{stdout}");
    assert_eq!(count("] native"), 6 * 3, "one update per word: {stdout}");
    assert!(count("] micro-batch") >= 2, "{stdout}");
    assert!(stdout.contains("Final counts agree"), "{stdout}");
}

#[test]
fn demo_counts_typed_lines() {
    let out = run_with_stdin(
        sluice().args(["demo", "--stdin", "--batch-ms", "100"]),
        b"to be or\nnot to be\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for update in ["to = 1", "be = 1", "or = 1", "not = 1", "to = 2", "be = 2"] {
        assert!(stdout.contains(update), "{update} missing: {stdout}");
    }
    assert!(stdout.contains("Final counts agree (4 words)"), "{stdout}");
}

#[test]
fn loadgen_sends_ysb_ad_events() {
    let mut child = sluice()
        .args([
            "loadgen",
            "--port",
            "0",
            "--rate",
            "2000",
            "--seconds",
            "0.2",
        ])
        .args(["--events", "ysb"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first.trim().strip_prefix("listening ").expect(&first);
    let received: Vec<String> = BufReader::new(TcpStream::connect(address).unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    assert!(child.wait().unwrap().success());
    assert_eq!(received.len(), 400);
    for line in &received {
        let (_, event) = parse_stamped(line).unwrap();
        let parsed = sluice::jobs::ysb::parse(event).expect(event);
        assert!(["view", "click", "purchase"].contains(&parsed.event_type));
    }
}

#[test]
fn demo_reads_lines_from_a_socket() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        client.write_all(b"hello socket\nhello\n").unwrap();
    });
    let out = sluice()
        .args(["demo", "--socket", &address, "--batch-ms", "100"])
        .output()
        .unwrap();
    server.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("hello = 2"), "{stdout}");
    assert!(stdout.contains("Final counts agree (2 words)"), "{stdout}");

    let refused = sluice()
        .args(["demo", "--socket", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("127.0.0.1:1"));
}

/// `sluice compare lambda-kappa` on a small log, for every workload: both final views equal
/// the plain loop, freshness was measured for both, and the results and plot are written; with
/// `--batch-every`, lambda's batch layer ran periodically (with 0, only at the start and on
/// the code change).
#[test]
fn compare_lambda_kappa_reports_both_architectures() {
    for (workload, batch_every) in [("wordcount", "0"), ("hashtags", "400"), ("ysb", "400")] {
        let dir = tempfile::tempdir().unwrap();
        let mut command = sluice();
        command
            .args(["compare", "lambda-kappa", "--workload", workload])
            .args(["--initial", "5000", "--rate", "500", "--seconds", "1.5"]);
        command.args(["--batch-every", batch_every]);
        let output = command.arg("--out").arg(dir.path()).output().unwrap();
        assert!(output.status.success(), "{workload}: {}", stderr(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("equal a plain loop: yes"), "{stdout}");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("compare.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(report["workload"], workload);
        assert_eq!(report["views_equal"], true);
        assert_eq!(report["events"], 5750);
        for name in ["kappa", "lambda"] {
            let r = &report[name];
            assert_eq!(r["equals_reference"], true, "{workload} {name}");
            assert!(r["probes"].as_u64().unwrap() >= 6, "{workload} {name}: {r}");
            assert!(r["reprocessing_ms"].as_f64().unwrap() > 0.0);
        }
        let batch_views = report["lambda"]["batch_views"].as_u64().unwrap();
        match batch_every {
            "0" => assert_eq!(batch_views, 2, "{workload}: the first and the code change"),
            _ => assert!(batch_views > 2, "{workload}: {batch_views} batch views"),
        }
        let svg = std::fs::read_to_string(dir.path().join("freshness.svg")).unwrap();
        assert!(svg.contains("kappa") && svg.contains("lambda"));
    }
}

#[test]
fn checkpoint_bench_reports_every_figure() {
    let out = tempfile::tempdir().unwrap();
    let run = sluice()
        .args(["checkpoint", "bench", "--keys", "2000", "--lines", "40000"])
        .args(["--runs", "2", "--intervals", "20", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("round 2/2"), "progress on stderr");
    let json = std::fs::read_to_string(out.path().join("checkpoint.json")).unwrap();
    let figures: serde_json::Value = serde_json::from_str(&json).unwrap();
    // 2000 words of at least 4 bytes, each with a count.
    assert!(figures["snapshot_bytes"].as_u64().unwrap() > 2000 * 12);
    assert!(figures["encode_mb_per_sec"]["median"].as_f64().unwrap() > 0.0);
    let throughput = figures["throughput"].as_array().unwrap();
    assert_eq!(throughput.len(), 2, "without checkpoints, and every 20 ms");
    assert!(throughput[0]["interval_ms"].is_null());
    assert_eq!(throughput[0]["relative"]["median"], 1.0);
    assert_eq!(throughput[1]["interval_ms"], 20);
    assert!(throughput[1]["checkpoints"].as_f64().unwrap() >= 1.0);
    assert!(throughput[1]["words_per_sec"]["min"].as_f64().unwrap() > 0.0);
    assert!(figures["recovery_ms"]["median"].as_f64().unwrap() > 0.0);
}

/// `--replot` redraws a run's plots from its results.json, measuring nothing: the committed
/// TCP results give back every plot, and a file of another shape is refused, named.
#[test]
fn replot_redraws_the_plots_of_a_saved_run() {
    let dir = tempfile::tempdir().unwrap();
    let saved = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results/tcp");
    std::fs::copy(saved.join("results.json"), dir.path().join("results.json")).unwrap();
    let output = sluice()
        .args(["bench", "--replot"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    for plot in [
        "interval.svg",
        "latency-cdf-wordcount-2w-10000.svg",
        "latency-cdf-wordcount-2w-100000.svg",
    ] {
        let svg = std::fs::read_to_string(dir.path().join(plot)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("native"), "{plot}");
    }

    std::fs::write(dir.path().join("results.json"), b"{\"mode\": 1}").unwrap();
    let output = sluice()
        .args(["bench", "--replot"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("results.json"),
        "{}",
        stderr(&output)
    );
}
