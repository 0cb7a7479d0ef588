//! Summaries of measurements: the spread of several runs, and latency percentiles.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Min, median and max of a set of runs.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Spread {
    /// The smallest value.
    pub min: f64,
    /// The middle value (the upper one of an even count): the figure reported.
    pub median: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all zero if there are none).
    pub fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => Spread::default(),
            n => Spread {
                min: v[0],
                median: v[n / 2],
                max: v[n - 1],
            },
        }
    }
}

/// Latency percentiles in ms.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// The median, in ms.
    pub p50: f64,
    /// The 99th percentile, in ms.
    pub p99: f64,
    /// The 99.9th percentile, in ms.
    pub p999: f64,
    /// The largest, in ms.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of a histogram of nanoseconds.
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        let ms = |nanos: u64| nanos as f64 / 1e6;
        Percentiles {
            p50: ms(histogram.value_at_quantile(0.5)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

/// The distribution of a histogram of nanoseconds as (ms, fraction of samples at or below):
/// every 2% up to 90%, then spaced evenly on a log scale of 1 / (1 − q) to show the tail, then
/// the maximum.
///
/// ```
/// let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
/// for nanos in 1..=1000 { h.record(nanos * 1000).unwrap(); }
/// let cdf = sluice_bench::stats::cdf(&h);
/// assert!(cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
/// assert_eq!(cdf.last().unwrap().1, 1.0);
/// ```
pub fn cdf(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let body = (0..45).map(|k| k as f64 * 0.02); // 0, 0.02, …, 0.88
    let tail = (10..=50).map(|k| 1.0 - 10f64.powf(-(k as f64) / 10.0)); // 0.9, …, 0.99999
    let mut points: Vec<(f64, f64)> = body
        .chain(tail)
        .map(|q| (histogram.value_at_quantile(q) as f64 / 1e6, q))
        .collect();
    points.push((histogram.max() as f64 / 1e6, 1.0));
    points
}
