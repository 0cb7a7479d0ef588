//! `sluice demo`: native vs micro-batch word count side by side, on a slow input, as a timeline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use sluice::bench::demo::{self, DemoInput};
use sluice::engine::sources::corpus::CorpusSpec;
use sluice::engine::JobContext;

use super::flags;
use super::out::{self, outln};
use super::signals::on_stop_signal;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The micro-batch interval in ms.
    #[arg(long, default_value_t = 1000, value_parser = flags::interval_ms())]
    pub batch_ms: u64,
    /// Lines per second of the generated input.
    #[arg(long, default_value_t = 2.0, value_parser = flags::rate, allow_hyphen_values = true, conflicts_with_all = ["stdin", "socket"])]
    pub rate: f64,
    /// How long to generate input.
    #[arg(long, default_value_t = 6.0, value_parser = flags::seconds, allow_hyphen_values = true, conflicts_with_all = ["stdin", "socket"])]
    pub seconds: f64,
    /// Distinct words of the generated input (few, so that counts grow visibly).
    #[arg(long, default_value_t = 8, value_parser = flags::int(1, flags::MAX_VOCAB), conflicts_with_all = ["stdin", "socket"])]
    pub vocab: u64,
    /// Words per generated line.
    #[arg(long, default_value_t = 3, value_parser = flags::count(1, flags::MAX_WORDS_PER_LINE), conflicts_with_all = ["stdin", "socket"])]
    pub words: usize,
    /// Type the lines instead (one per Enter; Ctrl-D ends the demo).
    #[arg(long, conflicts_with = "socket")]
    pub stdin: bool,
    /// Read the lines from a TCP server instead, e.g. `nc -lk 9999` to type into (as in
    /// Spark's network word count); the demo ends when the server closes the connection.
    #[arg(long, value_name = "HOST:PORT")]
    pub socket: Option<String>,
    /// Serve a live web UI of each job: the native one at HOST:PORT, the micro-batch one at
    /// HOST:PORT+1.
    #[arg(long, value_name = "[HOST:]PORT", value_parser = super::ui::ui_address)]
    pub ui: Option<String>,
}

/// The first Ctrl-C or SIGTERM ends the input after the line being sent (with typed input,
/// when the next line or the end of input comes); both jobs then drain and the summary is
/// printed. A second signal aborts.
pub fn demo(args: DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    on_stop_signal(move || stopping.store(true, Ordering::Relaxed));
    let input = if args.stdin {
        eprintln!("sluice demo: type lines of words; Ctrl-D ends");
        DemoInput::Typed(Box::new(std::io::BufReader::new(std::io::stdin())))
    } else if let Some(address) = &args.socket {
        let stream = std::net::TcpStream::connect(address)
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        eprintln!("sluice demo: reading lines from {address}; the demo ends when it closes");
        DemoInput::Typed(Box::new(std::io::BufReader::new(stream)))
    } else {
        DemoInput::Generated {
            corpus: CorpusSpec {
                vocab: args.vocab as usize,
                words_per_line: args.words,
                ..CorpusSpec::default()
            },
            lines_per_sec: args.rate,
            seconds: args.seconds,
        }
    };
    outln!(
        "The same word count, native (each line counted as it arrives) and micro-batch ({} ms batches):",
        args.batch_ms
    );
    let jobs = (JobContext::default(), JobContext::default());
    let _uis = match &args.ui {
        Some(address) => {
            let addresses = sluice::ui::process_addresses(address, 2)
                .ok_or_else(|| format!("--ui {address}: HOST:PORT with PORT + 1 at most 65535"))?;
            let native = sluice::ui::start(&addresses[0], jobs.0.clone(), Vec::new())?;
            let batches = sluice::ui::start(&addresses[1], jobs.1.clone(), Vec::new())?;
            eprintln!(
                "sluice demo: UIs at http://{}/ (native) and http://{}/ (micro-batch)",
                native.address(),
                batches.address()
            );
            Some((native, batches))
        }
        None => None,
    };
    let summary = demo::run(input, args.batch_ms, jobs, &stop, &mut out::Stdout)?;
    outln!();
    outln!(
        "{} lines. Latency from a line's send time to its counts being visible:",
        summary.lines
    );
    for (mode, p) in [
        ("native", summary.native),
        ("micro-batch", summary.minibatch),
    ] {
        outln!(
            "  {mode:<12} p50 {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
            p.p50,
            p.p99,
            p.max
        );
    }
    let agree = summary.native_counts == summary.minibatch_counts;
    outln!(
        "Final counts {} ({} words).",
        if agree { "agree" } else { "DIFFER" },
        summary.native_counts.len()
    );
    if !agree {
        return Err("the two modes' final counts differ".into());
    }
    Ok(())
}
