//! `sluice gen nexmark` and `sluice run nexmark`: the Nexmark generator's events as JSON lines,
//! and a Nexmark query's final table as CSV.
//!
//! Generator options come from an options file in the reference's format (`--options FILE`)
//! and then from flags, each named after its key (`first-event.rate` → `--first-event-rate`);
//! a flag overrides the file. Every value is checked in one place
//! ([`NexmarkOptions::set`]), so a bad one is one error naming the flag or the file and line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use sluice::engine::Error;
use sluice::jobs::result_file::{check_writable, write_lines};
use sluice::nexmark::generator::{EventSet, NexmarkOptions, Origin};
use sluice::nexmark::job::{Input, NexmarkRun};
use sluice::nexmark::queries::{self, q13, Params};
use sluice::nexmark::source::NexmarkSource;

use super::cluster::ClusterArgs;
use super::flags;
use super::mode::Mode;
use super::out;
use super::signals::on_stop_signal;
use super::status::StatusLine;
use super::ui::UiArgs;

/// The generator's options, as flags (each overrides `--options`).
#[derive(Args, Debug, Clone, Default)]
pub struct GeneratorArgs {
    /// Options file in the reference's format (`key = value` lines, `#` comments), e.g.
    /// ../shared/nexmark/public.options.
    #[arg(long, value_name = "FILE", value_parser = flags::input_file)]
    pub options: Option<PathBuf>,
    /// Seed of the (first) generator's random (`random.seed`) [default: 42].
    #[arg(long, alias = "random-seed", allow_hyphen_values = true)]
    pub seed: Option<String>,
    /// Event time of the first event, ms since the Unix epoch (`base-time`) [default:
    /// 1704067200000, 2024-01-01T00:00:00Z].
    #[arg(long, value_name = "MS")]
    pub base_time: Option<String>,
    /// Events per second of event time, all generators together (`first-event.rate`)
    /// [default: 10000].
    #[arg(long, value_name = "N")]
    pub first_event_rate: Option<String>,
    /// Weight of people among the events (`person.proportion`) [default: 1].
    #[arg(long, value_name = "N")]
    pub person_proportion: Option<String>,
    /// Weight of auctions (`auction.proportion`) [default: 3].
    #[arg(long, value_name = "N")]
    pub auction_proportion: Option<String>,
    /// Weight of bids (`bid.proportion`) [default: 46].
    #[arg(long, value_name = "N")]
    pub bid_proportion: Option<String>,
    /// Average size of a person in bytes (`person.avg-size`) [default: 200].
    #[arg(long, value_name = "BYTES")]
    pub person_avg_size: Option<String>,
    /// Average size of an auction in bytes (`auction.avg-size`) [default: 500].
    #[arg(long, value_name = "BYTES")]
    pub auction_avg_size: Option<String>,
    /// Average size of a bid in bytes (`bid.avg-size`) [default: 100].
    #[arg(long, value_name = "BYTES")]
    pub bid_avg_size: Option<String>,
    /// 1 in N bids is not on a hot auction (`bid.hot-ratio.auctions`) [default: 2].
    #[arg(long, value_name = "N")]
    pub bid_hot_ratio_auctions: Option<String>,
    /// 1 in N bids is not by a hot bidder (`bid.hot-ratio.bidders`) [default: 4].
    #[arg(long, value_name = "N")]
    pub bid_hot_ratio_bidders: Option<String>,
    /// 1 in N auctions is not by a hot seller (`auction.hot-ratio.sellers`) [default: 4].
    #[arg(long, value_name = "N")]
    pub auction_hot_ratio_sellers: Option<String>,
    /// Auctions open at once (`auction.in-flight`) [default: 100].
    #[arg(long, value_name = "N")]
    pub auction_in_flight: Option<String>,
    /// People active at once (`person.active`) [default: 1000].
    #[arg(long, value_name = "N")]
    pub person_active: Option<String>,
    /// Id of the first event (`first-event.id`) [default: 1].
    #[arg(long, value_name = "N")]
    pub first_event_id: Option<String>,
}

impl GeneratorArgs {
    /// The options: the defaults, then the file, then the flags.
    pub fn options(&self) -> Result<NexmarkOptions, Error> {
        let mut options = NexmarkOptions::default();
        if let Some(path) = &self.options {
            options
                .read_file(path)
                .map_err(|e| Error::Config(e.to_string()))?;
        }
        let flags = [
            ("random.seed", "seed", &self.seed),
            ("base-time", "base-time", &self.base_time),
            (
                "first-event.rate",
                "first-event-rate",
                &self.first_event_rate,
            ),
            (
                "person.proportion",
                "person-proportion",
                &self.person_proportion,
            ),
            (
                "auction.proportion",
                "auction-proportion",
                &self.auction_proportion,
            ),
            ("bid.proportion", "bid-proportion", &self.bid_proportion),
            ("person.avg-size", "person-avg-size", &self.person_avg_size),
            (
                "auction.avg-size",
                "auction-avg-size",
                &self.auction_avg_size,
            ),
            ("bid.avg-size", "bid-avg-size", &self.bid_avg_size),
            (
                "bid.hot-ratio.auctions",
                "bid-hot-ratio-auctions",
                &self.bid_hot_ratio_auctions,
            ),
            (
                "bid.hot-ratio.bidders",
                "bid-hot-ratio-bidders",
                &self.bid_hot_ratio_bidders,
            ),
            (
                "auction.hot-ratio.sellers",
                "auction-hot-ratio-sellers",
                &self.auction_hot_ratio_sellers,
            ),
            (
                "auction.in-flight",
                "auction-in-flight",
                &self.auction_in_flight,
            ),
            ("person.active", "person-active", &self.person_active),
            ("first-event.id", "first-event-id", &self.first_event_id),
        ];
        for (key, flag, value) in flags {
            if let Some(value) = value {
                options
                    .set(key, value, Origin::Flag(flag.to_string()))
                    .map_err(|e| Error::Config(e.to_string()))?;
            }
        }
        Ok(options)
    }
}

/// `sluice gen nexmark EVENTS`.
#[derive(Args, Debug)]
pub struct GenNexmarkArgs {
    /// Number of events.
    #[arg(value_parser = flags::int(0, flags::MAX_LINES))]
    pub events: u64,
    /// Generators sharing the event-id space, as Flink's source at this parallelism
    /// [default: 1, the stream of the reference file].
    #[arg(long, default_value_t = 1, value_name = "P", value_parser = flags::workers())]
    pub generators: usize,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// Writes the events as JSON lines to stdout.
pub fn gen(args: GenNexmarkArgs) -> Result<(), Box<dyn std::error::Error>> {
    let events = EventSet::new(
        args.generator.options()?,
        args.generators,
        Some(args.events),
    );
    // A closed pipe (`| head`) ends the process quietly inside out::Stdout.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out::Stdout);
    let mut line = String::new();
    for event in events.iter() {
        line.clear();
        event.write_json(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(out.flush()?)
}

/// `sluice run nexmark`.
#[derive(Args, Debug)]
pub struct RunNexmarkArgs {
    /// The query: q0 … q23.
    #[arg(long, value_name = "QUERY", value_parser = clap::builder::PossibleValuesParser::new(queries::NAMES))]
    pub query: String,
    /// Events in total; then the run ends and every window fires.
    #[arg(long, value_name = "N", value_parser = flags::int(1, flags::MAX_LINES))]
    pub events: Option<u64>,
    /// Events per second in total, on an open-loop schedule [default: as fast as possible].
    #[arg(long, value_name = "EVENTS_PER_S", value_parser = flags::rate, allow_hyphen_values = true)]
    pub rate: Option<f64>,
    /// With --rate: run this long (rate × seconds events); without --events or --seconds, a
    /// --rate run goes on until Ctrl-C or SIGTERM.
    #[arg(long, value_name = "S", value_parser = flags::seconds, allow_hyphen_values = true)]
    pub seconds: Option<f64>,
    /// Generators [default: the total worker count].
    #[arg(long, value_name = "P", value_parser = flags::workers())]
    pub generators: Option<usize>,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// Native (record at a time, event time) or micro-batch processing (arrival time).
    #[arg(long, value_enum, default_value_t = Mode::Native)]
    pub mode: Mode,
    /// With --mode minibatch: the batch interval in ms [default: 1000; at most one day].
    #[arg(long, value_name = "MS", value_parser = flags::interval_ms())]
    pub batch_ms: Option<u64>,
    /// Write the final table as CSV to FILE (process 0) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --query q13: its side table, `key,value` lines [default: the suite's, `i,i` for
    /// i < 10000].
    #[arg(long, value_name = "FILE", value_parser = flags::input_file)]
    pub side_input: Option<PathBuf>,
    /// With --query q10: write its partitioned CSV files under DIR
    /// (`dt=YYYY-MM-DD/hm=HH:mm/part-W.csv`, `_SUCCESS` when a partition is committed).
    #[arg(long, value_name = "DIR")]
    pub q10_dir: Option<PathBuf>,
    /// How often to print the job's state (keys of state, watermark) to stderr, in ms (0:
    /// never).
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = flags::ms_or_zero())]
    pub status_every_ms: u64,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl RunNexmarkArgs {
    /// The events: bounded by --events or --rate × --seconds, else endless.
    fn event_count(&self) -> Result<Option<u64>, Error> {
        match (self.events, self.rate, self.seconds) {
            (Some(_), _, Some(_)) => {
                Err(Error::Config("give --events or --seconds, not both".into()))
            }
            (None, None, Some(_)) => Err(Error::Config("--seconds needs --rate".into())),
            (None, None, None) => Err(Error::Config(
                "give --events N, or --rate R (with --seconds S for a bounded run)".into(),
            )),
            (Some(n), _, None) => Ok(Some(n)),
            (None, Some(rate), Some(seconds)) => Ok(Some(((rate * seconds) as u64).max(1))),
            (None, Some(_), None) => Ok(None),
        }
    }
}

/// Runs the query and writes its final table.
pub fn run(args: RunNexmarkArgs) -> Result<(), Box<dyn std::error::Error>> {
    let count = args.event_count()?;
    let batch_ms = args.mode.batch_ms(args.batch_ms)?;
    if let Some(path) = &args.output {
        check_writable(path)?;
    }
    let execution = args.cluster.execution();
    let generators = args.generators.unwrap_or_else(|| execution.total_workers());
    let events = EventSet::new(args.generator.options()?, generators, count);
    let mut source = NexmarkSource::new(events);
    if let Some(rate) = args.rate {
        source = source.rate(rate);
    }
    let mut params = Params::default();
    if let Some(path) = &args.side_input {
        if args.query != "q13" {
            return Err(Error::Config("--side-input applies only with --query q13".into()).into());
        }
        params.side_input = Arc::new(q13::read_side_input(path)?);
    }
    if let Some(dir) = &args.q10_dir {
        if args.query != "q10" {
            return Err(Error::Config("--q10-dir applies only with --query q10".into()).into());
        }
        if !dir.is_dir() {
            return Err(
                Error::Config(format!("--q10-dir {}: not a directory", dir.display())).into(),
            );
        }
        params.q10_dir = Some(dir.clone());
    }
    let mut run = NexmarkRun::new(&args.query, Input::Generated(source)).params(params);
    if args.mode == Mode::Minibatch {
        run = run.micro_batches(Duration::from_millis(batch_ms));
    }
    if count.is_none() {
        let job = execution.job().clone();
        on_stop_signal(move || job.stop());
    }
    let leader = execution.is_leader();
    let job = execution.job().clone();
    let status = (args.status_every_ms > 0).then(|| {
        StatusLine::start(
            Duration::from_millis(args.status_every_ms),
            move |elapsed| {
                let watermark = job.watermark().map_or("-".to_string(), |w| w.to_string());
                format!(
                    "sluice: {:.1} s: {} keys of state in this process, watermark {watermark}",
                    elapsed.as_secs_f64(),
                    job.state_entries(),
                )
            },
        )
    });
    let _ui = args.ui.start(&execution)?;
    let watched = execution.clone();
    let started = Instant::now();
    let outcome = run.run(execution)?;
    args.ui.finish(&watched)?;
    if let Some(status) = status {
        status.finish();
    }
    let csv = outcome.csv()?;
    let elapsed = started.elapsed().as_secs_f64();
    if leader {
        eprintln!(
            "{}: {} changes in {elapsed:.2} s",
            args.query, outcome.changes
        );
        match &args.output {
            Some(path) => write_lines(path, csv.lines())?,
            None => {
                let mut out = std::io::BufWriter::new(out::Stdout);
                out.write_all(csv.as_bytes())?;
                out.flush()?;
            }
        }
    }
    Ok(())
}
