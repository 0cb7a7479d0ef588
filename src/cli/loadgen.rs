//! `sluice loadgen`: an open-loop TCP load generator any engine can be measured with.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use sluice::bench::loadgen::{self, FileLines, Load};
use sluice::engine::sources::corpus::Corpus;
use sluice::engine::sources::generator::Lines;
use sluice::jobs::ysb::AdEvents;

use super::corpus::CorpusArgs;
use super::flags;
use super::out::outln;
use super::signals::on_stop_signal;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("pace").required(true).args(["rate", "max"])))]
pub struct LoadgenArgs {
    /// Port to listen on (0: any free port); the address is printed as `listening HOST:PORT`.
    #[arg(long)]
    pub port: u16,
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
    #[command(flatten)]
    pub spec: CorpusArgs,
}

pub fn loadgen(args: LoadgenArgs) -> Result<(), Box<dyn std::error::Error>> {
    let lines: Box<dyn Lines> = match (&args.corpus, args.events.as_str()) {
        (Some(path), _) => Box::new(FileLines::read(path)?),
        (None, "ysb") => Box::new(AdEvents::new(args.spec.spec().seed)),
        (None, _) => Box::new(Corpus::new(args.spec.spec())),
    };
    let address = format!("{}:{}", args.host, args.port);
    let listener =
        TcpListener::bind(&address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr()?;
    outln!("listening {local}");
    eprintln!("sluice loadgen: listening on {local}; waiting for the job to connect");
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
    };
    let report = loadgen::serve(&listener, lines.as_ref(), &load)
        .map_err(|e| format!("sending to the job connected on {local}: {e}"))?;
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
