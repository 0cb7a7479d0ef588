//! Sensor anomaly detection in event time: each sensor's average reading over a sliding window,
//! and an alert when it rises above a threshold.
//!
//! Readings carry the time they were taken and may arrive out of order (up to `DISORDER_MS`);
//! windows close when the watermark passes their end, so the averages do not depend on the
//! order in which readings arrive. Only (sum, count) is kept per window and sensor.
//!
//! ```sh
//! cargo run --release --example sensor_anomalies
//! ```

use std::sync::Arc;
use std::time::Duration;

use sluice::engine::operators::event_window::EventWindowAggregates;
use sluice::prelude::*;

/// The averaging window and its slide.
pub const WINDOW: Duration = Duration::from_secs(60);
pub const SLIDE: Duration = Duration::from_secs(10);
/// How much out of order readings may arrive (the watermarks' bound).
pub const DISORDER_MS: Time = 5_000;
/// An average above this raises an alert.
pub const THRESHOLD: f64 = 80.0;

/// A reading: sensor, when (ms), value.
pub type Reading = (String, Time, f64);

/// `(window end, sensor, average)` for every window whose average is above [`THRESHOLD`].
pub fn alerts(readings: Stream<'_, Reading>) -> Stream<'_, (Time, String, f64)> {
    let (sums, _too_late) = readings
        .with_event_time(
            |(_, at, _)| *at,
            Watermarks::bounded_out_of_orderness(DISORDER_MS),
        )
        .aggregate_by_event_window(
            WindowSpec::sliding(WINDOW, SLIDE),
            0,
            |acc: &mut (f64, u64), value| {
                acc.0 += value;
                acc.1 += 1;
            },
        );
    sums.flat_map(|w| {
        let average = w.value.0 / w.value.1 as f64;
        (average > THRESHOLD).then_some((w.end, w.key, average))
    })
}

/// Ten minutes of readings every second from three sensors; "boiler" overheats for two minutes.
pub fn sample() -> Vec<Reading> {
    let mut readings = Vec::new();
    for second in 0..600u64 {
        for sensor in ["boiler", "pump", "valve"] {
            let hot = sensor == "boiler" && (300..420).contains(&second);
            let value = if hot {
                95.0
            } else {
                60.0 + (second % 7) as f64
            };
            readings.push((sensor.to_string(), second * 1000, value));
        }
    }
    readings
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let readings = Arc::new(sample());
    let found = Collector::new();
    let sink = found.clone();
    execute(Execution::default().workers(2), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mine: Vec<Reading> = readings
            .iter()
            .skip(index)
            .step_by(peers)
            .cloned()
            .collect();
        worker.dataflow(|scope| alerts(scope.iterator_source(mine)).collect_into(&sink));
    })?;
    let mut found = found.take();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    for (end, sensor, average) in found {
        println!(
            "{sensor}: average {average:.1} over the minute ending at {} s",
            end / 1000
        );
    }
    Ok(())
}
