//! SVG plots of a benchmark's results, for people who would rather look than read a table.
//!
//! - `latency-cdf-<workload>-<rate>.svg`: the latency distribution of every mode at one rate,
//!   on a log scale, so native's sub-millisecond tail and a batch interval's plateau are both
//!   visible;
//! - `interval.svg`: what the batch interval buys and costs — max throughput, and p99 latency
//!   at each rate, against the interval, with native mode as a dashed line.
//!
//! A mode has one colour in every plot of a run (native red; the intervals, shortest first,
//! blue, green, purple, …), legends draw each line as the chart does, log axes are labelled at
//! every decade from the smallest value plotted ([`log_ticks`]), and titles say where latency
//! is measured from (a record's scheduled send time, or a window's end).

use std::path::{Path, PathBuf};

use plotters::coord::combinators::{BindKeyPoints, LogCoord, WithKeyPoints};
use plotters::coord::ranged1d::Ranged;
use plotters::element::{DashedPathElement, Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::DrawingErrorKind;

use crate::latency::LatencyMeasurement;
use crate::report::si;
use crate::throughput::Measurement;
use sluice_jobs::Mode;

type Failure = Box<dyn std::error::Error>;

const SIZE: (u32, u32) = (900, 560);
const MARGIN: u32 = 15;
const CAPTION_PX: u32 = 20;
const X_LABEL_AREA: u32 = 45;
const Y_LABEL_AREA: u32 = 70;

/// Native mode's colour, in every plot.
const NATIVE: RGBColor = RGBColor(214, 39, 40);
/// The batch intervals' colours, shortest interval first.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
];
/// The line joining a series' micro-batch points: its points carry their intervals' colours.
const JOIN: RGBColor = RGBColor(90, 90, 90);

/// The `i`-th colour for series that are not modes (the architectures' CDFs): native's, then
/// the intervals'.
pub fn series_color(i: usize) -> RGBColor {
    match i % (COLORS.len() + 1) {
        0 => NATIVE,
        k => COLORS[k - 1],
    }
}

/// One colour per mode, the same in every plot of a run: native red, the batch intervals in
/// increasing order through [`COLORS`] — so a 100 ms CDF and the 100 ms point of
/// `interval.svg` are the same colour.
struct Palette {
    intervals: Vec<u64>,
}

impl Palette {
    fn of(modes: impl Iterator<Item = Mode>) -> Palette {
        let mut intervals: Vec<u64> = modes.filter_map(Mode::interval_ms).collect();
        intervals.sort_unstable();
        intervals.dedup();
        Palette { intervals }
    }
    fn color(&self, mode: Mode) -> RGBColor {
        match mode.interval_ms() {
            None => NATIVE,
            Some(ms) => {
                let i = self.intervals.iter().position(|&x| x == ms).unwrap_or(0);
                COLORS[i % COLORS.len()]
            }
        }
    }
}

/// Where a log axis puts its labels and light grid lines.
#[derive(Debug, PartialEq)]
pub struct LogTicks {
    /// Labelled values, increasing.
    pub labels: Vec<f64>,
    /// Unlabelled light grid lines (2…9 times each decade, where they are not crowded).
    pub light: Vec<f64>,
}

/// The ticks of a log axis from `lo` to `hi` that is `pixels` long. Every decade in the range
/// is labelled, so every value plotted has a labelled decade at or below it (with
/// [`log_floor`] as `lo`, down to the smallest); then, greedily, 5, 2, 3, 7, 4, 6, 8 and 9
/// times a decade where the label keeps at least `min_gap` pixels from every other — plotters'
/// own log ticks crowd and overlap, and leave a curve below the first labelled decade unread.
/// Light lines mark the other multiples where a decade is wide enough for them to be apart.
pub fn log_ticks(lo: f64, hi: f64, pixels: f64, min_gap: f64) -> LogTicks {
    let (lo, hi) = (lo.max(f64::MIN_POSITIVE), hi.max(lo * 1.000_001));
    let at = |x: f64| (x.ln() - lo.ln()) / (hi.ln() - lo.ln()) * pixels;
    let inside = |x: f64| x >= lo * (1.0 - 1e-9) && x <= hi * (1.0 + 1e-9);
    let decades = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
    let times = |m: u32| {
        decades
            .clone()
            .map(move |k| scaled(m, k))
            .filter(move |&x| inside(x))
    };
    let mut labels: Vec<f64> = times(1).collect();
    for m in [5, 2, 3, 7, 4, 6, 8, 9] {
        for x in times(m) {
            if labels.iter().all(|&l| (at(l) - at(x)).abs() >= min_gap) {
                labels.push(x);
            }
        }
    }
    labels.sort_by(f64::total_cmp);
    let decade_px = at(lo * 10.0);
    let light = if decade_px >= 80.0 {
        (2..=9)
            .flat_map(times)
            .filter(|x| !labels.contains(x))
            .collect()
    } else {
        Vec::new()
    };
    LogTicks { labels, light }
}

/// `m × 10^k`, rounded as the decimal it stands for (so that it prints as `0.005`).
fn scaled(m: u32, k: i32) -> f64 {
    if k >= 0 {
        m as f64 * 10f64.powi(k)
    } else {
        m as f64 / 10f64.powi(-k)
    }
}

/// The decade at or below `x` (at least 0.001): a log axis starting there labels the decade
/// of the smallest value plotted.
pub fn log_floor(x: f64) -> f64 {
    scaled(1, x.max(1e-3).log10().floor() as i32)
}

/// A log axis from `lo` to `hi` with [`log_ticks`] for an axis `pixels` long, labels at least
/// `min_gap` pixels apart.
fn log_axis(lo: f64, hi: f64, pixels: u32, min_gap: f64) -> WithKeyPoints<LogCoord<f64>> {
    let ticks = log_ticks(lo, hi, pixels as f64, min_gap);
    (lo..hi)
        .log_scale()
        .with_key_points(ticks.labels)
        .with_light_points(ticks.light)
}

/// A tick value as text: `0.005`, `2`, `1000` (the shortest decimal of the value).
fn tick_label(x: &f64) -> String {
    format!("{x}")
}

/// The plotting area's width and height in a chart of `size` with one caption line (the
/// caption takes its font size and some spacing), for the tick layout.
fn plot_pixels(size: (u32, u32)) -> (u32, u32) {
    (
        size.0 - 2 * MARGIN - Y_LABEL_AREA,
        size.1 - 2 * MARGIN - X_LABEL_AREA - CAPTION_PX - 10,
    )
}

/// Minimum pixels between labels: along x, room for a label like `0.005`; along y, a line.
const X_GAP: f64 = 48.0;
const Y_GAP: f64 = 22.0;

/// How a series is drawn, and drawn again as its legend sample.
#[derive(Clone, Copy)]
struct Look {
    color: RGBColor,
    /// Dash and gap lengths in pixels, for a dashed line.
    dash: Option<(u32, u32)>,
    /// The shape of the series' points, if they are marked.
    marker: Option<Marker>,
}

/// Point shapes that tell series of one chart apart when colour means the mode.
#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Triangle,
    Square,
}

impl Marker {
    fn nth(i: usize) -> Marker {
        [Marker::Circle, Marker::Triangle, Marker::Square][i % 3]
    }
    /// Draws this marker at `at` (in backend pixels), filled with `color`: the one drawing of
    /// each shape, for the chart's points and for legend samples alike.
    fn draw<DB: DrawingBackend>(
        self,
        at: (i32, i32),
        color: RGBColor,
        backend: &mut DB,
        dim: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let fill = color.filled();
        let here = std::iter::once(at);
        match self {
            Marker::Circle => Circle::new(at, 4, fill).draw(here, backend, dim),
            Marker::Triangle => TriangleMarker::new(at, 6, fill).draw(here, backend, dim),
            Marker::Square => {
                let corners = [(at.0 - 4, at.1 - 4), (at.0 + 4, at.1 + 4)];
                Rectangle::new(corners, fill).draw(corners.into_iter(), backend, dim)
            }
        }
    }
}

/// Dash patterns that tell native lines of one chart apart.
fn dash(i: usize) -> (u32, u32) {
    [(10, 6), (3, 4), (16, 4)][i % 3]
}

const LINE_WIDTH: u32 = 2;

impl Look {
    fn line(color: RGBColor) -> Look {
        Look {
            color,
            dash: None,
            marker: None,
        }
    }
    /// The legend's sample at `at`.
    fn sample(self, at: (i32, i32)) -> Sample {
        Sample {
            at,
            look: self,
            line: true,
        }
    }
    /// This look's marker alone at `at` (a chart point).
    fn point<C>(self, at: C) -> Sample<C> {
        Sample {
            at,
            look: self,
            line: false,
        }
    }
}

/// A legend sample — the line as its series draws it (the same dashes, width and colour),
/// with the series' marker in its middle — or, without the line, a marked point of a chart.
///
/// One element type for every look, because plotters' legends take a closure's element and one
/// chosen at run time (a `DynElement`) would have to be `'static`, which an SVG chart's
/// elements are not.
struct Sample<C = (i32, i32)> {
    at: C,
    look: Look,
    line: bool,
}

/// A legend sample's length in pixels.
const SAMPLE_PX: i32 = 24;

impl<'a, C> PointCollection<'a, C> for &'a Sample<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Sample<C> {
    fn draw<I: Iterator<Item = (i32, i32)>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        dim: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else {
            return Ok(());
        };
        let (color, mut middle) = (self.look.color, (x, y));
        if self.line {
            let ends = [(x, y), (x + SAMPLE_PX, y)];
            let stroke = color.stroke_width(LINE_WIDTH);
            match self.look.dash {
                Some((dash, gap)) => DashedPathElement::new(ends, dash, gap, stroke).draw(
                    ends.into_iter(),
                    backend,
                    dim,
                ),
                None => PathElement::new(ends, stroke).draw(ends.into_iter(), backend, dim),
            }?;
            middle = (x + SAMPLE_PX / 2, y);
        }
        match self.look.marker {
            Some(marker) => marker.draw(middle, color, backend, dim),
            None => Ok(()),
        }
    }
}

/// What a run saved in `results.json` that its plots are drawn from.
#[derive(serde::Deserialize)]
struct Saved {
    max_throughput: Vec<Measurement>,
    latency: Vec<LatencyMeasurement>,
}

/// What a Nexmark run saved in `nexmark.json` that its plot is drawn from.
#[derive(serde::Deserialize)]
struct SavedNexmark {
    results: SavedNexmarkResults,
}

#[derive(serde::Deserialize)]
struct SavedNexmarkResults {
    throughput: Vec<crate::nexmark::Throughput>,
}

/// Redraws the plots of the run whose `results.json` (or, of a Nexmark run, `nexmark.json`)
/// is in `dir` (e.g. after the plots changed), measuring nothing; returns the files written.
pub fn redraw(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let nexmark = dir.join("nexmark.json");
    if nexmark.exists() {
        let text = std::fs::read_to_string(&nexmark)
            .map_err(|e| format!("cannot read {}: {e}", nexmark.display()))?;
        let saved: SavedNexmark = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a Nexmark result: {e}", nexmark.display()))?;
        let plot = dir.join("nexmark-throughput.svg");
        let target = crate::nexmark::TARGET_PER_CORE;
        nexmark_throughput(&plot, &saved.results.throughput, target)
            .map_err(|e| format!("cannot draw {}: {e}", plot.display()))?;
        return Ok(vec![plot]);
    }
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let saved: Saved = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a sluice bench result: {e}", path.display()))?;
    write_plots(dir, &saved.max_throughput, &saved.latency)
}

/// Writes every plot into `dir`; returns the files written.
pub fn write_plots(
    dir: &Path,
    max_throughput: &[Measurement],
    latency: &[LatencyMeasurement],
) -> Result<Vec<PathBuf>, String> {
    let palette = Palette::of(
        max_throughput
            .iter()
            .filter_map(|m| m.mode)
            .chain(latency.iter().map(|m| m.config.mode)),
    );
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
        latency_cdf(&path, &group, &palette)
            .map_err(|e| format!("cannot plot {}: {e}", path.display()))?;
        written.push(path);
    }
    if max_throughput.iter().any(|m| interval(m.mode).is_some())
        || latency
            .iter()
            .any(|m| m.config.mode.interval_ms().is_some())
    {
        let path = dir.join("interval.svg");
        against_interval(&path, max_throughput, latency, &palette)
            .map_err(|e| format!("cannot plot {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn interval(mode: Option<Mode>) -> Option<u64> {
    mode.and_then(Mode::interval_ms)
}

/// Latency CDFs of the configurations in `group` (same workload, workers and rate), one
/// colour per mode.
fn latency_cdf(
    path: &Path,
    group: &[&LatencyMeasurement],
    palette: &Palette,
) -> Result<(), Failure> {
    let c = &group[0].config;
    let title = format!(
        "{} at {} lines/s, {}: latency from {}",
        c.workload,
        si(c.rate),
        workers(c.workers),
        c.workload.latency_from()
    );
    let series: Vec<CdfSeries> = group
        .iter()
        .map(|m| {
            let mode = m.config.mode;
            (mode.to_string(), palette.color(mode), m.cdf.as_slice())
        })
        .collect();
    cdf_chart(path, &title, "latency (ms, log scale)", &series)
}

/// One line of [`cdf_chart`]: its name, its colour and its points `(ms, fraction)`.
pub type CdfSeries<'a> = (String, RGBColor, &'a [(f64, f64)]);

/// Cumulative distributions `(ms, fraction)`, one line per `(name, colour, points)`, on a log
/// time axis labelled from the decade of the smallest value up.
pub fn cdf_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    series: &[CdfSeries],
) -> Result<(), Failure> {
    let points = series
        .iter()
        .flat_map(|(_, _, cdf)| cdf.iter().map(|p| p.0));
    let (min, max) = match points.fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x))) {
        (min, max) if min <= max => (min, max),
        _ => (1.0, 10.0), // nothing measured: an empty chart, still with its axes
    };
    let lo = log_floor(min);
    let hi = (max * 1.25).max(lo * 10.0);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", CAPTION_PX))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(log_axis(lo, hi, plot_pixels(SIZE).0, X_GAP), 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&tick_label)
        .y_desc("fraction of records")
        .draw()?;
    for (name, color, cdf) in series {
        let look = Look::line(*color);
        // A zero latency (below any log axis) is drawn at the axis' start.
        let cdf = cdf.iter().map(move |&(x, y)| (x.max(lo), y));
        chart
            .draw_series(LineSeries::new(cdf, color.stroke_width(LINE_WIDTH)))?
            .label(name.as_str())
            .legend(move |p| look.sample(p));
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

/// Max throughput and p99 latency against the batch interval, one panel each (a panel with
/// nothing measured is left out). Each micro-batch point has its mode's colour (as in the
/// CDFs); native is a dashed line in native's colour; the series of one panel (worker counts,
/// rates) differ by marker shape and dash pattern.
fn against_interval(
    path: &Path,
    max_throughput: &[Measurement],
    latency: &[LatencyMeasurement],
    palette: &Palette,
) -> Result<(), Failure> {
    let intervals = max_throughput
        .iter()
        .filter_map(|m| interval(m.mode))
        .chain(latency.iter().filter_map(|m| m.config.mode.interval_ms()));
    let (lo, hi) = intervals.fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i), hi.max(i)));
    let axis = IntervalAxis {
        span: (lo as f64 / 2.0, hi as f64 * 2.0),
        palette,
    };
    let throughput: Vec<&Measurement> = max_throughput
        .iter()
        .filter(|m| m.mode.is_some() && m.source == "file")
        .collect();
    let panels = usize::from(!throughput.is_empty()) + usize::from(!latency.is_empty());
    let root = SVGBackend::new(path, (SIZE.0, SIZE.1 * panels as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut areas = root.split_evenly((panels, 1)).into_iter();
    if !throughput.is_empty() {
        let area = areas.next().expect("a panel per measure");
        throughput_panel(&area, &throughput, &axis)?;
    }
    if !latency.is_empty() {
        let area = areas.next().expect("a panel per measure");
        latency_panel(&area, latency, &axis)?;
    }
    root.present()?;
    Ok(())
}

/// The batch-interval axis the panels of `interval.svg` share, and the modes' colours.
struct IntervalAxis<'a> {
    span: (f64, f64),
    palette: &'a Palette,
}

impl IntervalAxis<'_> {
    fn range(&self) -> WithKeyPoints<LogCoord<f64>> {
        log_axis(self.span.0, self.span.1, plot_pixels(SIZE).0, X_GAP)
    }
    /// The legend shows each series' marker shape; the points' colours are their modes'.
    const DESC: &'static str =
        "batch interval (ms, log scale); each point in its mode's colour, as in the latency CDFs";
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Max throughput against the interval: one series per worker count (file source).
fn throughput_panel(
    area: &Area<'_>,
    throughput: &[&Measurement],
    axis: &IntervalAxis,
) -> Result<(), Failure> {
    let y_max = throughput
        .iter()
        .map(|m| m.words_per_sec.median)
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "word count, max throughput (file source)",
            ("sans-serif", CAPTION_PX),
        )
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(axis.range(), 0f64..y_max * 1.2)?;
    chart
        .configure_mesh()
        .x_desc(IntervalAxis::DESC)
        .x_label_formatter(&tick_label)
        .y_desc("words/s")
        .y_label_formatter(&|y| si(*y))
        .draw()?;
    let mut counts: Vec<usize> = throughput.iter().map(|m| m.workers).collect();
    counts.sort_unstable();
    counts.dedup();
    for (i, w) in counts.iter().enumerate() {
        let series = throughput.iter().filter(|m| m.workers == *w);
        let batched = series
            .clone()
            .filter_map(|m| Some((m.mode?, m.words_per_sec.median)));
        let native = series
            .clone()
            .find(|m| m.mode == Some(Mode::Native))
            .map(|m| m.words_per_sec.median);
        let measured = Measured {
            batched: batched.collect(),
            native,
        };
        let label = workers(*w);
        draw_against_interval(&mut chart, axis, measured, &label, i)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Height in pixels of a legend of `rows` series.
fn legend_px(rows: usize) -> f64 {
    rows as f64 * 15.0 + 20.0
}

/// The top of a log axis from `bottom` whose values reach `max`, with room above them for a
/// legend `legend` pixels tall on an axis `pixels` long: in log terms, the data may fill only
/// the part of the axis below the legend.
fn log_top_below_legend(bottom: f64, max: f64, legend: f64, pixels: f64) -> f64 {
    let free = (1.0 - legend / pixels).max(0.2);
    bottom * (max / bottom).max(10f64.sqrt()).powf(1.0 / free)
}

/// p99 latency against the interval: one series per (rate, workers).
fn latency_panel(
    area: &Area<'_>,
    latency: &[LatencyMeasurement],
    axis: &IntervalAxis,
) -> Result<(), Failure> {
    let mut keys: Vec<String> = Vec::new();
    for m in latency {
        let key = series_key(m);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let p99s = latency.iter().map(|m| m.p99_ms.median);
    let bottom = log_floor(p99s.clone().fold(f64::MAX, f64::min));
    let height = plot_pixels(SIZE).1;
    let max = p99s.fold(0.0, f64::max) * 1.2;
    let top = log_top_below_legend(bottom, max, legend_px(2 * keys.len()), height as f64);
    let m = &latency[0].config;
    let caption = format!(
        "{}: p99 latency from {}, at fixed rates",
        m.workload,
        m.workload.latency_from()
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", CAPTION_PX))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(axis.range(), log_axis(bottom, top, height, Y_GAP))?;
    chart
        .configure_mesh()
        .x_desc(IntervalAxis::DESC)
        .x_label_formatter(&tick_label)
        .y_desc("p99 latency (ms, log scale)")
        .y_label_formatter(&tick_label)
        .draw()?;
    for (i, key) in keys.iter().enumerate() {
        let series = latency.iter().filter(|m| series_key(m) == *key);
        let batched = series
            .clone()
            .filter(|m| m.config.mode.interval_ms().is_some())
            .map(|m| (m.config.mode, m.p99_ms.median));
        let native = series
            .clone()
            .find(|m| m.config.mode == Mode::Native)
            .map(|m| m.p99_ms.median);
        let measured = Measured {
            batched: batched.collect(),
            native,
        };
        draw_against_interval(&mut chart, axis, measured, key, i)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// One measure of one series: per micro-batch mode, and native's (if measured).
struct Measured {
    batched: Vec<(Mode, f64)>,
    native: Option<f64>,
}

/// Series `i` of a chart against the batch interval: the micro-batch points, joined, each in
/// its mode's colour, and native mode (if measured) as a dashed line across the chart, both
/// labelled with `what`, their legend samples drawn as the lines are.
fn draw_against_interval<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    axis: &IntervalAxis,
    measured: Measured,
    what: &str,
    i: usize,
) -> Result<(), Failure>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut batched: Vec<(f64, f64, Mode)> = measured
        .batched
        .iter()
        .filter_map(|&(mode, y)| Some((mode.interval_ms()? as f64, y, mode)))
        .collect();
    batched.sort_by(|a, b| a.0.total_cmp(&b.0));
    let joined = Look {
        color: JOIN,
        dash: None,
        marker: Some(Marker::nth(i)),
    };
    let line = batched.iter().map(|&(x, y, _)| (x, y));
    chart
        .draw_series(LineSeries::new(line, JOIN.stroke_width(LINE_WIDTH)))?
        .label(format!("micro-batch, {what}"))
        .legend(move |p| joined.sample(p));
    chart.draw_series(batched.iter().map(|&(x, y, mode)| {
        let look = Look {
            color: axis.palette.color(mode),
            ..joined
        };
        look.point((x, y))
    }))?;
    if let Some(y) = measured.native {
        let native = Look {
            color: NATIVE,
            dash: Some(dash(i)),
            marker: None,
        };
        let (size, gap) = dash(i);
        let line = [(axis.span.0, y), (axis.span.1, y)];
        let style = NATIVE.stroke_width(LINE_WIDTH);
        chart
            .draw_series(DashedLineSeries::new(line, size, gap, style))?
            .label(format!("native, {what}"))
            .legend(move |p| native.sample(p));
    }
    Ok(())
}

/// "10k lines/s, 2 workers" — what one p99 series is about (the chart names the workload).
fn series_key(m: &LatencyMeasurement) -> String {
    let c = &m.config;
    format!("{} lines/s, {}", si(c.rate), workers(c.workers))
}

/// "1 worker", "2 workers".
fn workers(n: usize) -> String {
    format!("{n} worker{}", if n == 1 { "" } else { "s" })
}

/// `nexmark-throughput.svg`: events per CPU-second of each query, one bar per mode, on a log
/// axis (the queries span two decades), with a dashed line at the target.
pub fn nexmark_throughput(
    path: &Path,
    results: &[crate::nexmark::Throughput],
    target: f64,
) -> Result<(), Failure> {
    let mut queries: Vec<&str> = Vec::new();
    let mut modes: Vec<Mode> = Vec::new();
    for t in results {
        if !queries.contains(&t.query.as_str()) {
            queries.push(&t.query);
        }
        if !modes.contains(&t.mode) {
            modes.push(t.mode);
        }
    }
    let palette = Palette::of(modes.iter().copied());
    let values = results.iter().map(|t| t.events_per_cpu_s);
    let hi = values.clone().fold(target, f64::max) * 2.0;
    // Half the lowest bar or the target, floored to a decade: a bar just above the target
    // still shows its height, and the target line stands off the axis.
    let lo = log_floor(values.fold(f64::INFINITY, f64::min).min(target) / 2.0);
    let size = (SIZE.0.max(60 * queries.len() as u32 + 150), SIZE.1);
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (_, height) = plot_pixels(size);
    let mut chart = ChartBuilder::on(&root)
        .margin(MARGIN)
        .caption(
            "Nexmark: events per CPU-second (generator included), by query and mode",
            ("sans-serif", CAPTION_PX),
        )
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(
            (0..queries.len()).into_segmented(),
            log_axis(lo, hi, height, Y_GAP),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(queries.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => queries.get(*i).map_or(String::new(), |q| q.to_string()),
            _ => String::new(),
        })
        .y_desc("events per CPU-second (log scale)")
        .y_label_formatter(&|y| si(*y))
        .draw()?;
    let width = 0.8 / modes.len() as f64;
    for (m, &mode) in modes.iter().enumerate() {
        let color = palette.color(mode);
        let bars = results.iter().filter(|t| t.mode == mode).filter_map(|t| {
            let q = queries.iter().position(|q| *q == t.query)?;
            Some((q, t.events_per_cpu_s))
        });
        chart
            .draw_series(bars.map(|(segment, high)| {
                let left = 0.1 + m as f64 * width;
                BarOnSegment {
                    left: (left * 1000.0) as i32,
                    right: ((left + width) * 1000.0) as i32,
                    segment,
                    low: lo,
                    high,
                    color,
                }
            }))?
            .label(mode.to_string())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .draw_series(DashedLineSeries::new(
            [
                (SegmentValue::Exact(0), target),
                (SegmentValue::Last, target),
            ],
            6,
            4,
            BLACK.stroke_width(1),
        ))?
        .label(format!("target {} per core", si(target)))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A bar inside one segment of a segmented axis: `left` and `right` in thousandths of the
/// segment's width.
struct BarOnSegment {
    left: i32,
    right: i32,
    segment: usize,
    low: f64,
    high: f64,
    color: RGBColor,
}

impl<'a> PointCollection<'a, (SegmentValue<usize>, f64)> for &'a BarOnSegment {
    type Point = (SegmentValue<usize>, f64);
    type IntoIter = [(SegmentValue<usize>, f64); 2];
    fn point_iter(self) -> Self::IntoIter {
        [
            (SegmentValue::Exact(self.segment), self.low),
            (SegmentValue::Exact(self.segment + 1), self.high),
        ]
    }
}

impl<DB: DrawingBackend> Drawable<DB> for BarOnSegment {
    fn draw<I: Iterator<Item = plotters_backend::BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let (Some((x0, y0)), Some((x1, y1))) = (points.next(), points.next()) else {
            return Ok(());
        };
        let at = |f: i32| x0 + (x1 - x0) * f / 1000;
        backend.draw_rect((at(self.left), y1), (at(self.right), y0), &self.color, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nexmark_run_is_redrawn_from_its_json() {
        let dir = tempfile::tempdir().unwrap();
        let throughput = |query: &str, mode, per_cpu_s| crate::nexmark::Throughput {
            query: query.to_string(),
            mode,
            workers: 1,
            events: 1000,
            changes: 10,
            seconds: 0.01,
            cpu_seconds: 0.01,
            events_per_s: per_cpu_s,
            events_per_cpu_s: per_cpu_s,
            peak_memory_bytes: None,
        };
        let results = vec![
            throughput("q0", Mode::Native, 4.1e6),
            throughput("q0", Mode::MicroBatch { interval_ms: 1000 }, 6.0e6),
            throughput("q7", Mode::Native, 1.2e6),
        ];
        let saved = serde_json::json!({ "config": {}, "results": { "throughput": results } });
        std::fs::write(dir.path().join("nexmark.json"), saved.to_string()).unwrap();
        let written = redraw(dir.path()).unwrap();
        assert_eq!(written, vec![dir.path().join("nexmark-throughput.svg")]);
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        let label = |text: &str| svg.lines().any(|line| line.trim() == text);
        assert!(label("q0") && label("q7"), "a bar group per query");
        // The axis reaches below the lowest bar (1.2M) and the target, to 100k.
        assert!(label("100k"), "{svg}");
    }

    /// Pixel position of `x` on a log axis from `lo` to `hi`, `pixels` long.
    fn at(x: f64, lo: f64, hi: f64, pixels: f64) -> f64 {
        (x / lo).ln() / (hi / lo).ln() * pixels
    }

    #[test]
    fn every_decade_from_the_smallest_value_up_is_labelled() {
        // A native CDF from 5 µs to a 1 s batch's 1.2 s: seven decades.
        let (min, max) = (0.005, 1200.0);
        let lo = log_floor(min);
        assert_eq!(lo, 0.001);
        let ticks = log_ticks(lo, max * 1.25, 815.0, X_GAP);
        for decade in [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0] {
            assert!(ticks.labels.contains(&decade), "{decade}: {ticks:?}");
        }
        let labels: Vec<String> = ticks.labels.iter().map(tick_label).collect();
        assert_eq!(labels[0], "0.001", "{labels:?}");
        assert!(labels.contains(&"1000".to_string()), "{labels:?}");
    }

    #[test]
    fn labels_never_crowd() {
        // Ranges of one to eight decades (the hashtags CDF spans 0.8 to 35 ms), and short axes.
        for &(lo, hi, pixels) in &[
            (1.0, 35.0, 815.0),
            (0.001, 40_000.0, 815.0),
            (0.1, 2.0, 815.0),
            (5.0, 2000.0, 815.0),
            (0.01, 2000.0, 455.0),
        ] {
            for gap in [X_GAP, Y_GAP] {
                let ticks = log_ticks(lo, hi, pixels, gap);
                let px: Vec<f64> = ticks
                    .labels
                    .iter()
                    .map(|&x| at(x, lo, hi, pixels))
                    .collect();
                for pair in px.windows(2) {
                    assert!(
                        pair[1] - pair[0] >= gap - 1e-9,
                        "labels {:?} closer than {gap} px on {lo}..{hi}",
                        ticks.labels
                    );
                }
                assert!(ticks.labels.len() >= 2, "{lo}..{hi}: {:?}", ticks.labels);
                assert!(ticks.labels.iter().all(|&x| x >= lo && x <= hi));
            }
        }
    }

    #[test]
    fn room_is_used_for_more_labels() {
        // Less than two decades over 815 px leaves room for 2 and 5 (and more) in each.
        let ticks = log_ticks(1.0, 35.0, 815.0, X_GAP);
        for x in [1.0, 2.0, 5.0, 10.0, 20.0] {
            assert!(ticks.labels.contains(&x), "{x}: {:?}", ticks.labels);
        }
        let labels: Vec<String> = log_ticks(0.001, 0.01, 815.0, X_GAP)
            .labels
            .iter()
            .map(tick_label)
            .collect();
        assert!(labels.contains(&"0.005".to_string()), "{labels:?}");
    }

    #[test]
    fn data_stays_below_the_legend() {
        for &(bottom, max, rows) in &[(10.0, 1100.0, 4), (0.1, 460.0, 4), (1.0, 2.0, 2)] {
            let (legend, pixels) = (legend_px(rows), 455.0);
            let top = log_top_below_legend(bottom, max, legend, pixels);
            let from_top = pixels - at(max, bottom, top, pixels);
            assert!(
                from_top >= legend - 1e-6,
                "{max} on {bottom}..{top}: {from_top} px"
            );
        }
    }

    #[test]
    fn each_mode_keeps_its_colour_across_plots() {
        let modes = [
            Mode::MicroBatch { interval_ms: 100 },
            Mode::Native,
            Mode::MicroBatch { interval_ms: 10 },
        ];
        let palette = Palette::of(modes.into_iter());
        let ten = palette.color(Mode::MicroBatch { interval_ms: 10 });
        let hundred = palette.color(Mode::MicroBatch { interval_ms: 100 });
        assert_eq!(palette.color(Mode::Native), NATIVE);
        assert_ne!(ten, hundred);
        assert_ne!(ten, NATIVE);
        assert_ne!(hundred, NATIVE);
        // The order modes are met in does not matter: a plot with fewer modes agrees.
        let again = Palette::of(
            [
                Mode::MicroBatch { interval_ms: 10 },
                Mode::MicroBatch { interval_ms: 100 },
            ]
            .into_iter(),
        );
        assert_eq!(again.color(Mode::MicroBatch { interval_ms: 100 }), hundred);
    }
}
