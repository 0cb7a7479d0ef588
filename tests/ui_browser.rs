//! The web UI in a real browser: headless Chromium (Debian's `chromium`, which `test.sh`
//! installs) loads the page of a running job, runs its script, and the test reads the DOM it
//! rendered: the charts' points move, the batch table fills, and under overload the source
//! shows back pressure while the slow operator shows busy.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{sluice, with_ui, Running};

/// One browser test at a time: each measures what its job does with 2 cores, and a second job
/// and browser beside it would take them.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The DOM of `http://address/` after the page has run for `ms` of its time.
fn dump_dom(address: &str, ms: u64) -> String {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--virtual-time-budget={ms}"))
        .arg("--dump-dom")
        .arg(format!("http://{address}/?every=250"))
        .stderr(Stdio::null())
        .output()
        .expect("chromium runs (test.sh installs Debian's chromium)");
    assert!(output.status.success(), "chromium failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The value of attribute `name` of the first element whose tag contains `marker`.
fn attribute(dom: &str, marker: &str, name: &str) -> Option<String> {
    let at = dom.find(marker)?;
    let start = dom[..=at].rfind('<')?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let value = tag.split(&format!("{name}=\"")).nth(1)?;
    Some(value[..value.find('"')?].to_string())
}

/// Every operator box of the dataflow graph: (name, class, busy, back-pressured).
fn operators(dom: &str) -> Vec<(String, String, f64, f64)> {
    dom.match_indices("<g class=\"op")
        .filter_map(|(at, _)| {
            let tag = &dom[at..=at + dom[at..].find('>')?];
            let get = |name: &str| attribute(tag, "<g", name);
            Some((
                get("data-name")?,
                get("class")?,
                get("data-busy")?.parse().ok()?,
                get("data-backpressured")?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn the_charts_move_and_the_batch_table_fills_in_micro_batch_mode() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = sluice();
    command.args([
        "run",
        "wordcount",
        "--generate",
        "2000000",
        "--rate",
        "40000",
    ]);
    command.args([
        "--mode",
        "minibatch",
        "--batch-ms",
        "200",
        "--print",
        "0",
        "--workers",
        "2",
    ]);
    let (_job, address) = with_ui(command, 0);
    std::thread::sleep(Duration::from_millis(1000));
    let first = dump_dom(&address, 2000);
    std::thread::sleep(Duration::from_millis(1000));
    let second = dump_dom(&address, 2000);

    for dom in [&first, &second] {
        assert!(
            dom.contains("micro-batch, every 200 ms"),
            "the mode is shown"
        );
        let points: usize = attribute(dom, "id=\"rates\"", "data-points")
            .unwrap()
            .parse()
            .unwrap();
        assert!(points >= 2, "the rate chart has points: {points}");
        let rows = dom.matches("<tr class=\"batch\">").count();
        assert!(rows >= 3, "the batch table fills: {rows} rows");
        let input: f64 = attribute(dom, "id=\"rates\"", "data-lastinput")
            .unwrap()
            .parse()
            .unwrap();
        assert!(input > 10_000.0, "the input rate is about 40k/s: {input}");
        assert!(
            dom.contains("class=\"series-total\""),
            "the delay chart is drawn"
        );
        assert!(operators(dom)
            .iter()
            .any(|(name, ..)| name == "ReduceByKey"));
    }
    let chart = |dom: &str| attribute(dom, "class=\"series-input\"", "points").unwrap();
    assert_ne!(chart(&first), chart(&second), "the chart's points move");
    let newest = |dom: &str| {
        let row = &dom[dom.find("<tr class=\"batch\">").unwrap()..];
        row[row.find("<td>").unwrap() + 4..row.find("</td>").unwrap()].to_string()
    };
    assert!(
        newest(&second) > newest(&first),
        "newer batches come on top"
    );
}

#[test]
fn under_overload_the_source_shows_back_pressure_and_the_slow_operator_busy() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 50k lines/s offered to a job that takes 40 µs a line (25k lines/s), as plain text.
    let mut loadgen = sluice()
        .args([
            "loadgen",
            "--port",
            "0",
            "--rate",
            "50000",
            "--seconds",
            "30",
        ])
        .arg("--plain")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(loadgen.stdout.take().unwrap()).lines();
    let listening = out.next().unwrap().unwrap();
    let server = listening.strip_prefix("listening ").unwrap().to_string();
    let _loadgen = Running(loadgen);
    let mut command = sluice();
    command.args([
        "run",
        "wordcount",
        "--socket",
        &server,
        "--slow-line-us",
        "40",
    ]);
    let (_job, address) = with_ui(command, 0);
    // Long enough for the UI's whole window (4 s) to be under the overload.
    std::thread::sleep(Duration::from_millis(4500));
    let dom = dump_dom(&address, 2000);
    let ops = operators(&dom);
    let source = ops
        .iter()
        .find(|(name, ..)| name == "SocketText")
        .expect("the source");
    assert!(
        source.1.contains("backpressured"),
        "the source is back-pressured: {ops:?}"
    );
    assert!(source.3 > 0.5, "{ops:?}");
    let slow = ops
        .iter()
        .find(|(name, ..)| name == "Map")
        .expect("the slow operator");
    assert!(slow.2 > 0.7, "the slow operator is busy: {ops:?}");
    assert!(!slow.1.contains("backpressured"), "{ops:?}");
}
