//! `sluice loadgen`: an open-loop TCP load generator any engine can be measured with.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use sluice::bench::loadgen::{self, FileLines, Load};
use sluice::connectors::{AnyBroker, Broker, BrokerUrl};
use sluice::engine::sources::corpus::Corpus;
use sluice::engine::sources::generator::Lines;
use sluice::jobs::ysb::AdEvents;

use super::corpus::CorpusArgs;
use super::flags;
use super::out::outln;
use super::signals::on_stop_signal;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("pace").required(true).args(["rate", "max"])))]
#[command(group(clap::ArgGroup::new("target").required(true).args(["port", "to"])))]
pub struct LoadgenArgs {
    /// Port to listen on (0: any free port); the address is printed as `listening HOST:PORT`.
    #[arg(long)]
    pub port: Option<u16>,
    /// Publish into a broker instead, nats://HOST:PORT/STREAM[/SUBJECT] or
    /// redis://HOST:PORT/KEY[,KEY...]; prints `publishing URL` (the URL a job reads them from)
    /// and starts at once.
    #[arg(long, value_name = "URL", value_parser = flags::broker_url, conflicts_with_all = ["port", "host"])]
    pub to: Option<BrokerUrl>,
    /// With --to: spread the lines over this many partitions (KEY.i, SUBJECT.i), line i to
    /// partition i mod N, so that N readers can read them in parallel.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = flags::count(1, 1024), requires = "to")]
    pub partitions: usize,
    /// Lines per second, sent on a fixed schedule.
    #[arg(long, value_parser = flags::rate, allow_hyphen_values = true)]
    pub rate: Option<f64>,
    /// Send as fast as the connection takes lines.
    #[arg(long)]
    pub max: bool,
    /// How long to send.
    #[arg(long, default_value_t = 10.0, value_parser = flags::seconds, allow_hyphen_values = true)]
    pub seconds: f64,
    /// Send the lines of this file (repeated) instead of generated events.
    #[arg(long, value_name = "FILE", conflicts_with = "events", value_parser = flags::input_file)]
    pub corpus: Option<PathBuf>,
    /// What to generate: lines of the shared word-count corpus, or Yahoo Streaming Benchmark
    /// ad events.
    #[arg(long, default_value = "corpus", value_parser = ["corpus", "ysb"])]
    pub events: String,
    /// Seconds to keep the connection open after the last line (so windows can close).
    #[arg(long, default_value_t = 0.0, value_parser = flags::seconds_or_zero, allow_hyphen_values = true)]
    pub linger: f64,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Send the lines without their scheduled-time stamp, as plain text (for `sluice run
    /// wordcount --socket`, which would count each stamp as a word); no latency can then be
    /// measured from them.
    #[arg(long)]
    pub plain: bool,
    #[command(flatten)]
    pub spec: CorpusArgs,
}

pub fn loadgen(args: LoadgenArgs) -> Result<(), Box<dyn std::error::Error>> {
    let lines: Box<dyn Lines> = match (&args.corpus, args.events.as_str()) {
        (Some(path), _) => Box::new(FileLines::read(path)?),
        (None, "ysb") => Box::new(AdEvents::new(args.spec.spec().seed)),
        (None, _) => Box::new(Corpus::new(args.spec.spec())),
    };
    // The first Ctrl-C or SIGTERM stops sending: the connection closes, which ends the job's
    // stream, and the report covers what was sent.
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    on_stop_signal(move || stopping.store(true, Ordering::Relaxed));
    let load = Load {
        rate: args.rate,
        seconds: args.seconds,
        linger: std::time::Duration::from_secs_f64(args.linger),
        stop: Some(stop),
        plain: args.plain,
    };
    let report = match (&args.to, args.port) {
        (Some(url), _) => {
            let parts = url.split(args.partitions);
            let appenders = parts
                .iter()
                .map(|part| AnyBroker::of(part).appender())
                .collect::<Result<Vec<_>, _>>()?;
            let read_from = url.joined(args.partitions);
            outln!("publishing {read_from}");
            eprintln!("sluice loadgen: publishing to {read_from}");
            loadgen::publish(appenders, lines.as_ref(), &load)
                .map_err(|e| format!("publishing to {read_from}: {e}"))?
        }
        (None, port) => {
            let address = format!("{}:{}", args.host, port.unwrap_or(0));
            let listener = TcpListener::bind(&address)
                .map_err(|e| format!("cannot listen on {address}: {e}"))?;
            let local = listener.local_addr()?;
            outln!("listening {local}");
            eprintln!("sluice loadgen: listening on {local}; waiting for the job to connect");
            loadgen::serve(&listener, lines.as_ref(), &load)
                .map_err(|e| format!("sending to the job connected on {local}: {e}"))?
        }
    };
    eprintln!(
        "sluice loadgen: sent {} lines in {:.2} s ({:.0} lines/s); schedule lag p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        report.lines_sent,
        report.seconds,
        report.achieved_rate,
        report.lag_p50_ms,
        report.lag_p99_ms,
        report.lag_max_ms
    );
    outln!("{}", serde_json::to_string(&report)?);
    Ok(())
}
