//! A broker's partitions as a Sluice source, read in parallel and exactly once.
//!
//! Every worker of every process is a reader: reader `w` of `n` takes partitions `w, w + n, …`
//! ([`assigned`]), so the read rate grows with the workers up to one reader per partition. Each
//! reader's checkpoint holds its partitions and its position in each; a restored job reads on
//! from there. With another number of workers the partitions are assigned again, each going on
//! from the position its old reader had reached ([`Read::rescale`]), so none is read twice or
//! skipped; a job whose partitions changed is refused, naming them.
//!
//! A thread per reader talks to the broker (a blocking client, reconnecting with backoff) and
//! hands batches of lines to its worker, waking it; the worker stamps them with the time it
//! takes them, as every source does. A message whose payload is not UTF-8 is counted as
//! malformed and skipped, and its position still advances: replaying it would not mend it.
//!
//! ```no_run
//! use sluice_connectors::{BrokerSource, RedisStreams};
//! use sluice_engine::prelude::*;
//! let redis = RedisStreams::new("127.0.0.1:6379", vec!["lines".into()]);
//! let source = BrokerSource::open(redis).unwrap();
//! let lines = Collector::new();
//! let sink = lines.clone();
//! execute(Execution::default().workers(2), move |worker| {
//!     worker.dataflow(|scope| scope.source(&source).collect_into(&sink));
//! })
//! .unwrap();
//! ```

use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_engine::checkpoint::rescale::Share;
use sluice_engine::job::JobContext;
use sluice_engine::sources::driver::{drive, Poll, Read};
use sluice_engine::sources::handoff::{self, HandOff};
use sluice_engine::sources::{Source, Spread};
use sluice_engine::stream::{Scope, Stream};
use sluice_engine::Error;
use timely::scheduling::SyncActivator;

use crate::broker::{assigned, Broker, Fetched, Message, Positions};

/// Messages per fetch from the broker.
const FETCH: usize = 4096;
/// Batches in flight between a reader thread and its worker: the thread waits for the worker
/// beyond that, so a slow job holds back reading rather than buffering without bound.
const IN_FLIGHT: usize = 4;
/// The source's operator (and metrics) name.
const NAME: &str = "BrokerSource";
/// How long a following reader's fetch waits on the broker for new messages.
const WAIT: Duration = Duration::from_millis(100);

/// A broker's stream as a source of lines; see the module docs.
#[derive(Clone, Debug)]
pub struct BrokerSource<B> {
    broker: B,
    partitions: Vec<String>,
    follow: bool,
}

impl<B: Broker> BrokerSource<B> {
    /// The stream on `broker`, read to its end as of the start; fails, naming the broker, if it
    /// is unreachable or the stream is missing.
    pub fn open(broker: B) -> Result<Self, Error> {
        let partitions = broker.partitions()?;
        Ok(BrokerSource {
            broker,
            partitions,
            follow: false,
        })
    }

    /// Keeps reading new messages until the job stops, instead of ending at the end.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// The partitions, in the order readers are assigned them.
    pub fn partitions(&self) -> &[String] {
        &self.partitions
    }
}

impl<B: Broker> Source for BrokerSource<B> {
    type Item = String;

    fn spread(&self) -> Spread {
        Spread::AllWorkers
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        let source = self.clone();
        let job = JobContext::of(scope);
        let (index, peers) = (scope.index(), scope.peers());
        let mine = assigned(&self.partitions, index, peers);
        drive(scope, NAME, move |waker| {
            (!mine.is_empty()).then(|| BrokerRead {
                source,
                reader: (index, peers),
                read: 0,
                partitions: mine,
                positions: Positions::new(),
                waker: Some(waker),
                batches: None,
                job,
            })
        })
    }
}

/// A reader's checkpoint: its partitions and its position in each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReaderOffset {
    partitions: Vec<String>,
    positions: Positions,
}

/// What a reader thread hands its worker.
enum Batch {
    Messages(Vec<Message>),
    Done,
    Failed(Error),
}

/// One worker's reading: the thread is started at the first read, once a restored position
/// is known.
struct BrokerRead<B> {
    source: BrokerSource<B>,
    /// This reader's index, and how many there are.
    reader: (usize, usize),
    /// Messages read in this run.
    read: u64,
    partitions: Vec<String>,
    positions: Positions,
    waker: Option<SyncActivator>,
    batches: Option<Receiver<Batch>>,
    job: JobContext,
}

impl<B: Broker> BrokerRead<B> {
    fn start(&mut self) -> Receiver<Batch> {
        let (send, receive) = HandOff::new(&self.job, NAME, IN_FLIGHT);
        let broker = self.source.broker.clone();
        let (partitions, from, follow) = (
            self.partitions.clone(),
            self.positions.clone(),
            self.source.follow,
        );
        let waker = self.waker.take().expect("started once");
        let job = self.job.clone();
        let spawned = std::thread::Builder::new()
            .name("sluice-broker-reader".into())
            .spawn(move || {
                let mut reader = match broker.reader(&partitions, &from, follow) {
                    Ok(reader) => reader,
                    Err(error) => {
                        let _ = send.send(Batch::Failed(error), 0);
                        let _ = waker.activate();
                        return;
                    }
                };
                loop {
                    let mut messages = Vec::new();
                    let batch = match reader.fetch(FETCH, WAIT, &mut messages) {
                        Ok(Fetched::More) if messages.is_empty() && !job.is_stopped() => continue,
                        Ok(Fetched::More) if messages.is_empty() => Batch::Done,
                        Ok(Fetched::More) => Batch::Messages(messages),
                        Ok(Fetched::Done) => {
                            let n = messages.len();
                            if n > 0 && !send.send(Batch::Messages(messages), n) {
                                return;
                            }
                            Batch::Done
                        }
                        Err(error) => Batch::Failed(error),
                    };
                    let last = !matches!(batch, Batch::Messages(_));
                    let n = match &batch {
                        Batch::Messages(messages) => messages.len(),
                        _ => 0,
                    };
                    if !send.send(batch, n) {
                        return; // the worker has let go of the source
                    }
                    let _ = waker.activate();
                    if last {
                        return;
                    }
                }
            });
        if let Err(error) = spawned {
            self.job.fail(Error::Startup(format!(
                "cannot start a broker reader: {error}"
            )));
        }
        receive
    }
}

impl<B: Broker> Read<String> for BrokerRead<B> {
    type Offset = ReaderOffset;

    fn read(&mut self, out: &mut Vec<String>) -> Result<Poll, Error> {
        if self.batches.is_none() {
            self.batches = Some(self.start());
        }
        let batches = self.batches.as_ref().expect("started");
        // One batch a turn, or all that was handed over (see `handoff`).
        let all = handoff::takes_all(&self.job);
        let mut took = false;
        loop {
            match batches.try_recv() {
                Ok(Batch::Messages(messages)) => {
                    self.read += messages.len() as u64;
                    for message in messages {
                        let partition = &self.partitions[message.partition];
                        match String::from_utf8(message.payload) {
                            Ok(line) => out.push(line),
                            Err(_) => self.job.malformed(|| {
                                format!(
                                    "{}: message {} of {partition} is not UTF-8",
                                    self.source.broker, message.position
                                )
                            }),
                        }
                        self.positions.insert(partition.clone(), message.position);
                    }
                    took = true;
                    if !all {
                        return Ok(Poll::Ready);
                    }
                }
                Ok(Batch::Done) | Err(TryRecvError::Disconnected) => {
                    // What each reader read: parallel reading is seen to be parallel.
                    let (index, peers) = self.reader;
                    eprintln!(
                        "sluice: broker reader {index} of {peers} read {} message(s) from {}",
                        self.read,
                        self.partitions.join(",")
                    );
                    return Ok(Poll::Done);
                }
                Ok(Batch::Failed(error)) => return Err(error),
                Err(TryRecvError::Empty) if took => return Ok(Poll::Ready),
                Err(TryRecvError::Empty) => return Ok(Poll::Idle),
            }
        }
    }

    fn offset(&self) -> Option<ReaderOffset> {
        Some(ReaderOffset {
            partitions: self.partitions.clone(),
            positions: self.positions.clone(),
        })
    }

    /// The partitions assigned to `share` among all the old readers' — reader `i` had
    /// partitions `i, i + n, …`, so interleaving theirs gives them in order — each from the
    /// position its old reader had reached. (A reader with no partition has no offset; those
    /// are the last readers, so dropping them keeps the order.)
    fn rescale(
        offsets: Vec<Option<ReaderOffset>>,
        share: Share,
    ) -> Result<Option<ReaderOffset>, String> {
        let old: Vec<ReaderOffset> = offsets.into_iter().flatten().collect();
        let rounds = old.iter().map(|o| o.partitions.len()).max().unwrap_or(0);
        let all: Vec<String> = (0..rounds)
            .flat_map(|k| old.iter().filter_map(move |o| o.partitions.get(k).cloned()))
            .collect();
        let partitions = assigned(&all, share.worker, share.workers);
        let positions = old
            .into_iter()
            .flat_map(|o| o.positions)
            .filter(|(partition, _)| partitions.contains(partition))
            .collect();
        Ok(Some(ReaderOffset {
            partitions,
            positions,
        }))
    }

    fn seek(&mut self, offset: ReaderOffset) -> Result<(), Error> {
        if offset.partitions != self.partitions {
            return Err(Error::Config(format!(
                "the checkpoint's reader read partitions {:?}, this run would assign it {:?}: \
                 the job's partitions changed since",
                offset.partitions, self.partitions
            )));
        }
        self.positions = offset.positions;
        Ok(())
    }
}
