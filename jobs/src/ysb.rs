//! The Yahoo Streaming Benchmark (2015): ad events → keep views → join each ad with its
//! campaign → count views per campaign in tumbling windows (10 s in the original).
//!
//! Events come from [`AdEvents`], an indexable generator (event `i` is made on its own, as the
//! corpus lines are), one event per line: `user page ad ad_type event_type ip`. The event time
//! is the line's scheduled send time, as in the original, where events carry the time they were
//! generated. The ad → campaign table is static and small; every worker holds a copy (a
//! broadcast stream–table join: a lookup, no shuffle), as YSB's Redis lookup does.

use std::sync::Arc;
use std::time::Duration;

use sluice_engine::hash::{new_map, HashMap};
use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::SplitMix64;
use sluice_engine::sources::generator::Lines;
use sluice_minibatch::DStream;

use crate::probe::{Probe, Timed};

/// Campaigns, as in the original benchmark.
pub const CAMPAIGNS: u64 = 100;
/// Ads per campaign, as in the original benchmark.
pub const ADS_PER_CAMPAIGN: u64 = 10;
const AD_TYPES: [&str; 5] = ["banner", "modal", "sponsored-search", "mail", "mobile"];
const EVENT_TYPES: [&str; 3] = ["view", "click", "purchase"];

/// The ad-event generator.
#[derive(Clone, Debug)]
pub struct AdEvents {
    seed: u64,
}

impl AdEvents {
    /// Events drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        AdEvents { seed }
    }
}

impl Lines for AdEvents {
    fn write_line(&self, index: u64, out: &mut String) {
        use std::fmt::Write;
        let mut rng = SplitMix64::at(self.seed, index.wrapping_mul(6));
        let user = rng.next_u64() % 100_000;
        let page = rng.next_u64() % 10_000;
        let ad = rng.next_u64() % (CAMPAIGNS * ADS_PER_CAMPAIGN);
        let ad_type = AD_TYPES[(rng.next_u64() % 5) as usize];
        let event_type = EVENT_TYPES[(rng.next_u64() % 3) as usize];
        let ip = rng.next_u64() as u32;
        let _ = write!(out, "u{user} p{page} ad{ad} {ad_type} {event_type} {ip}");
    }
}

/// An ad event's fields that the benchmark uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdEvent<'a> {
    /// The ad's id.
    pub ad: &'a str,
    /// `view`, `click` or `purchase`.
    pub event_type: &'a str,
}

/// Parses the fields YSB uses from an event line, if it is well formed.
pub fn parse(line: &str) -> Option<AdEvent<'_>> {
    let mut fields = line.split(' ');
    let (_user, _page, ad, _ad_type, event_type) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    Some(AdEvent { ad, event_type })
}

/// Whether an event line counts: a view (YSB's filter).
pub fn is_view(line: &str) -> bool {
    parse(line).is_some_and(|e| e.event_type == "view")
}

/// The static ad → campaign table, shared by the workers of a process.
pub fn campaigns() -> Arc<HashMap<String, String>> {
    let mut table = new_map();
    for ad in 0..CAMPAIGNS * ADS_PER_CAMPAIGN {
        table.insert(
            format!("ad{ad}"),
            format!("campaign{}", ad / ADS_PER_CAMPAIGN),
        );
    }
    Arc::new(table)
}

/// The campaign of a view event line (the filter and the join together).
pub fn campaign_of_view(line: &str, table: &HashMap<String, String>) -> Option<String> {
    let event = parse(line)?;
    (event.event_type == "view")
        .then(|| table.get(event.ad).cloned())
        .flatten()
}

/// Timed YSB, native: views joined with their campaign, counted per campaign in event-time
/// tumbling windows of `window`.
pub fn timed_native(lines: Stream<'_, Timed>, window: Duration, probe: &Probe) {
    let table = campaigns();
    let (counts, _late) = lines
        .with_event_time(|(sent, _)| sent / 1_000_000, Watermarks::ascending())
        .flat_map(move |(sent, line)| {
            campaign_of_view(&line, &table).map(|campaign| (campaign, sent / 1_000_000))
        })
        .count_by_event_window(WindowSpec::tumbling(window), 0);
    probe.window_results(counts.map(|w| w.count));
}

/// Timed YSB, micro-batch: the same, in windows of batches.
pub fn timed_minibatch(lines: DStream<'_, Timed>, window: Duration, probe: &Probe) {
    let table = campaigns();
    let counts = lines
        .flat_map(move |(_, line)| campaign_of_view(&line, &table))
        .count_by_value_and_window(window, window);
    probe.window_results(counts.into_stream().flat_map(|(_, n)| (n > 0).then_some(n)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_indexable_and_a_third_are_views() {
        let events = AdEvents::new(7);
        assert_eq!(events.line(12345), events.line(12345));
        let views = (0..3000).filter(|i| is_view(&events.line(*i))).count();
        assert!((800..1200).contains(&views), "{views} views in 3000 events");
        let table = campaigns();
        let line = events.line(0);
        let ad: u64 = parse(&line).unwrap().ad[2..].parse().unwrap();
        assert!(ad < CAMPAIGNS * ADS_PER_CAMPAIGN);
        assert_eq!(table[&format!("ad{ad}")], format!("campaign{}", ad / 10));
    }
}
