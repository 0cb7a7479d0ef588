//! The views `sluice compare lambda-kappa` serves: one per workload, each in two versions —
//! version 2 is the "code change" that forces reprocessing.
//!
//! Every view counts: an event adds 1 to each of its keys, and the view holds each key's
//! running count. That makes the batch and real-time parts of a lambda view add up, and lets a
//! plain loop over the log say what every key must hold. Windowed views put the window in the
//! key (`WINDOW/#tag`, `CAMPAIGN/WINDOW`), computed from the event time the event carries, so
//! a late event counts in the window it belongs to, whenever it arrives — an update to a view
//! row, as YSB's jobs write window counts to Redis.
//!
//! | workload    | version 1                              | version 2 (the code change)       |
//! |-------------|----------------------------------------|-----------------------------------|
//! | `wordcount` | each word                              | words lower-cased                 |
//! | `hashtags`  | each hashtag per 1 s window            | per 5 s window                    |
//! | `ysb`       | ad views per campaign per 10 s window  | views and clicks ("engagements")  |
//!
//! Every 100th event is a *probe* whose key no other event has (`Probe<i>`), so that the
//! moment it becomes visible in the served view is the moment that event was processed.
//!
//! ```
//! use sluice_bench::architectures::views::ViewWorkload;
//! let (_, line) = ViewWorkload::Hashtags.event(99);
//! assert_eq!(ViewWorkload::Hashtags.keys(1, &line), vec!["10000/#Probe99".to_string()]);
//! ```

use std::sync::{Arc, OnceLock};

use sluice_engine::hash::HashMap;
use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::{Corpus, CorpusSpec};
use sluice_engine::sources::generator::Lines;

use super::kappa::ViewProgram;
use sluice_jobs::tweets::TweetSpec;
use sluice_jobs::ysb::{self, AdEvents};

/// What the architectures compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewWorkload {
    /// Running count of each word (version 2: lower-cased).
    Wordcount,
    /// Count of each hashtag per 1 s event-time window (version 2: per 5 s window).
    Hashtags,
    /// YSB's ad views per campaign per 10 s event-time window (version 2: views and clicks).
    Ysb,
}

/// Whether event `i` is a probe of freshness: every 100th.
pub fn is_probe(i: u64) -> bool {
    i % 100 == 99
}

/// Whether event `i` is late: every 37th.
pub fn is_late(i: u64) -> bool {
    i.is_multiple_of(37)
}

/// The event time of event `i`: 10 per ms from 10 s on, a late one 5 s earlier.
pub fn event_time(i: u64) -> Time {
    let t = 10_000 + i / 10;
    if is_late(i) {
        t - 5_000
    } else {
        t
    }
}

impl ViewWorkload {
    /// The workload called `name`.
    pub fn named(name: &str) -> Option<ViewWorkload> {
        match name {
            "wordcount" => Some(ViewWorkload::Wordcount),
            "hashtags" => Some(ViewWorkload::Hashtags),
            "ysb" => Some(ViewWorkload::Ysb),
            _ => None,
        }
    }

    /// Event `i`: its time in the log and its line. Windowed workloads' lines start with
    /// their event time, as YSB's events carry theirs.
    pub fn event(&self, i: u64) -> (Time, String) {
        let t = event_time(i);
        let line = match (self, is_probe(i)) {
            (ViewWorkload::Wordcount, true) => format!("Probe{i}"),
            (ViewWorkload::Wordcount, false) => {
                static WORDS: OnceLock<Corpus> = OnceLock::new();
                WORDS
                    .get_or_init(|| Corpus::new(CorpusSpec::default()))
                    .line(i)
            }
            (ViewWorkload::Hashtags, true) => format!("{t} #Probe{i}"),
            (ViewWorkload::Hashtags, false) => {
                static TAGS: OnceLock<Corpus> = OnceLock::new();
                let spec = TweetSpec::default();
                let tags = spec.tweet_in(TAGS.get_or_init(|| spec.corpus()), i).tags;
                format!("{t} {}", tags.join(" "))
            }
            (ViewWorkload::Ysb, true) => format!("{t} u0 p0 Probe{i} banner view 0"),
            (ViewWorkload::Ysb, false) => {
                let mut line = format!("{t} ");
                AdEvents::new(7).write_line(i, &mut line);
                line
            }
        };
        (t, line)
    }

    /// The keys `line` adds 1 to in `version` of the view.
    pub fn keys(&self, version: u32, line: &str) -> Vec<String> {
        match self {
            ViewWorkload::Wordcount => line
                .split_ascii_whitespace()
                .map(|w| match version {
                    1 => w.to_string(),
                    _ => w.to_lowercase(),
                })
                .collect(),
            ViewWorkload::Hashtags => {
                let Some((time, tags)) = timed(line) else {
                    return Vec::new();
                };
                let window = window_start(time, if version == 1 { 1_000 } else { 5_000 });
                tags.split(' ')
                    .filter(|t| t.starts_with('#'))
                    .map(|tag| format!("{window}/{tag}"))
                    .collect()
            }
            ViewWorkload::Ysb => {
                let Some((time, event)) = timed(line) else {
                    return Vec::new();
                };
                let Some(event) = ysb::parse(event) else {
                    return Vec::new();
                };
                let counted = match version {
                    1 => event.event_type == "view",
                    _ => event.event_type == "view" || event.event_type == "click",
                };
                match campaign(event.ad).filter(|_| counted) {
                    Some(campaign) => vec![format!("{campaign}/{}", window_start(time, 10_000))],
                    None => Vec::new(),
                }
            }
        }
    }

    /// `version` of the view program: the keys of each line, counted.
    pub fn view(self, version: u32) -> ViewProgram {
        counting_view(move |line| self.keys(version, line))
    }
}

/// The view program that counts the keys `keys` finds in each line.
pub fn counting_view(keys: impl Fn(&str) -> Vec<String> + Send + Sync + 'static) -> ViewProgram {
    let keys = Arc::new(keys);
    Arc::new(move |lines| {
        let keys = keys.clone();
        lines
            .flat_map(move |line: String| keys(&line).into_iter().map(|k| (k, ())))
            .map_with_state(|key: &String, (), count: &mut Option<u64>| {
                let count = count.get_or_insert(0);
                *count += 1;
                (key.clone(), *count)
            })
    })
}

/// A windowed line's event time and the rest of it.
fn timed(line: &str) -> Option<(Time, &str)> {
    let (time, rest) = line.split_once(' ')?;
    Some((time.parse().ok()?, rest))
}

fn window_start(time: Time, size: Time) -> Time {
    time / size * size
}

/// The campaign of an ad (YSB's static table, one copy per process); a probe ad is its own.
fn campaign(ad: &str) -> Option<String> {
    static TABLE: OnceLock<Arc<HashMap<String, String>>> = OnceLock::new();
    let table = TABLE.get_or_init(ysb::campaigns);
    match table.get(ad) {
        Some(campaign) => Some(campaign.clone()),
        None => ad.starts_with("Probe").then(|| ad.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_event_counts_in_the_window_of_its_own_time() {
        let late = (0..1_000)
            .find(|&i| is_late(i) && !is_probe(i) && i > 0)
            .unwrap();
        let (log_time, line) = ViewWorkload::Hashtags.event(late);
        assert_eq!(log_time, event_time(late));
        assert!(event_time(late) < event_time(late - 1));
        let window = event_time(late) / 1_000 * 1_000;
        let keys = ViewWorkload::Hashtags.keys(1, &line);
        assert!(!keys.is_empty());
        assert!(
            keys.iter().all(|k| k.starts_with(&format!("{window}/#"))),
            "{keys:?}"
        );
    }

    #[test]
    fn ysb_counts_views_then_engagements_per_campaign_and_10_s_window() {
        let (mut views, mut clicks, mut purchases) = (0, 0, 0);
        for i in 0..300 {
            let (time, line) = ViewWorkload::Ysb.event(i);
            let (v1, v2) = (
                ViewWorkload::Ysb.keys(1, &line),
                ViewWorkload::Ysb.keys(2, &line),
            );
            let window = time / 10_000 * 10_000;
            match line.split(' ').nth(5).unwrap() {
                "view" => {
                    views += 1;
                    assert_eq!(v1, v2);
                    assert!(v1[0].ends_with(&format!("/{window}")), "{line} → {v1:?}");
                }
                "click" => {
                    clicks += 1;
                    assert!(v1.is_empty());
                    assert_eq!(v2.len(), 1);
                }
                _ => {
                    purchases += 1;
                    assert!(v1.is_empty() && v2.is_empty());
                }
            }
        }
        assert!(views > 0 && clicks > 0 && purchases > 0);
    }

    #[test]
    fn every_probe_has_one_key_no_other_event_has() {
        for workload in [
            ViewWorkload::Wordcount,
            ViewWorkload::Hashtags,
            ViewWorkload::Ysb,
        ] {
            let mut owners = std::collections::HashMap::new();
            for i in 0..1_000 {
                for version in [1, 2] {
                    for key in workload.keys(version, &workload.event(i).1) {
                        owners
                            .entry((version, key))
                            .or_insert_with(Vec::new)
                            .push(i);
                    }
                }
            }
            for i in (0..1_000).filter(|&i| is_probe(i)) {
                let keys = workload.keys(1, &workload.event(i).1);
                assert_eq!(keys.len(), 1, "{workload:?} {i}");
                assert_eq!(owners[&(1, keys[0].clone())], vec![i], "{workload:?}");
            }
        }
    }
}
