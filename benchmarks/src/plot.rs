//! SVG plots of a benchmark's results, for people who would rather look than read a table.
//!
//! - `latency-cdf-<workload>-<rate>.svg`: the latency distribution of every mode at one rate,
//!   on a log scale, so native's sub-millisecond tail and a batch interval's plateau are both
//!   visible;
//! - `interval.svg`: what the batch interval buys and costs — max throughput, and p99 latency
//!   at each rate, against the interval, with native mode as a dashed line.

use std::path::{Path, PathBuf};

use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

use crate::latency::LatencyMeasurement;
use crate::mode::Mode;
use crate::report::si;
use crate::throughput::Measurement;

type Failure = Box<dyn std::error::Error>;

const SIZE: (u32, u32) = (900, 560);

/// Distinct, readable line colours, in order of use.
const COLORS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBAColor {
    COLORS[i % COLORS.len()].to_rgba()
}

/// Writes every plot into `dir`; returns the files written.
pub fn write_plots(
    dir: &Path,
    max_throughput: &[Measurement],
    latency: &[LatencyMeasurement],
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let mut groups: Vec<(String, Vec<&LatencyMeasurement>)> = Vec::new();
    for m in latency {
        let c = &m.config;
        let name = format!("latency-cdf-{}-{}w-{}.svg", c.workload, c.workers, c.rate);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, group)) => group.push(m),
            None => groups.push((name, vec![m])),
        }
    }
    for (name, group) in groups {
        let path = dir.join(name);
        latency_cdf(&path, &group).map_err(|e| format!("cannot plot {}: {e}", path.display()))?;
        written.push(path);
    }
    if max_throughput.iter().any(|m| interval(m.mode).is_some())
        || latency
            .iter()
            .any(|m| m.config.mode.interval_ms().is_some())
    {
        let path = dir.join("interval.svg");
        against_interval(&path, max_throughput, latency)
            .map_err(|e| format!("cannot plot {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn interval(mode: Option<Mode>) -> Option<u64> {
    mode.and_then(Mode::interval_ms)
}

/// Latency CDFs of the configurations in `group` (same workload, workers and rate).
fn latency_cdf(path: &Path, group: &[&LatencyMeasurement]) -> Result<(), Failure> {
    let c = &group[0].config;
    let title = format!(
        "{} at {} lines/s, {} workers: latency from scheduled send time",
        c.workload,
        si(c.rate),
        c.workers
    );
    let series: Vec<(String, &[(f64, f64)])> = group
        .iter()
        .map(|m| (m.config.mode.to_string(), m.cdf.as_slice()))
        .collect();
    cdf_chart(path, &title, "latency (ms, log scale)", &series)
}

/// Cumulative distributions `(ms, fraction)`, one line per named series, on a log time axis.
pub fn cdf_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    series: &[(String, &[(f64, f64)])],
) -> Result<(), Failure> {
    let points = series.iter().flat_map(|(_, cdf)| cdf.iter().map(|p| p.0));
    let (lo, hi) = points.fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (lo, hi) = ((lo * 0.8).max(1e-3), (hi * 1.25).max(lo * 10.0));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("fraction of records")
        .draw()?;
    for (i, (name, cdf)) in series.iter().enumerate() {
        let color = color(i);
        chart
            .draw_series(LineSeries::new(cdf.iter().copied(), color.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Max throughput and p99 latency against the batch interval; native as dashed lines.
fn against_interval(
    path: &Path,
    max_throughput: &[Measurement],
    latency: &[LatencyMeasurement],
) -> Result<(), Failure> {
    let intervals = max_throughput
        .iter()
        .filter_map(|m| interval(m.mode))
        .chain(latency.iter().filter_map(|m| m.config.mode.interval_ms()));
    let (lo, hi) = intervals.fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i), hi.max(i)));
    let span = (lo as f64 / 2.0, hi as f64 * 2.0);
    let x_range = (span.0..span.1).log_scale();
    let root = SVGBackend::new(path, (SIZE.0, SIZE.1 * 2)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(SIZE.1);

    // Max throughput: one line per worker count (file source).
    let throughput: Vec<&Measurement> = max_throughput
        .iter()
        .filter(|m| m.mode.is_some() && m.source == "file")
        .collect();
    let y_max = throughput
        .iter()
        .map(|m| m.words_per_sec.median)
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&top)
        .caption(
            "word count, max throughput (file source)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.clone(), 0f64..y_max * 1.2)?;
    chart
        .configure_mesh()
        .x_desc("batch interval (ms, log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("words/s")
        .y_label_formatter(&|y| si(*y))
        .draw()?;
    let mut workers: Vec<usize> = throughput.iter().map(|m| m.workers).collect();
    workers.dedup();
    for (i, w) in workers.iter().enumerate() {
        let series = throughput.iter().filter(|m| m.workers == *w);
        let batched = series
            .clone()
            .filter_map(|m| Some((interval(m.mode)? as f64, m.words_per_sec.median)));
        let native = series
            .clone()
            .find(|m| m.mode == Some(Mode::Native))
            .map(|m| m.words_per_sec.median);
        let label = format!("{w} workers");
        draw_against_interval(
            &mut chart,
            span,
            batched.collect(),
            native,
            &label,
            color(i),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    // p99 latency: one line per (workload, rate, workers, load).
    let mut keys: Vec<String> = Vec::new();
    for m in latency {
        let key = series_key(m);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let y_top = latency.iter().map(|m| m.p99_ms.median).fold(1.0, f64::max) * 2.0;
    let y_bottom = latency
        .iter()
        .map(|m| m.p99_ms.median)
        .fold(f64::MAX, f64::min)
        .clamp(1e-3, 1.0)
        / 2.0;
    let mut chart = ChartBuilder::on(&bottom)
        .caption("p99 latency at fixed rates", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, (y_bottom..y_top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("batch interval (ms, log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("p99 latency (ms, log scale)")
        .draw()?;
    for (i, key) in keys.iter().enumerate() {
        let series = latency.iter().filter(|m| series_key(m) == *key);
        let batched = series
            .clone()
            .filter_map(|m| Some((m.config.mode.interval_ms()? as f64, m.p99_ms.median)));
        let native = series
            .clone()
            .find(|m| m.config.mode == Mode::Native)
            .map(|m| m.p99_ms.median);
        draw_against_interval(&mut chart, span, batched.collect(), native, key, color(i))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// One measure against the batch interval: the micro-batch points, joined, and native mode (if
/// measured) as a dashed line across the chart, both labelled with `what`.
fn draw_against_interval<Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<LogCoord<f64>, Y>>,
    (from, to): (f64, f64),
    batched: Vec<(f64, f64)>,
    native: Option<f64>,
    what: &str,
    color: RGBAColor,
) -> Result<(), Failure> {
    let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], color);
    chart
        .draw_series(LineSeries::new(batched.clone(), color.stroke_width(2)))?
        .label(format!("micro-batch, {what}"))
        .legend(legend);
    chart.draw_series(batched.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
    if let Some(y) = native {
        let line = [(from, y), (to, y)];
        chart
            .draw_series(DashedLineSeries::new(line, 8, 6, color.stroke_width(1)))?
            .label(format!("native, {what}"))
            .legend(legend);
    }
    Ok(())
}

/// "wordcount 100k lines/s, 2 workers" — what one p99 line is about.
fn series_key(m: &LatencyMeasurement) -> String {
    let c = &m.config;
    format!("{} {} lines/s, {}w", c.workload, si(c.rate), c.workers)
}
