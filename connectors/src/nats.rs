//! NATS JetStream as a [`Broker`]: a stream's subjects are its partitions, each message's
//! stream sequence its position.
//!
//! The partitions are the subjects the stream is configured with (or the one subject the URL
//! names): fixed by the stream's configuration, so a restarted job's readers are assigned the
//! same ones. `sluice broker push nats://HOST:PORT/STREAM/SUBJECT` creates the stream with
//! that subject, or adds the subject to it: pushing to `LINES/lines.a` and `LINES/lines.b`
//! makes a stream of two partitions, which two workers read in parallel.
//!
//! A reader takes each of its subjects through an ordered consumer (the client recreates it
//! from the last sequence seen if it misses messages or the server restarts) starting after
//! the checkpointed sequence. Reading to the end stops at the stream's last sequence as of
//! opening, or earlier when a subject has nothing more pending.
//!
//! [`Append::append_epoch`] publishes each line with a `Nats-Msg-Id` of
//! `JOB/WRITER/EPOCH/INDEX`: the stream drops a message whose id it has seen within its
//! duplicate window (2 minutes by default), so a replay after a restore appends nothing twice
//! — if the job restarts within that window. A restart later than that may append again the
//! epochs that were published but not yet known to be (at most the last checkpoint interval
//! or two); the docs say so.

use std::collections::VecDeque;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use tokio::runtime::Runtime;

use crate::broker::{Append, Broker, Fetch, Fetched, Message, Positions};
use crate::retry::Retry;
use sluice_engine::Error;

/// Publishes in flight before their acknowledgements are awaited.
const PUBLISH_WINDOW: usize = 4096;
/// How long a publish may wait for room in the client's queue.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// A JetStream stream on one server; see the module docs.
#[derive(Clone, Debug)]
pub struct NatsStream {
    address: String,
    stream: String,
    subject: Option<String>,
}

impl NatsStream {
    /// The stream `stream` on the server at `address` (`HOST:PORT`), read whole or only
    /// `subject`, written to `subject` (default: the stream's name).
    pub fn new(address: &str, stream: &str, subject: Option<&str>) -> Self {
        NatsStream {
            address: address.to_string(),
            stream: stream.to_string(),
            subject: subject.map(str::to_string),
        }
    }

    /// The subject output goes to.
    fn write_subject(&self) -> &str {
        self.subject.as_deref().unwrap_or(&self.stream)
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::Operator(format!("{self}: {what}: {e}"))
    }

    /// A runtime and a JetStream context on a fresh connection that reconnects by itself.
    fn connect(&self) -> Result<(Runtime, jetstream::Context), Error> {
        self.connect_with(async_nats::ConnectOptions::new())
    }

    /// A runtime and a JetStream context on a fresh connection that does *not* reconnect for
    /// an hour, and gives up on an acknowledgement after 2 s: an appender's. A client that
    /// reconnects sends what was queued while it was away — after messages the server lost in
    /// the break, out of order. An appender that gives up drops its client with that queue and
    /// publishes again from the first unacknowledged message: what the server stored of a
    /// window is then a prefix of it, and the rest follows in order.
    fn connect_appender(&self) -> Result<(Runtime, jetstream::Context), Error> {
        // The delay also paces the first connection's attempts: it is long only once that
        // has succeeded.
        let connected = Arc::new(AtomicBool::new(false));
        let once = connected.clone();
        let options =
            async_nats::ConnectOptions::new().reconnect_delay_callback(move |_| {
                match once.load(Ordering::SeqCst) {
                    true => Duration::from_secs(3600),
                    false => Duration::ZERO,
                }
            });
        let (runtime, mut js) = self.connect_with(options)?;
        connected.store(true, Ordering::SeqCst);
        js.set_timeout(Duration::from_secs(2));
        Ok((runtime, js))
    }

    fn connect_with(
        &self,
        options: async_nats::ConnectOptions,
    ) -> Result<(Runtime, jetstream::Context), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::Startup(format!("cannot start a NATS client runtime: {e}")))?;
        let client = runtime
            .block_on(
                options
                    .connection_timeout(Duration::from_secs(5))
                    .connect(self.address.as_str()),
            )
            .map_err(|e| Error::Connect {
                address: self.to_string(),
                reason: e.to_string(),
                waited_ms: 0,
            })?;
        // The context spawns nothing, but the client expects to be made inside its runtime.
        let js = {
            let _inside = runtime.enter();
            jetstream::new(client)
        };
        Ok((runtime, js))
    }

    /// The stream, which must exist.
    fn stream(&self, runtime: &Runtime, js: &jetstream::Context) -> Result<stream::Stream, Error> {
        runtime.block_on(js.get_stream(&self.stream)).map_err(|e| {
            if matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(_)) {
                Error::Config(format!(
                    "{self}: no stream {:?} on the server (push to it first: sluice broker push) ({e})",
                    self.stream
                ))
            } else {
                self.error("cannot look up the stream", e)
            }
        })
    }
}

impl std::fmt::Display for NatsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nats://{}/{}", self.address, self.stream)?;
        match &self.subject {
            Some(subject) => write!(f, "/{subject}"),
            None => Ok(()),
        }
    }
}

impl Broker for NatsStream {
    fn partitions(&self) -> Result<Vec<String>, Error> {
        let (runtime, js) = self.connect()?;
        let stream = self.stream(&runtime, &js)?;
        Ok(match &self.subject {
            Some(subject) => vec![subject.clone()],
            None => {
                let mut subjects = stream.cached_info().config.subjects.clone();
                subjects.sort();
                subjects
            }
        })
    }

    fn reader(
        &self,
        partitions: &[String],
        from: &Positions,
        follow: bool,
    ) -> Result<Box<dyn Fetch>, Error> {
        let (runtime, js) = self.connect()?;
        let mut stream = self.stream(&runtime, &js)?;
        let end = runtime
            .block_on(stream.info())
            .map_err(|e| self.error("cannot read the stream's state", e))?
            .state
            .last_sequence;
        let mut readers = Vec::new();
        for subject in partitions {
            let after = match from.get(subject) {
                Some(position) => position.parse::<u64>().map_err(|_| {
                    Error::Config(format!(
                        "{self}: saved position of {subject:?} is not a sequence: {position:?}"
                    ))
                })?,
                None => 0,
            };
            let config = consumer::pull::OrderedConfig {
                filter_subject: subject.clone(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ..Default::default()
            };
            let consumer = runtime
                .block_on(stream.create_consumer(config))
                .map_err(|e| self.error(&format!("cannot read {subject}"), e))?;
            let pending = consumer.cached_info().num_pending;
            let messages = runtime
                .block_on(consumer.messages())
                .map_err(|e| self.error(&format!("cannot read {subject}"), e))?;
            readers.push(SubjectReader {
                messages,
                done: !follow && (pending == 0 || after >= end),
            });
        }
        Ok(Box::new(NatsReader {
            name: self.to_string(),
            retry: Retry::new(),
            runtime,
            readers,
            end: (!follow).then_some(end),
            next: 0,
        }))
    }

    fn appender(&self) -> Result<Box<dyn Append>, Error> {
        let (runtime, js) = self.connect_appender()?;
        let subject = self.write_subject().to_string();
        // A server that restarts answers before its JetStream is ready: that is waited for,
        // with backoff, within the retry window; a subject of another stream is not.
        let mut retry = Retry::new();
        loop {
            match self.ensure_stream(&runtime, &js, &subject) {
                Ok(()) => break,
                Err(Transient(reason)) => retry.failed(&self.to_string(), &reason)?,
                Err(Fatal(reason)) => return Err(Error::Config(reason)),
            }
        }
        Ok(Box::new(NatsAppender {
            nats: self.clone(),
            subject,
            client: Some((js, runtime)),
            unsettled: VecDeque::new(),
        }))
    }
}

impl NatsStream {
    /// The stream, created with `subject` if missing, or given it if it lacks it.
    fn ensure_stream(
        &self,
        runtime: &Runtime,
        js: &jetstream::Context,
        subject: &str,
    ) -> Result<(), Failure> {
        use jetstream::context::CreateStreamErrorKind;
        let owner = runtime.block_on(js.stream_by_subject(subject.to_string()));
        match owner {
            Ok(name) if name == self.stream => return Ok(()),
            Ok(other) => {
                return Err(Fatal(format!(
                    "{self}: subject {subject:?} belongs to stream {other:?}"
                )))
            }
            Err(_) => {}
        }
        let created = runtime.block_on(js.get_or_create_stream(stream::Config {
            name: self.stream.clone(),
            subjects: vec![subject.to_string()],
            ..Default::default()
        }));
        let mut stream = created.map_err(|e| {
            let reason = format!("{self}: cannot create the stream: {e}");
            match e.kind() {
                CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable => {
                    Transient(reason)
                }
                _ => Fatal(reason),
            }
        })?;
        let mut config = runtime
            .block_on(stream.info())
            .map_err(|e| Transient(format!("{self}: cannot read the stream: {e}")))?
            .config
            .clone();
        if !config.subjects.iter().any(|s| s == subject) {
            config.subjects.push(subject.to_string());
            runtime
                .block_on(js.update_stream(config))
                .map_err(|e| Fatal(format!("{self}: cannot add subject {subject}: {e}")))?;
        }
        Ok(())
    }
}

/// One subject's ordered consumer.
struct SubjectReader {
    messages: consumer::pull::Ordered,
    done: bool,
}

/// Why a read stopped short.
enum Failure {
    /// Worth trying again: the consumer may recover.
    Transient(String),
    /// Not.
    Fatal(String),
}
use Failure::{Fatal, Transient};

struct NatsReader {
    name: String,
    retry: Retry,
    readers: Vec<SubjectReader>,
    /// The stream's last sequence as of opening, unless following.
    end: Option<u64>,
    /// The subject to look at next (round robin).
    next: usize,
    /// Last, so that it is dropped after the consumers it drives.
    runtime: Runtime,
}

impl Fetch for NatsReader {
    fn fetch(
        &mut self,
        max: usize,
        wait: Duration,
        out: &mut Vec<Message>,
    ) -> Result<Fetched, Error> {
        let open: Vec<usize> = (0..self.readers.len())
            .filter(|&r| !self.readers[r].done)
            .collect();
        if open.is_empty() {
            return Ok(Fetched::Done);
        }
        let r = open[self.next % open.len()];
        self.next = self.next.wrapping_add(1);
        let (name, end) = (&self.name, self.end);
        let reader = &mut self.readers[r];
        let read = self.runtime.block_on(async {
            // Wait for the first message; take what else is ready at once.
            let mut deadline = wait;
            while out.len() < max {
                let next = tokio::time::timeout(deadline, reader.messages.next()).await;
                deadline = Duration::ZERO;
                let message = match next {
                    Err(_) => break, // nothing ready
                    Ok(None) => return Err(Fatal(format!("{name}: the consumer ended"))),
                    // The consumer recreates itself on the next poll (a server restart, missed
                    // heartbeats): a pause, unless it lasts.
                    Ok(Some(Err(e))) => return Err(Transient(e.to_string())),
                    Ok(Some(Ok(message))) => message,
                };
                let info = message
                    .info()
                    .map_err(|e| Fatal(format!("{name}: a message without metadata: {e}")))?;
                let (sequence, pending) = (info.stream_sequence, info.pending);
                if end.is_some_and(|end| sequence > end) {
                    reader.done = true; // appended after opening: not this run's
                    break;
                }
                out.push(Message {
                    partition: r,
                    position: sequence.to_string(),
                    payload: message.payload.to_vec(),
                });
                if end.is_some_and(|end| pending == 0 || sequence >= end) {
                    reader.done = true;
                    break;
                }
            }
            Ok(())
        });
        match read {
            Ok(()) => self.retry.succeeded(),
            Err(Transient(reason)) => self.retry.failed(&self.name, &reason)?,
            Err(Fatal(reason)) => return Err(Error::Operator(reason)),
        }
        Ok(if self.readers.iter().all(|r| r.done) {
            Fetched::Done
        } else {
            Fetched::More
        })
    }
}

struct NatsAppender {
    nats: NatsStream,
    subject: String,
    /// The connection (the context before the runtime that drives it, so dropped first);
    /// `None` after a failure, until reconnected.
    client: Option<(jetstream::Context, Runtime)>,
    /// Lines [`Append::send`] published whose acknowledgements are still to be awaited, oldest
    /// first.
    unsettled: VecDeque<(String, jetstream::context::PublishAckFuture)>,
}

impl NatsAppender {
    /// Publishes `(id, line)`s, awaiting their acknowledgements a window at a time. After a
    /// failure the client is dropped (see [`NatsStream::connect_appender`]) and the window is
    /// published again on a new one from its first unacknowledged message: the ids make what
    /// the server had stored of it harmless, and nothing is stored out of order.
    fn publish(
        &mut self,
        lines: impl Iterator<Item = (Option<String>, String)>,
    ) -> Result<(), Error> {
        let lines: Vec<_> = lines.collect();
        let name = self.nats.to_string();
        let mut retry = Retry::new();
        for window in lines.chunks(PUBLISH_WINDOW) {
            let mut from = 0;
            while from < window.len() {
                if self.client.is_none() {
                    let nats = &self.nats;
                    let (runtime, js) = retry.again(&name, || nats.connect_appender())?;
                    self.client = Some((js, runtime));
                }
                let (js, runtime) = self.client.as_ref().expect("connected");
                let (acknowledged, failure) =
                    publish_window(js, runtime, &self.subject, &window[from..]);
                from += acknowledged;
                if let Some(reason) = failure {
                    self.client = None;
                    retry.failed(&name, &reason)?;
                }
            }
            retry.succeeded();
        }
        Ok(())
    }
}

/// Publishes `lines` to `subject` and awaits their acknowledgements in order: how many were
/// acknowledged before the first that was not, and why that one was not.
fn publish_window(
    js: &jetstream::Context,
    runtime: &Runtime,
    subject: &str,
    lines: &[(Option<String>, String)],
) -> (usize, Option<String>) {
    runtime.block_on(async {
        let mut acks = Vec::with_capacity(lines.len());
        for (id, line) in lines {
            let send = async {
                match id {
                    Some(id) => {
                        let mut headers = async_nats::HeaderMap::new();
                        headers.insert("Nats-Msg-Id", id.as_str());
                        js.publish_with_headers(subject.to_string(), headers, line.clone().into())
                            .await
                    }
                    None => js.publish(subject.to_string(), line.clone().into()).await,
                }
            };
            // A client that is away stops taking messages once its queue is full.
            match tokio::time::timeout(SEND_TIMEOUT, send).await {
                Ok(Ok(ack)) => acks.push(ack),
                Ok(Err(e)) => return settle(acks, Some(format!("cannot publish: {e}"))).await,
                Err(_) => {
                    let reason = format!("cannot publish: no room to send for {SEND_TIMEOUT:?}");
                    return settle(acks, Some(reason)).await;
                }
            }
        }
        settle(acks, None).await
    })
}

/// Awaits `acks` in order: how many succeeded before the first failure, and the failure (or
/// `failed`, what stopped the sending).
async fn settle(
    acks: Vec<jetstream::context::PublishAckFuture>,
    failed: Option<String>,
) -> (usize, Option<String>) {
    let sent = acks.len();
    for (i, ack) in acks.into_iter().enumerate() {
        if let Err(e) = ack.await {
            return (i, Some(format!("a publish was not acknowledged: {e}")));
        }
    }
    (sent, failed)
}

impl NatsAppender {
    /// Awaits the oldest acknowledgements until at most `keep` are outstanding. On a failure,
    /// the lines from the first unacknowledged one on are published again on a new client,
    /// acknowledged, before anything newer.
    fn settle_until(&mut self, keep: usize) -> Result<(), Error> {
        while self.unsettled.len() > keep {
            let (line, ack) = self.unsettled.pop_front().expect("longer than keep");
            let acknowledged = match &self.client {
                Some((_, runtime)) => runtime.block_on(ack.into_future()).is_ok(),
                None => false,
            };
            if !acknowledged {
                let again: Vec<String> = std::iter::once(line)
                    .chain(self.unsettled.drain(..).map(|(line, _)| line))
                    .collect();
                self.client = None;
                return self.publish(again.into_iter().map(|line| (None, line)));
            }
        }
        Ok(())
    }
}

impl Append for NatsAppender {
    fn append(&mut self, lines: &[String]) -> Result<(), Error> {
        self.flush()?;
        self.publish(lines.iter().map(|line| (None, line.clone())))
    }

    fn send(&mut self, lines: &[String]) -> Result<(), Error> {
        for (i, line) in lines.iter().enumerate() {
            let sent = match &self.client {
                Some((js, runtime)) => runtime.block_on(async {
                    let send = js.publish(self.subject.clone(), line.clone().into());
                    tokio::time::timeout(SEND_TIMEOUT, send).await
                }),
                None => return self.flush().and_then(|()| self.append(&lines[i..])),
            };
            match sent {
                Ok(Ok(ack)) => self.unsettled.push_back((line.clone(), ack)),
                // Not sent: what was sent before it first, then it and the rest.
                _ => {
                    self.client = None;
                    return self.flush().and_then(|()| self.append(&lines[i..]));
                }
            }
        }
        self.settle_until(PUBLISH_WINDOW)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.settle_until(0)
    }

    fn append_epoch(
        &mut self,
        job: &str,
        writer: usize,
        epoch: u64,
        lines: &[String],
    ) -> Result<(), Error> {
        self.publish(
            lines
                .iter()
                .enumerate()
                .map(|(i, line)| (Some(format!("{job}/{writer}/{epoch}/{i}")), line.clone())),
        )
    }
}
