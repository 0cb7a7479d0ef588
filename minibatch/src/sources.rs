//! Input DStreams: where batches come from.
//!
//! Two kinds, as in Spark:
//!
//! - **Record sources** (Spark's receivers): any engine [`Source`] — socket, directory, file,
//!   generator, event log — built with [`Graph::source`] from the same value a native stream is
//!   built from, reads records as they come and stamps each with its arrival time; the
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
use sluice_engine::sources::{Directory, Socket, Source, Spread};
use sluice_engine::stream::{Data, Stream};
use sluice_engine::timely::container::CapacityContainerBuilder;
use sluice_engine::timely::dataflow::channels::pact::Pipeline;
use sluice_engine::timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use sluice_engine::timely::dataflow::operators::generic::OutputBuilder;
use sluice_engine::timely::dataflow::operators::Exchange;
use sluice_engine::timely::progress::Antichain;
use sluice_engine::Time;

use crate::batch::Batch;
use crate::batch_clock::{batch_of, batch_time_source, BatchTimes, Due};
use crate::dstream::DStream;
use crate::graph::Graph;
use crate::partition::{spread, Part};
use crate::presence::Presence;

/// Spark's `queueStream` queue: each element is one batch's records.
pub type BatchQueue<T> = Arc<Mutex<VecDeque<Vec<T>>>>;

impl<'s> Graph<'s> {
    /// An input DStream of any engine [`Source`] (a [`TextFile`](sluice_engine::sources::TextFile),
    /// a [`Directory`], a [`Socket`], a [`Generator`](sluice_engine::sources::Generator), a
    /// [`LogSource`](sluice_engine::sources::LogSource), a [`LineSource`](sluice_engine::sources::LineSource),
    /// ...): the same value a native stream is built from, read [by arrival](Source::by_arrival)
    /// and batched by the time its records arrive, with one partition per worker that reads it
    /// ([`Source::spread`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sluice_engine::clock::{Clock, ManualClock};
    /// use sluice_engine::prelude::*;
    /// use sluice_minibatch::StreamingContext;
    ///
    /// let queue = Queue::new(); // any engine source: a file, a socket, the event log, ...
    /// queue.push_all(["a b".to_string(), "b".to_string()]);
    /// queue.close();
    /// let clock = ManualClock::new(0);
    /// let execution = Execution::default().clock(Clock::Manual(clock.clone()));
    /// let mut ssc = StreamingContext::new(execution, Duration::from_secs(1));
    /// let counts = Collector::new();
    /// let sink = counts.clone();
    /// ssc.define(move |graph| {
    ///     graph
    ///         .source(&queue)
    ///         .count_keys_with(|line: String, words| {
    ///             line.split(' ').for_each(|w| words.add(w, 1))
    ///         })
    ///         .into_stream()
    ///         .collect_into(&sink);
    /// })
    /// .unwrap();
    /// ssc.start().unwrap();
    /// clock.advance_to(1000);
    /// ssc.await_termination().unwrap(); // the queue is closed: the job ends after its batch
    /// let mut counts = counts.take();
    /// counts.sort();
    /// assert_eq!(counts, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    /// ```
    pub fn source<S: Source>(&self, source: &S) -> DStream<'s, S::Item>
    where
        S::Item: Data,
    {
        let source = source.by_arrival();
        self.record_stream(self.scope().source(&source), source.spread())
    }

    /// Spark's `socketTextStream(host, port)`: lines from a TCP server at `address`
    /// (`host:port`), reconnecting when the connection drops.
    pub fn socket_text_stream(&self, address: &str) -> DStream<'s, String> {
        self.checked(Socket::new(address))
    }

    /// Spark's `textFileStream(directory)`: the lines of each file newly moved into `directory`.
    pub fn text_file_stream(&self, directory: impl AsRef<Path>) -> DStream<'s, String> {
        self.checked(Directory::open(directory.as_ref()))
    }

    /// The input DStream of a source just described, or, if describing it failed, an empty
    /// stream and the error recorded for `start()` (as Spark throws it from the call).
    fn checked<S: Source>(&self, source: sluice_engine::Result<S>) -> DStream<'s, S::Item>
    where
        S::Item: Data,
    {
        match source {
            Ok(source) => self.source(&source),
            Err(error) => {
                self.problem(error.into());
                self.empty_stream()
            }
        }
    }

    /// Any engine stream as an input DStream (Spark's `receiverStream`): records are batched by
    /// the time they arrive; `spread_over` says which workers the stream has records on.
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
        produce: impl FnMut(Time) -> Option<Vec<(Part, T)>> + 'static,
    ) -> DStream<'s, T> {
        let interval = self.batch_interval();
        let times = BatchTimes {
            first: self.first_batch(),
            interval,
        };
        let mut live = Some(self.source_started());
        let batches = batch_time_source(
            self.scope(),
            name,
            (times, Due::Closes),
            self.job().clone(),
            |_| {},
            produce,
            move |job| {
                let stopped = job.is_stopped();
                if stopped {
                    live.take();
                }
                stopped
            },
        );
        DStream {
            graph: self.clone(),
            stream: batches.exchange(|(p, _)| *p as u64),
            slide: interval,
            homes: spread(partitions, self.scope().peers()),
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
