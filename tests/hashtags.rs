//! `sluice run hashtags`: event-time window counts equal a plain loop over the tweets, byte for
//! byte, for any arrival order within the allowed lateness and any worker count (1, 2, and 2
//! processes on loopback); too-late tweets are counted, not silently dropped; micro-batch mode
//! counts by arrival instead.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{read, sluice};
use sluice::jobs::tweets::{Arrivals, TweetSpec};

const TWEETS: u64 = 3000;
const WINDOW_MS: u64 = 2000;
const SLIDE_MS: u64 = 500;

fn spec() -> TweetSpec {
    TweetSpec {
        tweets: TWEETS,
        ..TweetSpec::default()
    }
}

/// The expected file: every tweet's hashtags counted in every window containing its event
/// time, skipping the tweets `skip` says.
fn reference(skip: impl Fn(u64) -> bool) -> String {
    let mut counts: BTreeMap<(u64, String), u64> = BTreeMap::new();
    for (i, tweet) in spec().all().into_iter().enumerate() {
        if skip(i as u64) {
            continue;
        }
        for end in (tweet.event_ms / SLIDE_MS + 1) * SLIDE_MS..=tweet.event_ms + WINDOW_MS {
            if end % SLIDE_MS != 0 {
                continue;
            }
            for tag in &tweet.tags {
                *counts.entry((end, tag.clone())).or_default() += 1;
            }
        }
    }
    counts
        .iter()
        .map(|((end, tag), n)| format!("{end}\t{tag}\t{n}\n"))
        .collect()
}

fn hashtags(out: &Path, extra: &[&str]) -> std::process::Output {
    let output = sluice()
        .args(["run", "hashtags", "--tweets", &TWEETS.to_string()])
        .args(["--window", "2s", "--slide", "500ms", "--output"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn event_time_counts_do_not_depend_on_arrival_order_or_workers() {
    let dir = tempfile::tempdir().unwrap();
    let expected = reference(|_| false);
    let runs: [&[&str]; 4] = [
        &["--workers", "1"],
        &[
            "--workers",
            "2",
            "--arrival-seed",
            "3",
            "--disorder-ms",
            "300",
            "--lateness-ms",
            "300",
        ],
        &[
            "--workers",
            "1",
            "--arrival-seed",
            "5",
            "--disorder-ms",
            "900",
            "--lateness-ms",
            "1000",
        ],
        &[
            "--workers",
            "2",
            "--arrival-seed",
            "8",
            "--disorder-ms",
            "50",
            "--lateness-ms",
            "50",
        ],
    ];
    for (k, extra) in runs.iter().enumerate() {
        let out = dir.path().join(format!("counts-{k}"));
        hashtags(&out, extra);
        assert!(
            read(&out) == expected,
            "{extra:?}: counts differ from the plain loop"
        );
    }

    // Two processes on loopback, out of order.
    let hosts = common::loopback_hosts(dir.path());
    let out = dir.path().join("counts-2p");
    let shared = [
        "run",
        "hashtags",
        "--tweets",
        "3000",
        "--window",
        "2s",
        "--slide",
        "500ms",
        "--arrival-seed",
        "4",
        "--disorder-ms",
        "200",
        "--lateness-ms",
        "200",
        "--processes",
        "2",
        "--hostfile",
        hosts.to_str().unwrap(),
    ];
    let mut second = sluice()
        .args(shared)
        .args(["--process", "1"])
        .spawn()
        .unwrap();
    let first = sluice()
        .args(shared)
        .args(["--process", "0", "--output", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(second.wait().unwrap().success());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        read(&out) == expected,
        "2 processes: counts differ from the plain loop"
    );
}

#[test]
fn too_late_tweets_are_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("counts");
    let (seed, disorder, lateness, workers) = (11, 100, 100, 2);
    let flags = [
        "--arrival-seed",
        "11",
        "--disorder-ms",
        "100",
        "--lateness-ms",
        "100",
    ];
    let output = hashtags(
        &out,
        &[&flags[..], &["--late-fraction", "0.05", "--workers", "2"]].concat(),
    );
    // The semantics as a plain loop: worker w reads arrivals w, w + 2, …; its watermark is the
    // highest event time it has read less the disorder; a tweet travels at max(event time, watermark) and is
    // dropped from every window whose end + lateness it has reached.
    let spec = spec();
    let tweets = spec.all();
    let arrivals = Arrivals {
        seed,
        disorder_ms: disorder,
        late_fraction: 0.05,
        late_by_ms: WINDOW_MS + lateness + disorder + 1000, // as the command sets it
    }
    .schedule(&spec);
    let mut counts: BTreeMap<(u64, String), u64> = BTreeMap::new();
    let mut dropped_tags = 0;
    for w in 0..workers {
        let mut watermark = 0;
        for (_, i) in arrivals.iter().skip(w).step_by(workers) {
            let tweet = &tweets[*i as usize];
            let t = tweet.event_ms.max(watermark);
            let ends = (tweet.event_ms / SLIDE_MS + 1) * SLIDE_MS..=tweet.event_ms + WINDOW_MS;
            let mut accepted = false;
            for end in ends.step_by(SLIDE_MS as usize) {
                if t < end + lateness {
                    accepted = true;
                    for tag in &tweet.tags {
                        *counts.entry((end, tag.clone())).or_default() += 1;
                    }
                }
            }
            if !accepted {
                dropped_tags += tweet.tags.len();
            }
            watermark = watermark.max(tweet.event_ms.saturating_sub(disorder));
        }
    }
    assert!(
        dropped_tags > 0,
        "the late fraction makes some tweets too late"
    );
    let expected: String = counts
        .iter()
        .map(|((end, tag), n)| format!("{end}\t{tag}\t{n}\n"))
        .collect();
    assert!(read(&out) == expected, "counts differ from the plain loop");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{dropped_tags} hashtag occurrence(s) too late")),
        "{stderr}"
    );
}

#[test]
fn micro_batch_windows_count_by_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("counts");
    let disorder = [
        "--arrival-seed",
        "3",
        "--disorder-ms",
        "400",
        "--lateness-ms",
        "400",
    ];
    hashtags(
        &out,
        &[&disorder[..], &["--mode", "minibatch", "--batch-ms", "500"]].concat(),
    );
    let by_arrival = read(&out);
    // Every tweet is counted once per window (none is late by arrival time) ...
    let total = |file: &str| -> u64 {
        file.lines()
            .map(|l| l.rsplit('\t').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    let expected = reference(|_| false);
    assert_eq!(total(&by_arrival), total(&expected));
    // ... but in the windows of their arrival, so disorder changes the windows' contents.
    assert!(by_arrival != expected);
}

#[test]
fn bad_window_flags_are_named() {
    let out = sluice()
        .args(["run", "hashtags", "--window", "2s", "--slide", "700ms"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--slide"));
    let out = sluice()
        .args(["run", "hashtags", "--window", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'soon'"));
}
