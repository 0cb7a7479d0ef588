//! `sluice run hashtags`: the D-Streams paper's Twitter example (the job itself is
//! [`sluice::jobs::hashtags`]),
//! `hashTags.window(Minutes(1), Seconds(5)).countByValue()`, over a synthetic tweet stream.
//!
//! Natively it runs in event time: windows hold the tweets that *happened* in them, whatever
//! order they arrive in. The watermark trails the highest event time seen by `--disorder-ms`
//! (the stream's promised disorder); tweets up to `--lateness-ms` behind it update their
//! windows, later ones are counted as late. Contract for scripts: with no late fraction, the
//! `--output` file is byte-identical for any `--arrival-seed`, any `D`, any `L` and any worker
//! count. With `--mode minibatch` the windows are Spark Streaming's processing-time
//! windows: a tweet counts in the window it *arrived* in (so disorder moves tweets between
//! windows and nothing is ever late): a different result, by design.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sluice::engine::Time;
use sluice::jobs::hashtags::{self, Hashtags};
use sluice::jobs::tweets::{Arrivals, TweetSpec};

use super::cluster::ClusterArgs;
use super::flags;
use super::mode::Mode;
use super::out::outln;

#[derive(Args, Debug)]
pub struct HashtagsArgs {
    /// Window length (e.g. 60s, 500ms, 2m).
    #[arg(long, default_value = "60s", value_parser = duration, allow_hyphen_values = true)]
    pub window: Duration,
    /// Window slide.
    #[arg(long, default_value = "5s", value_parser = duration, allow_hyphen_values = true)]
    pub slide: Duration,
    /// Tweets in the stream (all held in memory: at most 10 million).
    #[arg(long, default_value_t = 100_000, value_parser = flags::int(1, flags::MAX_ITEMS))]
    pub tweets: u64,
    /// Seed of the tweets and their event times.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Tweets per second of event time.
    #[arg(long, default_value_t = 1000.0, value_parser = flags::rate, allow_hyphen_values = true)]
    pub tweets_per_second: f64,
    /// Distinct hashtags (Zipf-popular).
    #[arg(long, default_value_t = 1000, value_parser = flags::int(1, flags::MAX_VOCAB))]
    pub hashtags: u64,
    /// Seed of the arrival order.
    #[arg(long, default_value_t = 7)]
    pub arrival_seed: u64,
    /// Each tweet arrives up to this many ms (of event time) out of order.
    #[arg(long, default_value_t = 0, value_parser = flags::ms_or_zero())]
    pub disorder_ms: Time,
    /// Allowed lateness of the event-time windows, in ms.
    #[arg(long, default_value_t = 0, value_parser = flags::ms_or_zero())]
    pub lateness_ms: Time,
    /// Fraction of tweets that arrive later than any window plus the allowed lateness.
    #[arg(long, default_value_t = 0.0, value_parser = flags::fraction, allow_hyphen_values = true)]
    pub late_fraction: f64,
    /// Write every window's final counts as `window_end_ms<TAB>hashtag<TAB>count` lines, sorted.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Hashtags shown per window.
    #[arg(long, default_value_t = 3, value_parser = flags::count(0, flags::MAX_VOCAB))]
    pub top: usize,
    /// Event-time windows (native) or processing-time windows (micro-batch).
    #[arg(long, value_enum, default_value_t = Mode::Native)]
    pub mode: Mode,
    /// With --mode minibatch: the batch interval in ms (window and slide must be multiples)
    /// [default: 1000; at most one day].
    #[arg(long, value_parser = flags::interval_ms())]
    pub batch_ms: Option<u64>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Parses `500ms`, `5s` or `2m`: longer than 0, at most one day.
fn duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration such as 500ms, 5s or 2m"))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" | "" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        _ => return Err(format!("'{s}': the unit must be ms, s or m")),
    };
    match ms {
        Some(0) => Err(format!("'{s}' must be longer than 0")),
        Some(ms) if ms <= flags::MAX_INTERVAL_MS => Ok(Duration::from_millis(ms)),
        _ => Err(format!("'{s}' is longer than one day")),
    }
}

pub fn run(args: HashtagsArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mode = args.mode.of_job(args.batch_ms)?;
    if args.mode == Mode::Minibatch && args.lateness_ms > 0 {
        // Processing-time windows close when their batches do: nothing is ever late. A warning,
        // not an error, so that one set of flags can be run in both modes to compare them.
        eprintln!("sluice: warning: --lateness-ms does nothing with --mode minibatch");
    }
    let (window, slide) = (
        args.window.as_millis() as Time,
        args.slide.as_millis() as Time,
    );
    if window % slide != 0 {
        return Err(
            format!("--window {window} ms must be a multiple of --slide {slide} ms").into(),
        );
    }
    let job = Hashtags {
        tweets: TweetSpec {
            tweets: args.tweets,
            seed: args.seed,
            per_second: args.tweets_per_second,
            hashtags: args.hashtags as usize,
            ..TweetSpec::default()
        },
        arrivals: Arrivals {
            seed: args.arrival_seed,
            disorder_ms: args.disorder_ms,
            late_fraction: args.late_fraction,
            late_by_ms: window + args.lateness_ms + args.disorder_ms + 1000,
        },
        window: args.window,
        slide: args.slide,
        disorder_ms: args.disorder_ms,
        lateness_ms: args.lateness_ms,
        mode,
    };
    let execution = args.cluster.execution();
    let leader = execution.is_leader();
    if let sluice::jobs::Mode::MicroBatch { interval_ms } = mode {
        if execution.total_workers() != execution.local_workers() {
            return Err(
                "--mode minibatch replays the tweets in one process; drop --processes".into(),
            );
        }
        if window % interval_ms != 0 || slide % interval_ms != 0 {
            return Err(format!(
                "--window and --slide must be multiples of --batch-ms {interval_ms}"
            )
            .into());
        }
    }
    let (counts, late) = job.run(execution)?;
    if !leader {
        return Ok(());
    }
    // The file first: a reader that closes standard output early (`| head`) ends the process.
    if let Some(path) = &args.output {
        hashtags::write_counts(path, &counts)?;
    }
    eprintln!("sluice: {late} hashtag occurrence(s) too late for every window (late side output)");
    for (end, tags) in hashtags::top_per_window(&counts, args.top) {
        let shown: Vec<String> = tags.iter().map(|(tag, n)| format!("{tag} {n}")).collect();
        outln!("window ending {end} ms: {}", shown.join(", "));
    }
    Ok(())
}
