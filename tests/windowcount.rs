//! `sluice run windowcount` on lines out of time order: a line later than the watermark (the
//! highest time seen less `--disorder-ms`, 0 without it) by more than `--lateness-ms` goes to
//! the late side output and is reported on stderr; every other line counts in its own windows.
//! Checked against a plain loop, on the example and on random inputs.

mod common;

use std::collections::BTreeMap;

use common::{sluice, stderr};
use proptest::prelude::*;
use sluice::engine::sinks::read_epochs;

/// A line of input: when it arrives (its order in the file), its event time, its words.
#[derive(Clone, Debug)]
struct Line {
    event: u64,
    words: Vec<String>,
}

/// The windowing flags of a run.
#[derive(Clone, Copy, Debug)]
struct Flags {
    window: u64,
    slide: u64,
    /// `None`: lines `<time> words` (a disorder bound of 0); else `<arrival> <event> words`.
    disorder: Option<u64>,
    lateness: u64,
}

/// What the model says, as a plain loop: each window's final count per word, and the number
/// of words too late for all their windows. The watermark starts at 0 and, after each line,
/// becomes the highest event time seen less the disorder bound; a line is stamped at
/// `max(event time, watermark)` and counts in each of its windows whose end plus the lateness
/// is after the stamp.
fn reference(lines: &[Line], flags: Flags) -> (BTreeMap<(u64, String), u64>, u64) {
    let mut counts = BTreeMap::new();
    let mut late = 0;
    let mut watermark = 0;
    for line in lines {
        let stamp = line.event.max(watermark);
        let mut counted = false;
        let mut end = (line.event / flags.slide + 1) * flags.slide;
        while end <= line.event + flags.window {
            if stamp < end + flags.lateness {
                counted = true;
                for word in &line.words {
                    *counts.entry((end, word.clone())).or_default() += 1;
                }
            }
            end += flags.slide;
        }
        if !counted {
            late += line.words.len() as u64;
        }
        watermark = watermark.max(line.event.saturating_sub(flags.disorder.unwrap_or(0)));
    }
    (counts, late)
}

/// Runs windowcount (1 worker: the watermark follows the lines in file order) and returns
/// each window's final count per word (an update replaces a window's earlier count) and the
/// late words it reported.
fn windowcount(lines: &[Line], flags: Flags) -> (BTreeMap<(u64, String), u64>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("input.txt"), dir.path().join("out"));
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(arrival, line)| {
            let words = line.words.join(" ");
            match flags.disorder {
                None => format!("{} {words}\n", line.event),
                Some(_) => format!("{arrival} {} {words}\n", line.event),
            }
        })
        .collect();
    std::fs::write(&input, text).unwrap();
    let mut command = sluice();
    command
        .args(["run", "windowcount", "--workers", "1", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--window-ms", &flags.window.to_string()])
        .args(["--slide-ms", &flags.slide.to_string()])
        .args(["--lateness-ms", &flags.lateness.to_string()]);
    if let Some(disorder) = flags.disorder {
        command.args(["--disorder-ms", &disorder.to_string()]);
    }
    let run = command.output().unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let mut counts = BTreeMap::new();
    for line in read_epochs(&output).unwrap() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [end, word, count] = fields[..] else {
            panic!("bad output line {line:?}");
        };
        let count: u64 = count.parse().unwrap();
        let slot = counts
            .entry((end.parse().unwrap(), word.to_string()))
            .or_default();
        *slot = count.max(*slot); // counts only grow: the last update is the largest
    }
    (counts, late_reported(&stderr(&run)))
}

/// The late words reported in `stderr` (`sluice: N late word(s) dropped …`), 0 if none.
fn late_reported(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("sluice: ")?;
            let (n, _) = rest.split_once(" late word(s) dropped")?;
            Some(n.parse().unwrap())
        })
        .unwrap_or(0)
}

fn lines(events: &[u64]) -> Vec<Line> {
    events
        .iter()
        .map(|&event| Line {
            event,
            words: vec!["w".to_string()],
        })
        .collect()
}

/// The example: `5000 w`, `100 w`, `3000 w`, `200 w`, `7000 w` in 1 s windows. Without
/// a disorder bound, the three lines behind 5000 are late; with 3000 ms of disorder only the
/// two more than 3000 ms behind are, and `3000 w` counts in its own window.
#[test]
fn out_of_order_lines_are_late_or_in_their_own_window() {
    let input = lines(&[5000, 100, 3000, 200, 7000]);
    let ordered = Flags {
        window: 1000,
        slide: 1000,
        disorder: None,
        lateness: 0,
    };
    let (counts, late) = windowcount(&input, ordered);
    assert_eq!((&counts, late), (&reference(&input, ordered).0, 3));
    assert_eq!(counts.get(&(6000, "w".to_string())), Some(&1), "{counts:?}");

    let disordered = Flags {
        disorder: Some(3000),
        ..ordered
    };
    let (counts, late) = windowcount(&input, disordered);
    assert_eq!((&counts, late), (&reference(&input, disordered).0, 2));
    assert_eq!(counts.get(&(4000, "w".to_string())), Some(&1), "{counts:?}");
}

/// The late words are reported on stderr in a sentence, and none when nothing is late.
#[test]
fn late_words_are_reported_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "5000 a b\n100 c d\n7000 e\n").unwrap();
    let run = |input: &std::path::Path, out: &str| {
        sluice()
            .args(["run", "windowcount", "--input"])
            .arg(input)
            .arg("--output")
            .arg(dir.path().join(out))
            .output()
            .unwrap()
    };
    let message = stderr(&run(&input, "out"));
    assert!(
        message.contains("sluice: 2 late word(s) dropped (from lines later than the watermark"),
        "{message}"
    );
    std::fs::write(&input, "100 c d\n5000 a b\n7000 e\n").unwrap();
    let message = stderr(&run(&input, "out-ordered"));
    assert!(!message.contains("late"), "{message}");
}

fn arbitrary_lines() -> impl Strategy<Value = Vec<Line>> {
    // Times that mostly rise, with some lines far behind.
    let line = (0u64..40, 0u64..3000, prop::bool::weighted(0.2), 1usize..3);
    prop::collection::vec(line, 1..60).prop_map(|raw| {
        let mut now = 0;
        raw.into_iter()
            .map(|(step, back, far, n)| {
                now += step * 25;
                let behind = if far { back } else { back % 300 };
                Line {
                    event: now.saturating_sub(behind),
                    words: (0..n)
                        .map(|k| format!("w{}", (now + k as u64) % 4))
                        .collect(),
                }
            })
            .collect()
    })
}

fn arbitrary_flags() -> impl Strategy<Value = Flags> {
    (1u64..4, prop::option::of(0u64..800), 0u64..600).prop_flat_map(
        |(slides, disorder, lateness)| {
            (100u64..600).prop_map(move |slide| Flags {
                window: slide * slides,
                slide,
                disorder,
                lateness,
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random out-of-order lines, with and without a disorder bound, with lateness, in
    /// tumbling and sliding windows: windowcount's counts and late words are the plain loop's.
    #[test]
    fn windowcount_agrees_with_a_plain_loop(lines in arbitrary_lines(), flags in arbitrary_flags()) {
        let (counts, late) = windowcount(&lines, flags);
        let (expected, expected_late) = reference(&lines, flags);
        prop_assert_eq!(counts, expected);
        prop_assert_eq!(late, expected_late);
    }
}
