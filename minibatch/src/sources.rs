//! Input DStreams: where batches come from.
//!
//! Two kinds, as in Spark:
//!
//! - **Record sources** (Spark's receivers): the engine's sources — socket, directory, file,
//!   generator — read records as they come and stamp each with its arrival time; the
//!   *discretize* step then gives each record its batch time, the end of the interval it arrived
//!   in (batch `t` holds arrivals in `[t − interval, t)`). Records still flow one by one; only
//!   their timestamp changes.
//! - **Batch sources** (Spark's `InputDStream.compute(time)`): at each batch time the source
//!   produces that batch whole — `queue_stream` takes one queued batch, `input_batches` (the
//!   test suites' input) the i-th given batch.
//!
//! Every source counts as live until it ends; when all have ended the graph's ticks stop and the
//! job finishes, after the last batch.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sluice_engine::prelude::Sources;
use sluice_engine::sources::driver::until_tick;
use sluice_engine::sources::{Directory, Generator, LogSource, Socket, TextFile};
use sluice_engine::stream::{Data, Stream};
use sluice_engine::timely::container::CapacityContainerBuilder;
use sluice_engine::timely::dataflow::channels::pact::Pipeline;
use sluice_engine::timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use sluice_engine::timely::dataflow::operators::generic::operator::source;
use sluice_engine::timely::dataflow::operators::generic::OutputBuilder;
use sluice_engine::timely::dataflow::operators::Exchange;
use sluice_engine::timely::progress::Antichain;
use sluice_engine::Time;

use crate::batch::Batch;
use crate::dstream::{spread, DStream, Part};
use crate::graph::{batch_of, Graph};
use crate::presence::Presence;

/// Spark's `queueStream` queue: each element is one batch's records.
pub type BatchQueue<T> = Arc<Mutex<VecDeque<Vec<T>>>>;

/// How a record source is split over workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// Every worker reads a share: one partition per worker.
    AllWorkers,
    /// Worker 0 reads it all: one partition.
    Worker0,
}

impl<'s> Graph<'s> {
    /// Spark's `socketTextStream(host, port)`: lines from a TCP server at `address`
    /// (`host:port`), reconnecting when the connection drops.
    pub fn socket_text_stream(&self, address: &str) -> DStream<'s, String> {
        match Socket::new(address) {
            Ok(socket) => self.socket_stream(&socket),
            Err(error) => {
                self.problem(error.into());
                self.empty_stream()
            }
        }
    }

    /// Lines from a configured [`Socket`] (retry window, ...).
    pub fn socket_stream(&self, socket: &Socket) -> DStream<'s, String> {
        self.record_stream(self.scope().socket_text(socket), Spread::Worker0)
    }

    /// Spark's `textFileStream(directory)`: the lines of each file newly moved into `directory`.
    pub fn text_file_stream(&self, directory: impl AsRef<Path>) -> DStream<'s, String> {
        match Directory::open(directory.as_ref()) {
            Ok(directory) => self.directory_stream(&directory),
            Err(error) => {
                self.problem(error.into());
                self.empty_stream()
            }
        }
    }

    /// Lines of new files from a configured [`Directory`] (poll interval, existing files).
    pub fn directory_stream(&self, directory: &Directory) -> DStream<'s, String> {
        self.record_stream(self.scope().text_directory(directory), Spread::Worker0)
    }

    /// The lines of one text file, read once at full speed, split over all workers.
    pub fn text_file(&self, file: &TextFile) -> DStream<'s, String> {
        self.record_stream(self.scope().text_file(file), Spread::AllWorkers)
    }

    /// The records of an event log as lines, split over all workers, batched by the time they
    /// are read (as Spark's Kafka direct stream batches the offsets that arrived in each
    /// interval).
    pub fn event_log(&self, log: &LogSource) -> DStream<'s, String> {
        let log = log.clone().arrival_time();
        self.record_stream(self.scope().event_log(&log), Spread::AllWorkers)
    }

    /// The shared word-count corpus, split over all workers, at full speed or a fixed rate.
    pub fn generator_stream(&self, generator: &Generator) -> DStream<'s, String> {
        self.record_stream(self.scope().generate(generator), Spread::AllWorkers)
    }

    /// Any engine stream as an input DStream (Spark's `receiverStream`): records are batched by
    /// the time they arrive.
    pub fn record_stream<T: Data>(
        &self,
        records: Stream<'s, T>,
        spread_over: Spread,
    ) -> DStream<'s, T> {
        let peers = self.scope().peers();
        let (partition, homes) = match spread_over {
            Spread::AllWorkers => (self.scope().index() as Part, spread(peers, peers)),
            Spread::Worker0 => (0, spread(1, peers)),
        };
        DStream {
            graph: self.clone(),
            stream: discretize(self, records, partition),
            slide: self.batch_interval(),
            homes,
            presence: Presence::every(self.batch_interval()),
        }
    }

    /// Spark's `queueStream(queue, oneAtATime, defaultRDD)`: at each batch, the next queued
    /// batch (or, when not `one_at_a_time`, all queued batches at once); when the queue is
    /// empty, `default` or an empty batch. Worker 0 takes from the queue. The queue cannot
    /// replay: after a restore from a checkpoint, what was taken after it is not taken again.
    pub fn queue_stream<T: Data>(
        &self,
        queue: &BatchQueue<T>,
        one_at_a_time: bool,
        default: Option<Vec<T>>,
    ) -> DStream<'s, T> {
        let queue = (self.scope().index() == 0).then(|| queue.clone());
        self.batch_source(
            "QueueStream",
            1,
            Presence::every(self.batch_interval()),
            move |_| {
                let queue = queue.as_ref()?;
                let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
                let taken: Vec<T> = if one_at_a_time {
                    queue.pop_front().unwrap_or_default()
                } else {
                    queue.drain(..).flatten().collect()
                };
                let batch = if taken.is_empty() {
                    default.clone().unwrap_or_default()
                } else {
                    taken
                };
                Some(batch.into_iter().map(|x| (0, x)).collect())
            },
        )
    }

    /// The input of Spark's test suites (`TestInputStream`): batch `i` (1-based), at time
    /// `i × interval`, is `batches[i - 1]` split into `partitions` contiguous slices as Spark's
    /// `parallelize` splits; `None` means *no batch* at that time (not an empty one); after the
    /// list, batches are empty. Times count from 0, so run it under a manual clock.
    pub fn input_batches<T: Data>(
        &self,
        batches: Vec<Option<Vec<T>>>,
        partitions: usize,
    ) -> DStream<'s, T> {
        let interval = self.batch_interval();
        let partitions = partitions.max(1);
        let absent: Vec<Time> = (1..)
            .zip(&batches)
            .filter(|(_, b)| b.is_none())
            .map(|(i, _)| i * interval)
            .collect();
        let presence = Presence::new(interval, move |t| !absent.contains(&t));
        let (me, peers) = (self.scope().index(), self.scope().peers());
        self.batch_source("InputBatches", partitions, presence, move |t| {
            let batch = batches
                .get((t / interval) as usize - 1)
                .cloned()
                .flatten()
                .unwrap_or_default();
            let parts = Batch::parallelize(t, batch, partitions).into_partitions();
            Some(
                (0..)
                    .zip(parts)
                    .filter(|(p, _)| *p as usize % peers == me)
                    .flat_map(|(p, part)| part.into_iter().map(move |x| (p, x)))
                    .collect(),
            )
        })
    }

    /// A source that produces each batch whole at its batch time: `produce(t)` gives this
    /// worker's tagged records of batch `t`; they are then sent to their partitions' homes.
    fn batch_source<T: Data>(
        &self,
        name: &str,
        partitions: usize,
        presence: Presence,
        mut produce: impl FnMut(Time) -> Option<Vec<(Part, T)>> + 'static,
    ) -> DStream<'s, T> {
        let scope = self.scope();
        let interval = self.batch_interval();
        let first = self.first_batch();
        let job = self.job().clone();
        let mut live = Some(self.source_started());
        let batches = source::<_, CapacityContainerBuilder<Vec<(Part, T)>>, _, _>(
            scope,
            name,
            move |capability, info| {
                let activator = scope.activator_for(info.address.clone());
                job.clock()
                    .wake_on_advance(scope.worker().sync_activator_for(info.address.to_vec()));
                let mut capability = Some(capability);
                let mut started = false;
                move |output| {
                    let Some(cap) = capability.as_mut() else {
                        return;
                    };
                    let now = job.clock().now_ms();
                    if !started {
                        started = true;
                        cap.downgrade(&first);
                    }
                    while *cap.time() <= now {
                        let t = *cap.time();
                        if let Some(mut records) = produce(t) {
                            output.session(&*cap).give_container(&mut records);
                        }
                        cap.downgrade(&(t + interval));
                    }
                    if job.is_stopped() {
                        capability = None;
                        live.take();
                    } else if !job.clock().is_manual() {
                        activator.activate_after(until_tick(now, interval));
                    }
                }
            },
        );
        DStream {
            graph: self.clone(),
            stream: batches.exchange(|(p, _)| *p as u64),
            slide: interval,
            homes: spread(partitions, scope.peers()),
            presence,
        }
    }
}

/// Gives each record the time of the batch it arrived in, and tags it with `partition`.
///
/// The operator promises timely that its output times are at least one more than its input
/// times (batch `t` holds arrivals before `t`), so batch `t` is complete downstream as soon as
/// the source's frontier reaches `t`.
fn discretize<'s, T: 'static>(
    graph: &Graph<'s>,
    records: Stream<'s, T>,
    partition: Part,
) -> Stream<'s, (Part, T)> {
    let interval = graph.batch_interval();
    let mut live = Some(graph.source_started());
    let mut builder = OperatorBuilder::new("Discretize".to_owned(), graph.scope());
    let mut input = builder.new_input(records, Pipeline);
    let (output, stream) =
        builder.new_output_connection::<Vec<(Part, T)>, _>([(0, Antichain::from_elem(1))]);
    let mut output = OutputBuilder::<_, CapacityContainerBuilder<Vec<(Part, T)>>>::from(output);
    builder.build(move |_| {
        move |frontiers| {
            let mut output = output.activate();
            input.for_each_stamp(|cap, data| {
                let arrived = *cap.least().expect("a Vec message has one time");
                let batch = cap.delayed(&batch_of(arrived, interval), 0);
                let mut session = output.session(&batch);
                for records in data {
                    session.give_iterator(records.drain(..).map(|x| (partition, x)));
                }
            });
            if frontiers[0].is_empty() {
                live.take();
            }
        }
    });
    stream
}
