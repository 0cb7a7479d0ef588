//! A TCP socket client as a source, with Spark's `socketTextStream` semantics.
//!
//! Worker 0 connects to `host:port` and reads newline-delimited text on a reader thread (plain
//! blocking `std::net`, with a short read timeout so that the thread notices a stopped job even
//! while the server is silent); the thread hands lines to the operator over a channel and wakes
//! it, once per read from the socket rather than once per line. If the connection cannot be made, or drops,
//! or the server accepts and closes without sending a line, the reader retries with exponential
//! backoff and jitter (100 ms doubling to 2 s), within the retry window, and says so on stderr in
//! a few lines (repeats of one failure are summarised). Only a connection that delivered data
//! starts the window afresh. A connection that stays open and idle is not a failure: the
//! source waits for it, as Spark's does, until the job is stopped (Ctrl-C or SIGTERM).
//!
//! How it ends:
//! - no data received within the retry window (never connected, or only connections that
//!   closed at once): the job fails with an error naming the address;
//! - the server closed a connection that had delivered data and no new connection delivered
//!   any within the retry window: the stream ends normally (it was a finite input), with a
//!   note on stderr;
//! - with [`end_on_close`](Socket::end_on_close) (a finite load such as `sluice loadgen`'s): the
//!   stream ends as soon as the server closes the connection, without trying to reconnect.
//!
//! Delivery: like Spark's unreliable receivers, lines received but not yet processed when the
//! job fails are lost. With [`write_ahead_log`](Socket::write_ahead_log) (Spark's receiver
//! write-ahead log) the reader thread appends what it receives to an event log, synced to disk,
//! before the job sees it, and the source reads the log: its offset is checkpointed, so after a
//! failure the job replays from the log what it had received after the checkpoint — nothing
//! the socket delivered is lost. (What the server sent but the crash kept from being logged is
//! gone, as with any TCP receiver: the server cannot replay it.)

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::scheduling::SyncActivator;

use super::driver::{drive, Poll, Read, HEARTBEAT};
use super::handoff::{self, HandOff};
use super::lines::decode_line;
use super::source::{Source, Spread};
use crate::error::{Error, Result};
use crate::job::JobContext;
use crate::log::{EventLog, LogConfig, LogReader};
use crate::stream::{Scope, Stream};

/// How long to keep trying to (re)connect by default.
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Why a connection ended when the server closed it cleanly.
const CLOSED: &str = "the server closed the connection";
/// Lines handed over at most per message from the reader thread.
const BATCH_LINES: usize = 4096;
/// Batches of lines the reader thread may hand over before it waits for the operator: what
/// bounds the memory of a job that cannot keep up (the rest stays in the socket).
const IN_FLIGHT: usize = 16;
/// The source's operator (and metrics) name.
const NAME: &str = "SocketText";

/// A TCP server to read lines from.
#[derive(Clone, Debug)]
pub struct Socket {
    address: String,
    retry_window: Duration,
    end_on_close: bool,
    write_ahead_log: Option<PathBuf>,
}

impl Socket {
    /// Describes the server at `address` (`host:port`); fails, naming it, if it is not of that form.
    pub fn new(address: impl Into<String>) -> Result<Socket> {
        let address = address.into();
        let valid = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid {
            return Err(Error::Config(format!(
                "socket address '{address}' is not host:port"
            )));
        }
        Ok(Socket {
            address,
            retry_window: DEFAULT_RETRY_WINDOW,
            end_on_close: false,
            write_ahead_log: None,
        })
    }
    /// How long to keep trying to connect (and, after a disconnect, to reconnect): the window
    /// starts afresh only when a connection delivers data, so a server that accepts and closes
    /// at once is given up on like one that refuses.
    pub fn retry_window(mut self, window: Duration) -> Self {
        self.retry_window = window;
        self
    }
    /// Ends the stream when the server closes the connection, instead of reconnecting.
    pub fn end_on_close(mut self) -> Self {
        self.end_on_close = true;
        self
    }
    /// Appends every received line to the event log in `dir` (created if missing), synced,
    /// before the job processes it, and reads the stream from there: a checkpointed job then
    /// loses nothing it received (see the module docs). Fails, naming `dir`, if it cannot be a
    /// log.
    pub fn write_ahead_log(mut self, dir: impl AsRef<Path>) -> Result<Socket> {
        EventLog::open(dir.as_ref())?;
        self.write_ahead_log = Some(dir.as_ref().to_path_buf());
        Ok(self)
    }
    /// The server's address.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// What the reader thread tells the operator.
enum Event {
    Lines(Vec<String>),
    Ended,
    Failed(Error),
}

/// Read by worker 0.
impl Source for Socket {
    type Item = String;

    fn spread(&self) -> Spread {
        Spread::Worker0
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        build(scope, self)
    }
}

fn build<'scope>(scope: Scope<'scope>, socket: &Socket) -> Stream<'scope, String> {
    let socket = socket.clone();
    let job = JobContext::of(scope);
    let reader = scope.index() == 0;
    drive(scope, NAME, move |waker| {
        if !reader {
            return None;
        }
        if let Some(dir) = socket.write_ahead_log.clone() {
            return logged(socket, dir, job, waker);
        }
        let (hand_off, rx) = HandOff::new(&job, NAME, IN_FLIGHT);
        let takes_all = handoff::takes_all(&job);
        let name = format!("socket {}", socket.address);
        let deliver = move |event: Event| {
            let records = match &event {
                Event::Lines(lines) => lines.len(),
                _ => 0,
            };
            hand_off.send(event, records)
        };
        std::thread::Builder::new()
            .name(name)
            .spawn(move || read_socket(socket, job, deliver, waker))
            .ok()?;
        Some(SocketRead::Direct(rx, takes_all))
    })
}

/// The write-ahead mode: the reader thread appends to the log; the source follows the log.
fn logged(
    socket: Socket,
    dir: PathBuf,
    job: JobContext,
    waker: SyncActivator,
) -> Option<SocketRead> {
    let fail = |error: Error| {
        job.fail(error);
        None
    };
    let mut log = match EventLog::open_with(&dir, LogConfig::default()) {
        Ok(log) => log,
        Err(error) => return fail(error),
    };
    let reader = match LogReader::open(&dir) {
        Ok(reader) => reader,
        Err(error) => return fail(error),
    };
    let ended: Arc<Mutex<Option<Event>>> = Arc::default();
    let end = ended.clone();
    let (name, thread_job) = (format!("socket {} (logged)", socket.address), job.clone());
    let deliver = move |event: Event| match event {
        Event::Lines(lines) => {
            let now = thread_job.clock().now_ms();
            match log.append_all(lines.iter().map(|line| (now, line))) {
                Ok(_) => true,
                Err(error) => {
                    *end.lock().unwrap_or_else(|e| e.into_inner()) = Some(Event::Failed(error));
                    false
                }
            }
        }
        other => {
            *end.lock().unwrap_or_else(|e| e.into_inner()) = Some(other);
            false
        }
    };
    let reader_job = job.clone();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || read_socket(socket, reader_job, deliver, waker))
        .ok()?;
    Some(SocketRead::Logged(LoggedLines { reader, ended, job }))
}

/// Worker 0's side of a socket: lines handed over by the reader thread, or read from the log
/// it writes ahead to.
enum SocketRead {
    /// Read from the reader thread's hand-off; whether to take all of it at each turn.
    Direct(Receiver<Event>, bool),
    Logged(LoggedLines),
}

impl Read<String> for SocketRead {
    type Offset = u64;

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll> {
        match self {
            SocketRead::Direct(rx, all) => drain(rx, out, *all),
            SocketRead::Logged(logged) => logged.read(out),
        }
    }

    fn offset(&self) -> Option<u64> {
        match self {
            SocketRead::Direct(..) => None,
            SocketRead::Logged(logged) => logged.offset(),
        }
    }

    fn seek(&mut self, offset: u64) -> Result<()> {
        match self {
            SocketRead::Direct(..) => Ok(()),
            SocketRead::Logged(logged) => logged.seek(offset),
        }
    }
}

/// The source side of the write-ahead mode: the log, until the socket has ended and the log
/// has been read to its end.
struct LoggedLines {
    reader: LogReader,
    ended: Arc<Mutex<Option<Event>>>,
    job: JobContext,
}

impl Read<String> for LoggedLines {
    type Offset = u64;

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll> {
        // Whether the socket had ended before this read began: then the log is complete.
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (dir, job) = (self.reader.dir().to_path_buf(), &self.job);
        for _ in 0..BATCH_LINES {
            let line =
                self.reader
                    .read_with(|offset, _, payload| match std::str::from_utf8(payload) {
                        Ok(text) => Some(text.to_string()),
                        Err(_) => {
                            job.malformed(|| {
                                format!("{}: record {offset} is not UTF-8", dir.display())
                            });
                            None
                        }
                    })?;
            match line {
                Some(line) => out.extend(line),
                None => {
                    return match ended {
                        Some(Event::Failed(error)) => Err(error),
                        Some(_) => Ok(Poll::Done),
                        None => Ok(Poll::Idle),
                    }
                }
            }
        }
        if let Some(ended) = ended {
            *self.ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(ended);
        }
        Ok(Poll::Ready)
    }

    fn offset(&self) -> Option<u64> {
        Some(self.reader.offset())
    }

    fn seek(&mut self, offset: u64) -> Result<()> {
        self.reader.seek(offset)
    }
}

/// Moves everything the reader thread has sent into `out`.
/// Takes what the reader thread handed over: about [`BATCH_LINES`] lines a turn — so that
/// what follows runs on them before the next, a slow operator's turns (and its metrics) stay
/// short and the reader's back pressure smooth, while the small chunks of a reader that keeps
/// up are taken together — or, with `all`, everything received (see
/// [`handoff`](super::handoff)).
fn drain(rx: &Receiver<Event>, out: &mut Vec<String>, all: bool) -> Result<Poll> {
    let mut took = false;
    loop {
        match rx.try_recv() {
            Ok(Event::Lines(mut lines)) => {
                out.append(&mut lines);
                took = true;
                if !all && out.len() >= BATCH_LINES {
                    return Ok(Poll::Ready);
                }
            }
            Ok(Event::Ended) | Err(TryRecvError::Disconnected) => return Ok(Poll::Done),
            Ok(Event::Failed(error)) => return Err(error),
            Err(TryRecvError::Empty) if took => return Ok(Poll::Ready),
            Err(TryRecvError::Empty) => return Ok(Poll::Idle),
        }
    }
}

/// The reader thread: connect, read, reconnect, until the window runs out or the job is gone.
/// `deliver` hands an event on and says whether the job still wants more.
///
/// Every failure — refused, reset, unreachable, or a server that accepted and closed without
/// sending a line — is one attempt under the same retry window and the same backoff: only a
/// connection that delivered data resets them, so a server that accepts and hangs up at once
/// cannot keep the source spinning. A connection that stays open without sending is not a
/// failure: as with Spark's `socketTextStream` (and `nc -lk`, typed into later), an idle
/// server is waited for until the job is stopped (Ctrl-C or SIGTERM).
fn read_socket(
    socket: Socket,
    job: JobContext,
    deliver: impl FnMut(Event) -> bool,
    waker: SyncActivator,
) {
    let deliver = std::cell::RefCell::new(deliver);
    let send = |event: Event| {
        let delivered = (deliver.borrow_mut())(event);
        let _ = waker.activate();
        delivered
    };
    let mut retry = Retry::new(&socket);
    let mut ever_delivered = false;
    loop {
        if job.is_stopped() {
            return;
        }
        let failure = match connect(&socket.address, retry.remaining()) {
            Err(reason) => format!("cannot connect: {reason}"),
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let read = read_connection(stream, &socket, &job, &send, ever_delivered);
                let Some(read) = read else {
                    return; // the job is gone or stopped
                };
                if read.delivered {
                    ever_delivered = true;
                    retry = Retry::new(&socket);
                }
                if socket.end_on_close {
                    if read.reason != CLOSED {
                        eprintln!(
                            "sluice: {}: {}; ending the stream",
                            socket.address, read.reason
                        );
                    }
                    send(Event::Ended);
                    return;
                }
                if read.delivered {
                    format!("lost the connection: {}", read.reason)
                } else {
                    format!("connected, but {} before sending a line", read.reason)
                }
            }
        };
        let Some(pause) = retry.next(&failure) else {
            if ever_delivered {
                eprintln!(
                    "sluice: {} did not come back within {} ms ({failure}); ending the stream",
                    socket.address,
                    socket.retry_window.as_millis()
                );
                send(Event::Ended);
            } else {
                send(Event::Failed(Error::Connect {
                    address: socket.address.clone(),
                    reason: failure,
                    waited_ms: retry.started.elapsed().as_millis() as u64,
                }));
            }
            return;
        };
        // Sleep in heartbeats, so that a stopped job does not wait out a long pause.
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if job.is_stopped() {
                return;
            }
            std::thread::sleep(
                until
                    .saturating_duration_since(Instant::now())
                    .min(HEARTBEAT),
            );
        }
    }
}

/// Connects to `address`, trying each address it resolves to in turn, within `timeout` in all:
/// a connect that hangs (a dropped SYN) is bounded by what is left of the retry window rather
/// than by the kernel's minutes. The error is the last address's, or `timed out` once the time
/// is spent.
///
/// A job stopped meanwhile does not wait for this: the reader thread is detached, and notices
/// the stop at its next read.
fn connect(address: &str, timeout: Duration) -> std::result::Result<TcpStream, String> {
    let deadline = Instant::now() + timeout;
    let timed_out = || Err("timed out".to_string());
    let mut last = None;
    for resolved in address.to_socket_addrs().map_err(|e| e.to_string())? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return timed_out();
        }
        match TcpStream::connect_timeout(&resolved, left) {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == ErrorKind::TimedOut && Instant::now() >= deadline => {
                return timed_out()
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || "could not resolve to any address".to_string(),
        |e| e.to_string(),
    ))
}

/// How a connection ended.
struct ConnectionEnd {
    /// Whether it delivered at least one line.
    delivered: bool,
    /// Why it ended.
    reason: String,
}

/// Reads lines from one connection until it ends; `None` if the job is gone or stopped. With
/// `reconnect`, its first line is reported as a reconnection (a connection that sends nothing
/// is not one).
///
/// Reads wait at most a [`HEARTBEAT`]: a silent server is not a failure, but the thread must
/// notice a stopped job, so each timeout hands over the lines already read and checks the job
/// before waiting again. A line cut by a timeout is kept and completed by the next read.
fn read_connection(
    stream: TcpStream,
    socket: &Socket,
    job: &JobContext,
    send: &impl Fn(Event) -> bool,
    reconnect: bool,
) -> Option<ConnectionEnd> {
    if let Err(e) = stream.set_read_timeout(Some(HEARTBEAT)) {
        let reason = e.to_string();
        return Some(ConnectionEnd {
            delivered: false,
            reason,
        });
    }
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let (mut line, mut batch) = (Vec::new(), Vec::new());
    let mut delivered = false;
    let reason = loop {
        match reader.read_until(b'\n', &mut line) {
            // The end of the stream, with no part of a line left over.
            Ok(0) if line.is_empty() => break CLOSED.to_string(),
            // A whole line, or the last one, unterminated, before the end.
            Ok(_) => {
                if !delivered && reconnect {
                    eprintln!("sluice: reconnected to {}", socket.address);
                }
                delivered = true;
                match decode_line(&line) {
                    Some(text) => batch.push(text.to_owned()),
                    None => job.malformed(|| format!("{}: line is not UTF-8", socket.address)),
                }
                line.clear();
            }
            // Silent for a heartbeat.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !batch.is_empty() && !send(Event::Lines(std::mem::take(&mut batch))) {
                    return None;
                }
                if job.is_stopped() {
                    return None;
                }
                continue;
            }
            Err(e) => break e.to_string(),
        }
        let caught_up = reader.buffer().is_empty();
        if (caught_up || batch.len() >= BATCH_LINES)
            && !batch.is_empty()
            && !send(Event::Lines(std::mem::take(&mut batch)))
        {
            return None;
        }
        if job.is_stopped() {
            return None;
        }
    };
    if !batch.is_empty() && !send(Event::Lines(batch)) {
        return None;
    }
    if job.is_stopped() {
        return None;
    }
    Some(ConnectionEnd { delivered, reason })
}

/// The retry window and backoff of a run of failed attempts, and their reports on stderr.
///
/// The pause doubles from [`FIRST_BACKOFF`] to [`MAX_BACKOFF`], each drawn between half and
/// all of its step (jitter, so that many sources retrying one server do not retry in step).
/// One line reports each new kind of failure; repeats of the same failure are counted and
/// summarised in one line when the failure changes or the attempts end, so a dead server costs
/// a few lines of stderr, not one per attempt.
struct Retry {
    address: String,
    window: Duration,
    started: Instant,
    backoff: Duration,
    last: Option<String>,
    repeats: u64,
}

impl Retry {
    fn new(socket: &Socket) -> Retry {
        Retry {
            address: socket.address.clone(),
            window: socket.retry_window,
            started: Instant::now(),
            backoff: FIRST_BACKOFF,
            last: None,
            repeats: 0,
        }
    }

    /// What is left of the window (at least one first backoff, so that an attempt can succeed).
    fn remaining(&self) -> Duration {
        self.window
            .saturating_sub(self.started.elapsed())
            .max(FIRST_BACKOFF)
    }

    /// The pause before the next attempt after `failure`, or `None` once the window is spent.
    fn next(&mut self, failure: &str) -> Option<Duration> {
        let step = self.backoff;
        let pause = step / 2 + step.mul_f64(0.5 * jitter());
        let spent = self.started.elapsed() + pause > self.window;
        if self.last.as_deref() == Some(failure) && !spent {
            self.repeats += 1;
        } else {
            self.summarise();
            if !spent {
                eprintln!(
                    "sluice: {}: {failure}; retrying with backoff ({} ms doubling to {} ms) for up to {} ms",
                    self.address,
                    FIRST_BACKOFF.as_millis(),
                    MAX_BACKOFF.as_millis(),
                    self.window.as_millis()
                );
            }
            self.last = Some(failure.to_string());
        }
        self.backoff = (step * 2).min(MAX_BACKOFF);
        (!spent).then_some(pause)
    }

    /// Reports how often the last failure repeated since it was first reported.
    fn summarise(&mut self) {
        if self.repeats > 0 {
            eprintln!(
                "sluice: {}: (same error {} more times)",
                self.address, self.repeats
            );
        }
        self.repeats = 0;
    }
}

impl Drop for Retry {
    fn drop(&mut self) {
        self.summarise();
    }
}

/// A number in [0, 1) that differs between calls and between processes (the clock's
/// nanoseconds, mixed): enough to spread retries apart, without a random-number crate.
fn jitter() -> f64 {
    let mixed = crate::time::now_nanos().wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_stops_with_the_window() {
        let socket = Socket::new("127.0.0.1:1")
            .unwrap()
            .retry_window(Duration::from_secs(3600));
        let mut retry = Retry::new(&socket);
        let mut step = FIRST_BACKOFF;
        for attempt in 0..10 {
            let pause = retry.next("refused").expect("within the window");
            assert!(
                pause >= step / 2 && pause <= step,
                "attempt {attempt}: {pause:?} is not within half of {step:?}"
            );
            step = (step * 2).min(MAX_BACKOFF);
        }
        // One line for the first failure; the nine repeats are only counted.
        assert_eq!(retry.repeats, 9);
        assert_eq!(retry.next("reset").map(|_| ()), Some(()));
        assert_eq!(retry.repeats, 0, "a new failure is reported afresh");

        let mut spent = Retry::new(&socket.retry_window(Duration::ZERO));
        assert_eq!(spent.next("refused"), None);
    }

    #[test]
    fn a_line_cut_by_a_silence_is_completed_and_a_stop_lets_go_of_an_idle_connection() {
        use std::io::{Read as _, Write as _};

        use crate::prelude::*;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (closed, reader_closed) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut connection, _) = listener.accept().unwrap();
            connection.write_all(b"one\ntw").unwrap();
            // Silent for a few of the reader's read timeouts, in the middle of a line.
            std::thread::sleep(3 * HEARTBEAT);
            connection.write_all(b"o\n").unwrap();
            // Then open and idle, until the reader closes its end.
            let _ = connection.read(&mut [0; 1]);
            closed.send(()).unwrap();
        });
        let socket = Socket::new(address).unwrap();
        let sink = Collector::new();
        let collected = sink.clone();
        let (context, job) = std::sync::mpsc::channel();
        let run = std::thread::spawn(move || {
            execute(Execution::default(), move |worker| {
                worker.dataflow(|scope| {
                    context.send(JobContext::of(scope)).unwrap();
                    scope.socket_text(&socket).collect_into(&sink);
                });
            })
        });
        let job = job.recv().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while collected.len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        job.stop();
        run.join().unwrap().unwrap();
        assert_eq!(collected.take(), vec!["one".to_string(), "two".to_string()]);
        reader_closed
            .recv_timeout(Duration::from_secs(2))
            .expect("the reader closes an idle connection soon after the job stops");
    }
}
