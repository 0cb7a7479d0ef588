//! Metrics end to end, through the binary: what `--metrics-out`, `/metrics` and `/api/metrics`
//! report equals what the job did — records per source and operator, batches, checkpoints — on
//! 1 and 2 workers and 2 processes; the Prometheus text passes a strict parser of the format.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{free_port, run, sluice, stderr_line, with_ui, Running};
use sluice::engine::metrics::Snapshot;

/// A file of `lines` lines of a few words each; its path.
fn input(dir: &Path, lines: usize) -> String {
    let path = dir.join("in.txt");
    let text: String = (0..lines)
        .map(|i| format!("w{} w{} common\n", i % 97, i % 13))
        .collect();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn snapshot(path: &Path) -> Snapshot {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Records the source emitted, and records the operator it feeds took.
fn source_and_consumer(s: &Snapshot) -> (u64, u64) {
    let source: u64 = s.sources.iter().map(|s| s.records).sum();
    let reader = s
        .operators
        .iter()
        .find(|o| o.name == "TextFile")
        .expect("the file source's operator");
    let consumer = s
        .channels
        .iter()
        .find(|c| c.source == reader.address)
        .expect("a channel out of the source");
    let taken = s
        .operators
        .iter()
        .find(|o| o.address == consumer.target)
        .unwrap()
        .records_in;
    (source, taken)
}

fn check_counts(s: &Snapshot, lines: u64, micro: bool, what: &str) {
    assert_eq!(source_and_consumer(s), (lines, lines), "{what}: {s:#?}");
    let reader = s.operators.iter().find(|o| o.name == "TextFile").unwrap();
    assert_eq!(reader.records_out, lines, "{what}");
    assert!(
        s.operators.iter().any(|o| o.busy_seconds > 0.0),
        "{what}: no operator was ever busy"
    );
    if micro {
        let batched: u64 = s.batches.iter().map(|b| b.input_records).sum();
        assert_eq!(batched, lines, "{what}: the batches' input records");
        assert_eq!(s.batch_interval_ms, Some(20), "{what}");
        assert!(s.batches_completed >= 1, "{what}");
        for b in &s.batches {
            assert_eq!(
                b.total_delay_ms,
                b.scheduling_delay_ms + b.processing_time_ms,
                "{what}: {b:?}"
            );
        }
    } else {
        assert!(
            s.batches.is_empty() && s.batch_interval_ms.is_none(),
            "{what}"
        );
    }
}

#[test]
fn metrics_count_what_the_job_did_on_one_and_two_workers_and_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let lines = 20_000;
    let input = input(dir.path(), lines);
    for mode in [
        &["--mode", "native"][..],
        &["--mode", "minibatch", "--batch-ms", "20", "--print", "0"],
    ] {
        let micro = mode[1] == "minibatch";
        for workers in ["1", "2"] {
            let out = dir
                .path()
                .join(format!("metrics-{}-{workers}.json", mode[1]));
            let mut args = vec!["run", "wordcount", "--input", &input, "--workers", workers];
            args.extend_from_slice(mode);
            args.extend_from_slice(&["--metrics-out", out.to_str().unwrap()]);
            let result = run(&args);
            assert!(result.status.success(), "{}", common::stderr(&result));
            let s = snapshot(&out);
            assert_eq!(s.workers, workers.parse::<usize>().unwrap());
            check_counts(
                &s,
                lines as u64,
                micro,
                &format!("{mode:?} {workers} workers"),
            );
        }

        // Two processes: each writes its own; merged, they are the job's.
        let hosts = dir.path().join("hosts");
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
        )
        .unwrap();
        let outs: Vec<_> = (0..2)
            .map(|p| dir.path().join(format!("metrics-{}-p{p}.json", mode[1])))
            .collect();
        let process = |p: usize| {
            let mut command = sluice();
            command
                .args(["run", "wordcount", "--input", &input, "--processes", "2"])
                .args([
                    "--hostfile",
                    hosts.to_str().unwrap(),
                    "--status-every-ms",
                    "0",
                ])
                .args(mode)
                .args([
                    "--process",
                    &p.to_string(),
                    "--metrics-out",
                    outs[p].to_str().unwrap(),
                ]);
            command
        };
        let mut second = process(1).spawn().unwrap();
        let first = process(0).output().unwrap();
        assert!(second.wait().unwrap().success());
        assert!(first.status.success(), "{}", common::stderr(&first));
        let merged = Snapshot::merge(outs.iter().map(|p| snapshot(p)).collect());
        assert_eq!((merged.processes, merged.workers), (2, 2));
        check_counts(
            &merged,
            lines as u64,
            micro,
            &format!("{mode:?} 2 processes"),
        );
    }
}

#[test]
fn checkpoints_are_counted_with_their_size_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("metrics.json");
    let checkpoints = dir.path().join("checkpoints");
    let result = run(&[
        "run",
        "wordcount",
        "--generate",
        "20000",
        "--rate",
        "20000",
        "--checkpoint-dir",
        checkpoints.to_str().unwrap(),
        "--checkpoint-every",
        "100",
        "--metrics-out",
        out.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", common::stderr(&result));
    let c = snapshot(&out).checkpoints;
    // About a second of input, a checkpoint every 100 ms.
    assert!(c.committed >= 3, "{c:?}");
    assert!(c.last_bytes > 0 && c.bytes_written >= c.last_bytes, "{c:?}");
    assert!(c.last_epoch_ms > 0 && c.age_seconds >= 0.0, "{c:?}");
    // The last one committed is the one the directory names as the latest.
    let latest = std::fs::read_to_string(checkpoints.join("LATEST")).unwrap();
    assert!(
        latest.contains(&c.last_epoch_ms.to_string()),
        "LATEST {latest:?}, metrics {c:?}"
    );
}

/// `GET path` from `address`: the status line and the body.
pub fn get(address: &str, path: &str) -> (String, String) {
    common::http("GET", address, path)
}

/// A strict reader of Prometheus's text format 0.0.4: every line a `# HELP`, a `# TYPE` or a
/// sample; metric and label names well-formed; each family's TYPE before its samples and
/// declared once; counters named `_total`; every value a number; no series twice. Returns
/// each series (`name{labels}`) and its value.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |n: &str| {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut series = BTreeMap::new();
    assert!(
        text.ends_with('\n'),
        "the exposition must end with a newline"
    );
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or_else(|| panic!("{at}"));
            assert!(name_ok(name) && !help.is_empty(), "{at}");
            assert!(helped.insert(name.to_string()), "{at}: HELP twice");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("{at}"));
            assert!(name_ok(name), "{at}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{at}"
            );
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "{at}: a counter's name ends in _total"
                );
            }
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "{at}: TYPE twice"
            );
        } else {
            assert!(!line.starts_with('#') && !line.is_empty(), "{at}");
            let (id, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{at}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("{at}: not a number"));
            let name = id.split('{').next().unwrap();
            assert!(name_ok(name), "{at}");
            // A summary's or histogram's samples: NAME, NAME_sum, NAME_count, NAME_bucket.
            let family = ["_sum", "_count", "_bucket"]
                .iter()
                .find_map(|suffix| {
                    let base = name.strip_suffix(suffix)?;
                    matches!(
                        types.get(base).map(String::as_str),
                        Some("summary" | "histogram")
                    )
                    .then_some(base)
                })
                .unwrap_or(name);
            assert!(types.contains_key(family), "{at}: a sample before its TYPE");
            if let Some(labels) = id.strip_prefix(name) {
                if !labels.is_empty() {
                    let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}'));
                    let inner = inner.unwrap_or_else(|| panic!("{at}: labels"));
                    for pair in split_labels(inner) {
                        let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{at}"));
                        assert!(name_ok(k) && !k.starts_with("__"), "{at}: label {k}");
                        assert!(
                            v.len() >= 2 && v.starts_with('"') && v.ends_with('"'),
                            "{at}"
                        );
                    }
                }
            }
            assert!(
                series.insert(id.to_string(), value).is_none(),
                "{at}: series twice"
            );
        }
    }
    series
}

/// `a="x",b="y, z"` split at the commas between labels (not those inside quoted values).
fn split_labels(labels: &str) -> Vec<String> {
    let (mut parts, mut current, mut quoted, mut escaped) =
        (Vec::new(), String::new(), false, false);
    for c in labels.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    assert!(!quoted, "an unterminated label value in {labels}");
    parts.push(current);
    parts
}

#[test]
fn the_strict_parser_refuses_what_prometheus_would() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1,2\"} 3\n";
    assert_eq!(parse_prometheus(ok)["a_total{x=\"1,2\"}"], 3.0);
    for bad in [
        "a_total 3\n",                                    // no TYPE
        "# TYPE a counter\na 3\n",                        // a counter not _total
        "# TYPE a_total counter\na_total three\n",        // not a number
        "# TYPE a_total counter\na_total{x=1} 3\n",       // unquoted
        "# TYPE a_total counter\na_total 1\na_total 2\n", // twice
        "# TYPE 1a gauge\n1a 1\n",                        // bad name
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_prometheus(bad)).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn the_ui_serves_prometheus_text_and_json_while_the_job_runs() {
    let mut command = sluice();
    command.args([
        "run",
        "wordcount",
        "--generate",
        "400000",
        "--rate",
        "50000",
        "--workers",
        "2",
    ]);
    let (_job, address) = with_ui(command, 0);
    std::thread::sleep(Duration::from_millis(1500));

    let (status, text) = get(&address, "/metrics");
    assert!(status.contains(" 200 "), "{status}");
    let series = parse_prometheus(&text);
    let records = series["sluice_source_records_total{source=\"Generator\"}"];
    assert!(records > 0.0, "{text}");
    assert_eq!(series["sluice_workers"], 2.0);
    assert!(series
        .keys()
        .any(|k| k.starts_with("sluice_operator_busy_seconds_total{operator=\"KeyedState\"")));
    assert_eq!(
        series["sluice_source_backlog_records{source=\"Generator\"}"],
        0.0
    );

    std::thread::sleep(Duration::from_millis(500));
    let (status, json) = get(&address, "/api/metrics");
    assert!(status.contains(" 200 "), "{status}");
    let s: Snapshot = serde_json::from_str(&json).unwrap();
    let later: u64 = s.sources.iter().map(|s| s.records).sum();
    assert!(
        later as f64 > records,
        "the counters move: {records} then {later}"
    );

    let (status, page) = get(&address, "/");
    assert!(
        status.contains(" 200 ") && page.contains("<svg id=\"graph\""),
        "{status}"
    );
    let (status, _) = get(&address, "/nothing");
    assert!(status.contains(" 404 "), "{status}");
}

#[test]
fn process_zeros_ui_shows_the_whole_job_of_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    // Two consecutive free ports for the two UIs.
    let port = loop {
        let p = free_port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break p;
        }
    };
    let process = |p: usize| {
        let mut command = sluice();
        command
            .args([
                "run",
                "wordcount",
                "--generate",
                "300000",
                "--rate",
                "50000",
            ])
            .args(["--processes", "2", "--hostfile", hosts.to_str().unwrap()])
            .args(["--process", &p.to_string()]);
        command
    };
    let (_second, second_ui) = with_ui(process(1), port);
    let (_first, first_ui) = with_ui(process(0), port);
    assert_eq!(second_ui, format!("127.0.0.1:{}", port + 1));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, local) = get(&second_ui, "/api/local");
        let second: Snapshot = serde_json::from_str(&local).unwrap();
        let (_, json) = get(&first_ui, "/api/metrics");
        let s: Snapshot = serde_json::from_str(&json).unwrap();
        let records = |s: &Snapshot| s.sources.iter().map(|s| s.records).sum::<u64>();
        if s.processes == 2 && records(&second) > 0 {
            assert_eq!(s.workers, 2);
            assert!(
                records(&s) >= records(&second),
                "the job's includes process 1's"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "process 0's UI never showed both: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_event_time_job_shows_each_operators_watermark_and_state() {
    // Events stamped from now on (the generator's default base time is a fixed date).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let mut command = sluice();
    command.args(["run", "nexmark", "--query", "q5", "--base-time", &now]);
    command.args(["--rate", "20000", "--seconds", "20"]);
    let (_job, address) = with_ui(command, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, json) = get(&address, "/api/metrics");
        let s: Snapshot = serde_json::from_str(&json).unwrap();
        let timed: Vec<_> = s
            .operators
            .iter()
            .filter(|o| o.watermark_ms.is_some())
            .collect();
        let stateful = s.operators.iter().any(|o| o.state_entries > 0);
        if !timed.is_empty() && stateful {
            // The job's watermark is its operators' lowest, behind the clock by about the
            // generator's out-of-orderness, not by the whole run.
            let lowest = timed.iter().filter_map(|o| o.watermark_ms).min();
            assert_eq!(s.watermark_ms, lowest);
            let lag = s.event_time_lag_seconds.unwrap();
            assert!((0.0..10.0).contains(&lag), "event-time lag {lag} s");
            let total: u64 = s.operators.iter().map(|o| o.state_entries).sum();
            assert_eq!(
                total, s.state_entries,
                "the operators' state adds up to the job's"
            );
            let series = parse_prometheus(&get(&address, "/metrics").1);
            assert!(series
                .keys()
                .any(|k| k.starts_with("sluice_operator_watermark_seconds{")));
            assert!(series.contains_key("sluice_event_time_lag_seconds"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no watermark or state shown: {s:#?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Polls `address`'s `/api/metrics` until `done` holds (at most 30 s).
fn poll_until(address: &str, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, json) = get(address, "/api/metrics");
        let s: Snapshot = serde_json::from_str(&json).unwrap();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "never: {s:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_benchmark_serves_the_ui_of_each_run_with_its_latency() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = sluice()
        .args([
            "bench", "--lines", "0", "--rates", "20000", "--modes", "native",
        ])
        .args([
            "--workers",
            "1",
            "--runs",
            "2",
            "--seconds",
            "3",
            "--no-overhead",
        ])
        .args(["--ui", "127.0.0.1:0", "--out", dir.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let address = stderr_line(&mut child, "sluice: UI at http://");
    let address = address.trim_end_matches('/').to_string();
    let _job = Running(child);
    let s = poll_until(&address, |s| s.latencies.iter().any(|l| l.count > 0));
    let latency = &s.latencies[0];
    assert_eq!(latency.name, "end-to-end");
    assert!(
        latency.p50_ms <= latency.p99_ms && latency.p99_ms <= latency.max_ms,
        "{latency:?}"
    );
    // The same in Prometheus's text (a run may just have given way to the next: ask again).
    let count = "sluice_latency_seconds_count{name=\"end-to-end\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    let series = loop {
        let series = parse_prometheus(&get(&address, "/metrics").1);
        if series.get(count).is_some_and(|&n| n > 0.0) {
            break series;
        }
        assert!(Instant::now() < deadline, "no latency in /metrics");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(series.contains_key("sluice_latency_seconds{name=\"end-to-end\",quantile=\"0.99\"}"));
}

#[test]
fn the_demo_serves_a_ui_for_each_of_its_two_jobs() {
    let port = loop {
        let p = free_port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break p;
        }
    };
    let mut child = sluice()
        .args([
            "demo",
            "--rate",
            "20",
            "--seconds",
            "30",
            "--batch-ms",
            "200",
        ])
        .args(["--ui", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    stderr_line(&mut child, "sluice demo: UIs at");
    let _job = Running(child);
    let native = poll_until(&format!("127.0.0.1:{port}"), |s| {
        s.sources.iter().any(|s| s.records > 0)
    });
    assert_eq!(native.batch_interval_ms, None);
    let batches = poll_until(&format!("127.0.0.1:{}", port + 1), |s| {
        s.batches_completed > 2
    });
    assert_eq!(batches.batch_interval_ms, Some(200));
}
