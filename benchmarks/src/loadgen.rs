//! An open-loop TCP load generator: the same load for Sluice and for any other engine.
//!
//! It listens, waits for the job to connect (as Spark's `socketTextStream` and Flink's
//! `socketTextStream` do), then sends lines on a fixed schedule — line `i` is due at
//! `start + i / rate` — each stamped with its scheduled time (see
//! [`stamped`](sluice_engine::sources::stamped)). A job measures latency from that time, so a
//! sender that falls behind cannot hide it; the generator reports how far behind schedule it
//! sent (the *schedule lag*) so that a run with a lagging sender can be recognised. With no rate
//! it sends as fast as the connection takes lines, stamping each burst with the time it was made.
//!
//! `sluice loadgen` runs [`serve`]; [`LoadgenProcess`] starts that command as a child process
//! for a benchmark run.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use sluice_connectors::Append;
use sluice_engine::sources::corpus::CorpusSpec;
use sluice_engine::sources::generator::Lines;
use sluice_engine::sources::stamped::write_stamped;
use sluice_engine::time::now_nanos;

/// Lines written per burst at full speed.
const MAX_BURST: u64 = 4096;

/// The lines of a file, repeated as often as needed: a load from any text.
#[derive(Clone, Debug)]
pub struct FileLines(Vec<String>);

impl FileLines {
    /// Reads `path`; fails, naming the file, if it is unreadable or empty.
    pub fn read(path: &Path) -> Result<FileLines, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read corpus {}: {e}", path.display()))?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.is_empty() {
            return Err(format!("corpus {} has no lines", path.display()));
        }
        Ok(FileLines(lines))
    }
}

impl Lines for FileLines {
    fn write_line(&self, index: u64, out: &mut String) {
        out.push_str(&self.0[(index % self.0.len() as u64) as usize]);
    }
}

/// How much to send, how fast.
#[derive(Clone, Debug)]
pub struct Load {
    /// Lines per second, or `None` for as fast as the connection takes them.
    pub rate: Option<f64>,
    /// How long to send.
    pub seconds: f64,
    /// How long to keep the connection open after the last line.
    pub linger: Duration,
    /// Set from outside (a signal) to stop sending early: the report covers what was sent.
    pub stop: Option<Arc<AtomicBool>>,
    /// Send the lines as they are, without their scheduled time: for a job that reads plain
    /// text (`sluice run wordcount --socket` would count each stamp as a word).
    pub plain: bool,
}

/// What a load generator did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadgenReport {
    /// Lines sent (lines `0..lines_sent` of the load).
    pub lines_sent: u64,
    /// From the connection to the last line sent.
    pub seconds: f64,
    /// The rate asked for (lines/s), if any.
    pub rate: Option<f64>,
    /// Lines sent per second.
    pub achieved_rate: f64,
    /// How late lines were sent relative to their schedule, in ms: the median.
    pub lag_p50_ms: f64,
    /// The 99th percentile of that lag, in ms.
    pub lag_p99_ms: f64,
    /// The largest lag, in ms: how far the generator itself fell behind at worst.
    pub lag_max_ms: f64,
}

/// Accepts one connection on `listener` and sends `load` to it; returns what was sent.
pub fn serve(
    listener: &TcpListener,
    lines: &dyn Lines,
    load: &Load,
) -> std::io::Result<LoadgenReport> {
    let (stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    send(stream, lines, load)
}

/// Publishes `load` to a broker's partitions — line `i` to partition `i mod n` — each line a
/// message stamped with its scheduled time, as over TCP.
pub fn publish(
    partitions: Vec<Box<dyn Append>>,
    lines: &dyn Lines,
    load: &Load,
) -> std::io::Result<LoadgenReport> {
    let batches = vec![Vec::new(); partitions.len()];
    pace(
        &mut BrokerOutlet {
            partitions,
            batches,
        },
        lines,
        load,
    )
}

/// Where paced lines go.
trait Outlet {
    /// Takes line `index`, stamped.
    fn line(&mut self, index: u64, stamped: &str);
    /// Sends what it has taken.
    fn flush(&mut self) -> std::io::Result<()>;
    /// Sends what it has taken and waits until everything sent has arrived.
    fn finish(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

/// A TCP connection: the lines, one a line, written a burst at a time.
struct TcpOutlet {
    out: std::io::BufWriter<TcpStream>,
    text: String,
}

impl Outlet for TcpOutlet {
    fn line(&mut self, _: u64, stamped: &str) {
        self.text.push_str(stamped);
        self.text.push('\n');
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(self.text.as_bytes())?;
        self.text.clear();
        self.out.flush()
    }
}

/// A broker's partitions: each burst appended as one batch per partition.
struct BrokerOutlet {
    partitions: Vec<Box<dyn Append>>,
    batches: Vec<Vec<String>>,
}

impl Outlet for BrokerOutlet {
    fn line(&mut self, index: u64, stamped: &str) {
        let n = self.batches.len() as u64;
        self.batches[(index % n) as usize].push(stamped.to_string());
    }
    fn flush(&mut self) -> std::io::Result<()> {
        for (partition, batch) in self.partitions.iter_mut().zip(&mut self.batches) {
            if !batch.is_empty() {
                // Acknowledged later: a burst does not wait a round trip for the last.
                partition.send(batch).map_err(std::io::Error::other)?;
                batch.clear();
            }
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.flush()?;
        for partition in &mut self.partitions {
            partition.flush().map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

fn send(stream: TcpStream, lines: &dyn Lines, load: &Load) -> std::io::Result<LoadgenReport> {
    let out = std::io::BufWriter::with_capacity(1 << 16, stream);
    pace(
        &mut TcpOutlet {
            out,
            text: String::new(),
        },
        lines,
        load,
    )
}

/// Sends `load` through `out` on its schedule, then lingers; what was sent, how late.
fn pace(out: &mut impl Outlet, lines: &dyn Lines, load: &Load) -> std::io::Result<LoadgenReport> {
    let mut lag = Histogram::<u64>::new(3).expect("3 significant figures is a valid precision");
    let (start, start_nanos) = (Instant::now(), now_nanos());
    let total = load
        .rate
        .map_or(u64::MAX, |rate| (rate * load.seconds).round() as u64);
    let (mut sent, mut stamped, mut line) = (0u64, String::new(), String::new());
    let stopped = || {
        load.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    };
    loop {
        if stopped() {
            break;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let due = match load.rate {
            Some(_) if sent >= total => break,
            Some(rate) => ((elapsed * rate) as u64 + 1).min(total),
            None if elapsed >= load.seconds => break,
            None => sent + MAX_BURST,
        };
        let now = now_nanos();
        let scheduled = |i: u64| match load.rate {
            Some(rate) => start_nanos + (i as f64 * 1e9 / rate) as u64,
            None => now,
        };
        for i in sent..due {
            line.clear();
            lines.write_line(i, &mut line);
            stamped.clear();
            match load.plain {
                true => stamped.push_str(&line),
                false => write_stamped(scheduled(i), &line, &mut stamped),
            }
            out.line(i, &stamped);
            let _ = lag.record(now.saturating_sub(scheduled(i)).max(1));
        }
        out.flush()?;
        sent = due;
        if let Some(rate) = load.rate {
            let next = Duration::from_secs_f64(sent as f64 / rate);
            if let Some(wait) = next.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    out.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    if !stopped() {
        std::thread::sleep(load.linger);
    }
    let ms = |q: f64| lag.value_at_quantile(q) as f64 / 1e6;
    Ok(LoadgenReport {
        lines_sent: sent,
        seconds,
        rate: load.rate,
        achieved_rate: sent as f64 / seconds.max(1e-9),
        lag_p50_ms: ms(0.5),
        lag_p99_ms: ms(0.99),
        lag_max_ms: lag.max() as f64 / 1e6,
    })
}

/// `sluice loadgen` running as a child process of a benchmark.
pub struct LoadgenProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
    address: String,
}

impl LoadgenProcess {
    /// Starts `exe loadgen --port 0 …` (`exe` is the `sluice` binary) sending `events`
    /// (`corpus` or `ysb`), and waits until it listens.
    pub fn spawn(
        exe: &Path,
        load: &Load,
        events: &str,
        corpus: &CorpusSpec,
    ) -> Result<LoadgenProcess, String> {
        Self::start(exe, &["--port", "0"], "listening ", load, events, corpus)
    }

    /// Starts `exe loadgen --to URL --partitions N …`, publishing into a broker, and waits
    /// until it publishes; [`address`](Self::address) is then the URL to read from.
    pub fn spawn_to(
        exe: &Path,
        load: &Load,
        events: &str,
        corpus: &CorpusSpec,
        url: &str,
        partitions: usize,
    ) -> Result<LoadgenProcess, String> {
        let partitions = partitions.to_string();
        let target = ["--to", url, "--partitions", &partitions];
        Self::start(exe, &target, "publishing ", load, events, corpus)
    }

    /// Starts `exe loadgen` with `target` flags; its first line is `ready` and an address.
    fn start(
        exe: &Path,
        target: &[&str],
        ready: &str,
        load: &Load,
        events: &str,
        corpus: &CorpusSpec,
    ) -> Result<LoadgenProcess, String> {
        let mut command = Command::new(exe);
        command.arg("loadgen").args(target);
        command.args(["--events", events, "--seconds"]);
        command.arg(load.seconds.to_string());
        command
            .arg("--linger")
            .arg(load.linger.as_secs_f64().to_string());
        match load.rate {
            Some(rate) => command.arg("--rate").arg(rate.to_string()),
            None => command.arg("--max"),
        };
        if load.plain {
            command.arg("--plain");
        }
        command.args([
            "--seed",
            &corpus.seed.to_string(),
            "--vocab",
            &corpus.vocab.to_string(),
            "--skew",
            &corpus.skew.to_string(),
            "--words",
            &corpus.words_per_line.to_string(),
        ]);
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {} loadgen: {e}", exe.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let Some(address) = first.trim().strip_prefix(ready) else {
            let _ = child.kill();
            return Err(format!("loadgen did not start (said {:?})", first.trim()));
        };
        Ok(LoadgenProcess {
            address: address.to_string(),
            child,
            stdout,
        })
    }

    /// The `host:port` it listens on, or the URL it publishes to.
    pub fn address(&self) -> &str {
        &self.address
    }
    /// Waits for it to finish and returns its report.
    pub fn finish(mut self) -> Result<LoadgenReport, String> {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stdout, &mut rest);
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("loadgen failed ({status})"));
        }
        serde_json::from_str(rest.trim())
            .map_err(|e| format!("loadgen's report is not JSON ({e}): {rest:?}"))
    }
}

impl Drop for LoadgenProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
