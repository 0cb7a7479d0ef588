//! `transform`, `transformWith` and `StreamingContext.transform`: arbitrary functions of whole
//! batches.
//!
//! The function runs on the driver (worker 0) once per batch, with each parent's [`Batch`] of
//! that time — as Spark runs it on its driver — and its result is dealt back to the workers by
//! partition. The result has as many partitions as the parents together (a larger result folds
//! its extra partitions onto those), which is Spark's count for the usual `map`, `filter` and
//! `union` of RDDs. A parent with no batch at that time fails the batch with Spark's message.
//!
//! Because the batch is gathered on one worker, prefer the DStream operators for large batches:
//! they run partitioned on all workers.
//!
//! ```
//! use sluice_minibatch::testing::run_batches;
//! let out = run_batches(1000, vec![vec![3u64, 1, 2]], |input| {
//!     input.transform(|batch| {
//!         let mut all = batch.collect();
//!         all.sort();
//!         sluice_minibatch::Batch::parallelize(0, all, 1)
//!     })
//! })
//! .unwrap();
//! assert_eq!(out, vec![vec![1, 2, 3]]);
//! ```

use sluice_engine::stream::{Data, Stream};
use sluice_engine::timely::dataflow::channels::pact::Exchange;
use sluice_engine::timely::dataflow::operators::Exchange as _;
use sluice_engine::Time;

use crate::batch::Batch;
use crate::dstream::{transform_missing, DStream};
use crate::each_batch::each_batch;
use crate::error::Error;
use crate::graph::Graph;
use crate::partition::{spread, Part};
use crate::presence::Presence;

/// Appends `batch`'s elements tagged with their partition, folded onto `partitions`.
fn tag<U>(batch: Batch<U>, partitions: usize, out: &mut Vec<(Part, U)>) {
    for (p, part) in batch.into_partitions().into_iter().enumerate() {
        let p = (p % partitions) as Part;
        out.extend(part.into_iter().map(|x| (p, x)));
    }
}

impl<'s> Graph<'s> {
    /// A transform's result: `records` from the driver, dealt to their partitions' homes.
    fn transformed<U: Data>(
        &self,
        records: Stream<'s, (Part, U)>,
        partitions: usize,
        slide: Time,
        presence: Presence,
    ) -> DStream<'s, U> {
        DStream {
            graph: self.clone(),
            stream: records.exchange(|(p, _)| *p as u64),
            slide,
            homes: spread(partitions, self.scope().peers()),
            presence,
        }
    }

    /// Spark's `StreamingContext.transform(streams, f)`: `f(batches, time)` over the batches of
    /// all `streams` at each time, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::{testing::ManualRun, Batch};
    /// // Each batch: the sizes of the two streams' batches.
    /// let out = ManualRun::new(1000).run(1, |graph| {
    ///     let a = graph.input_batches(vec![Some(vec![1u64])], 1);
    ///     let b = graph.input_batches(vec![Some(vec![2u64, 3])], 1);
    ///     graph.transform(vec![a, b], |batches, time| {
    ///         Batch::new(time, vec![batches.iter().map(|b| b.count()).collect()])
    ///     })
    /// });
    /// let out: Vec<Vec<usize>> = out.unwrap().into_iter().map(Batch::collect).collect();
    /// assert_eq!(out, vec![vec![1, 2]]);
    /// ```
    pub fn transform<T: Data, U: Data>(
        &self,
        streams: Vec<DStream<'s, T>>,
        f: impl Fn(Vec<Batch<T>>, Time) -> Batch<U> + 'static,
    ) -> DStream<'s, U> {
        if streams.is_empty() {
            self.problem(Error::requirement("List of DStreams to transform is empty"));
            return self.empty_stream();
        }
        let sizes: Vec<usize> = streams.iter().map(DStream::num_partitions).collect();
        let partitions: usize = sizes.iter().sum();
        let presence = Presence::all_of(
            streams.iter().map(|s| s.presence.clone()).collect(),
            streams[0].slide,
            transform_missing,
        );
        let present = presence.clone();
        let merged = self.union(streams);
        let records = merged.on_driver("Transform", move |t, batch, out| {
            if present.at(t) != Ok(true) {
                return;
            }
            let mut parts = batch.into_partitions().into_iter();
            let batches = sizes
                .iter()
                .map(|&n| Batch::new(t, parts.by_ref().take(n).collect()))
                .collect();
            tag(f(batches, t), partitions, out);
        });
        self.transformed(records, partitions, merged.slide, presence)
    }
}

impl<'s, T: Data> DStream<'s, T> {
    /// Spark's `transform(f)`: `f` of each whole batch (its time is `batch.time()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// // Each element plus its batch's time.
    /// let out = run_batches(1000, vec![vec![1u64], vec![2]], |s| {
    ///     s.transform(|batch| {
    ///         let time = batch.time();
    ///         batch.map(move |x| x + time)
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1001], vec![2002]]);
    /// ```
    pub fn transform<U: Data>(&self, f: impl Fn(Batch<T>) -> Batch<U> + 'static) -> DStream<'s, U> {
        let partitions = self.num_partitions();
        let presence = Presence::all_of(vec![self.presence.clone()], self.slide, transform_missing);
        let present = presence.clone();
        let records = self.on_driver("Transform", move |t, batch, out| {
            if present.at(t) == Ok(true) {
                tag(f(batch), partitions, out);
            }
        });
        self.graph
            .transformed(records, partitions, self.slide, presence)
    }

    /// Spark's `transformWith(other, f)`: `f` of this stream's and `other`'s batches of the same
    /// time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// // This stream's elements not in the other's batch of the same time.
    /// let (a, b) = (vec![vec![1u64, 2, 3], vec![4]], vec![vec![2u64], vec![4]]);
    /// let out = run_two_sorted_batches(a, b, |a, b| {
    ///     a.transform_with(&b, |a, b| {
    ///         let seen = b.collect();
    ///         a.filter(move |x| !seen.contains(x))
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1, 3], vec![]]);
    /// ```
    pub fn transform_with<U: Data, W: Data>(
        &self,
        other: &DStream<'s, U>,
        f: impl Fn(Batch<T>, Batch<U>) -> Batch<W> + 'static,
    ) -> DStream<'s, W> {
        if self.slide != other.slide {
            self.graph.problem(Error::requirement(
                "Some of the DStreams have different slide durations",
            ));
        }
        let (left_n, right_n) = (self.num_partitions(), other.num_partitions());
        let partitions = left_n + right_n;
        let presence = Presence::all_of(
            vec![self.presence.clone(), other.presence.clone()],
            self.slide,
            transform_missing,
        );
        let present = presence.clone();
        let driver = self.is_driver();
        let records = each_batch(
            "TransformWith",
            self.graph.ticks(),
            (self.stream.clone(), Exchange::new(|_: &(Part, T)| 0)),
            (other.stream.clone(), Exchange::new(|_: &(Part, U)| 0)),
            move |t, left, right, out| {
                if driver && present.at(t) == Ok(true) {
                    let left = Batch::from_tagged(t, left, left_n);
                    let right = Batch::from_tagged(t, right, right_n);
                    tag(f(left, right), partitions, out);
                }
            },
        );
        self.graph
            .transformed(records, partitions, self.slide, presence)
    }
}
