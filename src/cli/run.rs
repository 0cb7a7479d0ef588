//! `sluice run JOB`: runs a job from one of the sources.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use sluice::connectors::{AnyBroker, BrokerSink, BrokerSource, BrokerUrl};
use sluice::engine::checkpoint::{Checkpointing, Input};
use sluice::engine::sources::{Directory, Generator, LineSource, LogSource, Socket, TextFile};
use sluice::engine::Error;
use sluice::jobs::result_file::check_writable;
use sluice::jobs::wordcount::{self, Lines, Progress, WordCount};

use super::checkpoint::CheckpointArgs;
use super::cluster::ClusterArgs;
use super::corpus::CorpusArgs;
use super::flags;
use super::mode::Mode;
use super::signals::{on_savepoint_signal, on_stop_signal};
use super::status::StatusLine;
use super::ui::UiArgs;

/// Jobs `sluice run` knows.
#[derive(Subcommand, Debug)]
pub enum Job {
    /// Running count of every word (split on ASCII whitespace).
    Wordcount(Box<RunArgs>),
    /// Hashtag counts per sliding window over a synthetic tweet stream, in event time.
    Hashtags(super::hashtags::HashtagsArgs),
    /// Word counts per window of the lines' own time, written exactly once per epoch.
    Windowcount(super::windowcount::WindowcountArgs),
    /// A Nexmark query (q0 … q23) over the Nexmark generator; its final table as CSV.
    Nexmark(Box<super::nexmark::RunNexmarkArgs>),
}

/// Runs the job.
pub fn run_job(job: Job) -> Result<(), Box<dyn std::error::Error>> {
    match job {
        Job::Wordcount(args) => run(*args),
        Job::Hashtags(args) => super::hashtags::run(args),
        Job::Windowcount(args) => super::windowcount::run(args),
        Job::Nexmark(args) => super::nexmark::run(*args),
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Native (record at a time) or micro-batch processing.
    #[arg(long, value_enum, default_value_t = Mode::Native)]
    pub mode: Mode,
    /// With --mode minibatch: the batch interval in ms [default: 1000; at most one day].
    #[arg(long, value_name = "MS", value_parser = flags::interval_ms())]
    pub batch_ms: Option<u64>,
    /// Corpus flags for --generate (as in `sluice gen corpus`).
    #[command(flatten)]
    pub corpus: CorpusArgs,
    /// With --generate: lines per second in total (default: as fast as possible).
    #[arg(long, value_name = "LINES_PER_S", value_parser = flags::rate, allow_hyphen_values = true)]
    pub rate: Option<f64>,
    /// With --socket: how long to keep trying to (re)connect, in ms [default: 10000].
    #[arg(long, value_name = "MS", value_parser = flags::ms_or_zero())]
    pub retry_window_ms: Option<u64>,
    /// With --socket: append every received line to the event log in DIR (synced) before
    /// processing it (Spark's receiver write-ahead log); with --checkpoint-dir, a crash then
    /// loses nothing the socket delivered.
    #[arg(long, value_name = "DIR")]
    pub write_ahead_log: Option<PathBuf>,
    /// With --log or --broker: keep reading what is appended until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// Publish every running-count update as `word<TAB>count` to a broker, URL as for --broker
    /// (natively each update; in micro-batches each batch's new totals, as updateStateByKey
    /// gives them). With --checkpoint-dir, exactly once across crashes and restores: updates
    /// appear as their checkpoint is committed.
    #[arg(long, value_name = "URL", value_parser = flags::broker_url)]
    pub sink: Option<BrokerUrl>,
    /// When the input ends, write `word<TAB>count` lines sorted by word to OUT (process 0).
    #[arg(long, value_name = "OUT")]
    pub final_counts: Option<PathBuf>,
    /// Print the counts to stdout as Spark and Flink programs do. Micro-batch mode (default 10):
    /// every batch as Spark's NetworkWordCount `wordCounts.print(N)` — the batch time and its
    /// first N `(word,count)` pairs, `...` if there are more. Native mode (default 0, off, to
    /// keep throughput): any N > 0 prints every running-count update as Flink's
    /// `DataStream.print()`, `(word,count)`, prefixed `W> ` by the worker (from 1) when there are
    /// several. 0: print nothing.
    #[arg(long, value_name = "N")]
    pub print: Option<usize>,
    /// How often to print the running counts to stderr, in ms (0: never); a last line with the
    /// final counts is printed when the job ends.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = flags::ms_or_zero())]
    pub status_every_ms: u64,
    /// With --mode minibatch: Spark's rate control (`spark.streaming.backpressure.enabled`):
    /// after each batch a PID controller estimates the rate the job keeps up with, and the
    /// sources admit at most that; the rest waits with the sender.
    #[arg(long)]
    pub backpressure: bool,
    /// A deliberately slow operator: spend this many microseconds of CPU on every line before
    /// counting it (to overload a job on purpose and watch it in the UI).
    #[arg(long, value_name = "US", value_parser = flags::int(1, 10_000_000))]
    pub slow_line_us: Option<u64>,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Exactly one source of lines.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// Read a text file once (split across all workers).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Read lines from a TCP server at HOST:PORT (as Spark's socketTextStream).
    #[arg(long, value_name = "HOST:PORT")]
    pub socket: Option<String>,
    /// Read each new file moved into DIR (as Spark's textFileStream); runs until Ctrl-C or SIGTERM.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Read the records of the event log in DIR (see `sluice log`), from the oldest.
    #[arg(long, value_name = "DIR")]
    pub log: Option<PathBuf>,
    /// Read a broker's stream, nats://HOST:PORT/STREAM[/SUBJECT] or redis://HOST:PORT/KEY[,KEY...],
    /// to its end as of the start (with --follow, until Ctrl-C or SIGTERM); every worker reads
    /// its share of the subjects or keys, from the positions of the checkpoint.
    #[arg(long, value_name = "URL", value_parser = flags::broker_url)]
    pub broker: Option<BrokerUrl>,
    /// Generate LINES lines of the word-count corpus.
    #[arg(long, value_name = "LINES", value_parser = flags::int(0, flags::MAX_LINES))]
    pub generate: Option<u64>,
}

impl RunArgs {
    /// Refuses flags that would do nothing with the chosen source. (Clap's `requires` cannot say
    /// this: the sources form a required group, whose members it counts as present.)
    fn check_flags_apply(&self) -> Result<(), String> {
        let s = &self.source;
        let rules = [
            (
                self.rate.is_some(),
                "--rate",
                "--generate",
                s.generate.is_some(),
            ),
            (
                self.corpus.given(),
                "--seed, --vocab, --skew and --words",
                "--generate",
                s.generate.is_some(),
            ),
            (
                self.retry_window_ms.is_some(),
                "--retry-window-ms",
                "--socket",
                s.socket.is_some(),
            ),
            (
                self.write_ahead_log.is_some(),
                "--write-ahead-log",
                "--socket",
                s.socket.is_some(),
            ),
            (
                self.follow,
                "--follow",
                "--log or --broker",
                s.log.is_some() || s.broker.is_some(),
            ),
            (
                self.backpressure,
                "--backpressure",
                "--mode minibatch",
                self.mode == Mode::Minibatch,
            ),
        ];
        for (given, flag, with, present) in rules {
            if given && !present {
                return Err(format!("{flag} applies only with {with}"));
            }
        }
        Ok(())
    }

    fn line_source(&self) -> Result<LineSource, Error> {
        let s = &self.source;
        Ok(if let Some(path) = &s.input {
            LineSource::File(TextFile::open(path)?)
        } else if let Some(address) = &s.socket {
            let socket =
                Socket::new(address).map_err(|e| Error::Config(format!("--socket: {e}")))?;
            let socket = match self.retry_window_ms {
                Some(ms) => socket.retry_window(Duration::from_millis(ms)),
                None => socket,
            };
            LineSource::Socket(match &self.write_ahead_log {
                Some(dir) => socket.write_ahead_log(dir)?,
                None => socket,
            })
        } else if let Some(dir) = &s.log {
            let log = LogSource::open(dir)?;
            LineSource::Log(if self.follow { log.follow() } else { log })
        } else if let Some(dir) = &s.dir {
            LineSource::Directory(Directory::open(dir)?)
        } else {
            let lines = s.generate.unwrap_or_default();
            let generator = Generator::new(self.corpus.spec()).lines(lines);
            LineSource::Generator(match self.rate {
                Some(rate) => generator.rate(rate),
                None => generator,
            })
        })
    }
}

impl RunArgs {
    /// The checkpoint settings, if asked for: the fingerprint is what decides the result (the
    /// source and the mode), so a checkpoint is never restored into a different job.
    fn checkpointing(&self) -> Result<Option<Checkpointing>, Error> {
        let every = self.checkpoint.checkpoint_every;
        let batch_ms = self.mode.batch_ms(self.batch_ms)?;
        if self.checkpoint.checkpoint_dir.is_some()
            && self.mode == Mode::Minibatch
            && !every.is_multiple_of(batch_ms)
        {
            return Err(Error::Config(format!(
                "--checkpoint-every {every} must be a multiple of --batch-ms {batch_ms} (a checkpoint is taken between batches)"
            )));
        }
        let s = &self.source;
        // What is read is checked by identity (see `Input`), not by how it was named.
        let (source, input) = if let Some(path) = &s.input {
            ("input".to_string(), Input::file(path)?)
        } else if let Some(address) = &s.socket {
            (format!("socket={address}"), Input::socket(address))
        } else if let Some(dir) = &s.log {
            ("log".to_string(), Input::log(dir)?)
        } else if let Some(url) = &s.broker {
            (format!("broker={url}"), Input::broker(&url.to_string()))
        } else if let Some(dir) = &s.dir {
            ("dir".to_string(), Input::directory(dir)?)
        } else {
            let settings = format!("generate={:?} {:?}", s.generate, self.corpus.spec());
            (settings.clone(), Input::generated(settings))
        };
        let mode = match self.mode {
            Mode::Native => "native".to_string(),
            Mode::Minibatch => format!("minibatch batch={batch_ms}ms"),
        };
        Ok(self
            .checkpoint
            .checkpointing("wordcount", &format!("{source} mode={mode}"), input))
    }
}

pub fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mode = args.mode.of_job(args.batch_ms)?;
    args.check_flags_apply()?;
    for path in [&args.final_counts, &args.ui.metrics_out]
        .into_iter()
        .flatten()
    {
        check_writable(path)?;
    }
    let print = args.print.unwrap_or(match args.mode {
        Mode::Native => 0,
        Mode::Minibatch => 10,
    });
    let publish = match &args.sink {
        Some(url) => Some(BrokerSink::open(AnyBroker::of(url), &sink_job(&args))?),
        None => None,
    };
    let slow_line = args.slow_line_us.map(Duration::from_micros);
    match &args.source.broker {
        Some(url) => {
            let source = BrokerSource::open(AnyBroker::of(url))?;
            let source = if args.follow { source.follow() } else { source };
            let job = WordCount::new(source, mode);
            run_wordcount(
                &args,
                job.print(print).publish(publish).slow_line(slow_line),
            )
        }
        None => {
            let job = WordCount::new(args.line_source()?, mode);
            run_wordcount(
                &args,
                job.print(print).publish(publish).slow_line(slow_line),
            )
        }
    }
}

/// The name under which a sink's broker remembers what this job has published: the same
/// across the restarts of a checkpointed job (its checkpoint directory), new for every run of
/// a job without checkpoints (which has nothing to restore).
fn sink_job(args: &RunArgs) -> String {
    match &args.checkpoint.checkpoint_dir {
        Some(dir) => {
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            format!("wordcount@{}", dir.display())
        }
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            format!("wordcount-{}-{}", now.as_nanos(), std::process::id())
        }
    }
}

/// Runs `job` as the flags say: checkpoints, status line, final counts.
fn run_wordcount<S: Lines>(
    args: &RunArgs,
    job: WordCount<S>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut execution = args.cluster.execution();
    if let Some(checkpointing) = args.checkpointing()? {
        execution = execution.checkpointing(checkpointing);
    }
    let leader = execution.is_leader();
    let handle = execution.job().clone();
    on_stop_signal(move || handle.stop());
    on_savepoint_signal(execution.job().clone());
    let _ui = args.ui.start(&execution)?;
    let progress = Progress::default();
    let status = (args.status_every_ms > 0).then(|| {
        let progress = progress.clone();
        StatusLine::start(
            Duration::from_millis(args.status_every_ms),
            move |elapsed| {
                let words = progress.words();
                format!(
                    "sluice: {:.1} s: {} lines, {} words counted ({:.0} words/s)",
                    elapsed.as_secs_f64(),
                    progress.lines(),
                    words,
                    words as f64 / elapsed.as_secs_f64()
                )
            },
        )
    });
    let table = job
        .backpressure(args.backpressure)
        .run(execution.clone(), &progress)?;
    if let Some(status) = status {
        status.finish();
    }
    args.ui.finish(&execution)?;
    let skipped = execution.job().malformed_count();
    if skipped > 0 {
        eprintln!("sluice: {skipped} malformed record(s) skipped");
    }
    if let (Some(path), true) = (&args.final_counts, leader) {
        wordcount::write_counts(path, &table)?;
    }
    Ok(())
}
