//! `DStream<T>`: a discretized stream, Spark's central abstraction, on a timely stream.
//!
//! A DStream is a timely stream whose timestamps are batch times, plus what Spark knows of a
//! DStream at the driver: its slide duration, its partitions and where each lives, and whether
//! it has a batch at a given time ([`Presence`]). Every record travels tagged with its partition
//! (`(Part, T)`), and partition `p` of a stream lives on one worker, its *home*, in order —
//! so `glom`, `map_partitions` and ordered `collect` see Spark's partitions even though the
//! workers are timely's.
//!
//! Element-wise operations (`map`, `filter`, ...) are the engine's record-at-a-time operators on
//! the tagged records: they act as each record arrives, as in native mode. Only operations that
//! need a whole batch wait for the frontier to pass the batch time (see `each_batch`).
//!
//! ```
//! use sluice_minibatch::testing::run_batches;
//! let out = run_batches(1000, vec![vec![1u64, 2, 3], vec![4]], |input| {
//!     input.map(|x| x * 10).filter(|x| *x > 10)
//! })
//! .unwrap();
//! assert_eq!(out, vec![vec![20, 30], vec![40]]);
//! ```

use std::hash::Hash;
use std::rc::Rc;

use sluice_engine::checkpointed::Uid;
use sluice_engine::prelude::Stateless;
use sluice_engine::stream::{Data, Stream};
use sluice_engine::timely::dataflow::channels::pact::{Exchange, Pipeline};
use sluice_engine::timely::dataflow::operators::generic::operator::empty;
use sluice_engine::timely::dataflow::operators::Exchange as _;
use sluice_engine::timely::dataflow::operators::{Concatenate, Operator};
use sluice_engine::Time;

use crate::batch::Batch;
use crate::each_batch::{each_batch_of, each_batch_with_state, Divide};
use crate::error::Error;
use crate::graph::{checkpoint_misfit, CheckpointMisfit, Graph};
use crate::partition::{spread, Part};
use crate::presence::Presence;

/// Spark's message when a transform's parent has no batch.
pub(crate) fn transform_missing(t: Time) -> String {
    format!("Couldn't generate RDD from parent at time {t} ms")
}

/// A discretized stream of `T`: one batch per batch interval (or per slide, for windows).
pub struct DStream<'s, T> {
    pub(crate) graph: Graph<'s>,
    pub(crate) stream: Stream<'s, (Part, T)>,
    pub(crate) slide: Time,
    pub(crate) homes: Rc<[usize]>,
    pub(crate) presence: Presence,
}

impl<T: Data> Clone for DStream<'_, T> {
    fn clone(&self) -> Self {
        DStream {
            graph: self.graph.clone(),
            stream: self.stream.clone(),
            slide: self.slide,
            homes: self.homes.clone(),
            presence: self.presence.clone(),
        }
    }
}

impl<'s, T: Data> DStream<'s, T> {
    /// The graph this stream belongs to.
    pub fn graph(&self) -> &Graph<'s> {
        &self.graph
    }

    /// How often this stream has a batch, in ms (Spark's `slideDuration`).
    pub fn slide_duration(&self) -> Time {
        self.slide
    }

    /// How many partitions each of its batches has.
    pub fn num_partitions(&self) -> usize {
        self.homes.len()
    }

    /// Whether the stream has a batch at `time` (`Err` with Spark's message when computing it
    /// would fail).
    pub fn has_batch_at(&self, time: Time) -> Result<bool, String> {
        self.presence.at(time)
    }

    /// Names the next stateful operation on this stream (`updateStateByKey`, an incremental
    /// window...) `uid`, under which checkpoints store its state, so that
    /// `StreamingContext::get_or_create` finds it again in a changed program (see
    /// [`Uid`](sluice_engine::checkpointed::Uid)).
    pub fn uid(mut self, uid: &str) -> Self {
        self.stream = self.stream.uid(uid);
        self
    }

    /// The tagged records as an engine stream, to drop to the engine's or timely's operators.
    pub fn tagged(&self) -> &Stream<'s, (Part, T)> {
        &self.stream
    }

    /// A stream with this one's slide, partitions and presence over new records.
    pub(crate) fn with_records<U>(&self, stream: Stream<'s, (Part, U)>) -> DStream<'s, U> {
        DStream {
            graph: self.graph.clone(),
            stream,
            slide: self.slide,
            homes: self.homes.clone(),
            presence: self.presence.clone(),
        }
    }

    /// Whether this worker runs the driver's part of the job (worker 0, as Spark's driver).
    pub(crate) fn is_driver(&self) -> bool {
        self.graph.scope().index() == 0
    }

    /// Calls `step` once per batch time on every worker with this worker's records of the
    /// batch, routed by `pact`.
    pub(crate) fn each_batch<O: 'static, P>(
        &self,
        name: &str,
        pact: P,
        step: impl FnMut(Time, Vec<(Part, T)>, &mut Vec<O>) + 'static,
    ) -> Stream<'s, O>
    where
        P: sluice_engine::timely::dataflow::channels::pact::ParallelizationContract<
            Time,
            Vec<(Part, T)>,
        >,
    {
        each_batch_of(name, self.graph.ticks(), (self.stream.clone(), pact), step)
    }

    /// [`each_batch`](Self::each_batch) for a step that carries `state` from batch to batch:
    /// the state is checkpointed with the job, and `divide` divides it on a rescale (see
    /// `each_batch_with_state`).
    pub(crate) fn each_batch_with_state<O: 'static, P, S>(
        &self,
        name: &str,
        pact: P,
        (state, divide): (S, Divide<S>),
        step: impl FnMut(&mut S, Time, Vec<(Part, T)>, &mut Vec<O>) + 'static,
    ) -> Stream<'s, O>
    where
        P: sluice_engine::timely::dataflow::channels::pact::ParallelizationContract<
            Time,
            Vec<(Part, T)>,
        >,
        S: serde::Serialize + serde::de::DeserializeOwned + 'static,
    {
        let input = (self.stream.clone(), pact);
        each_batch_with_state(name, self.graph.ticks(), input, state, divide, step)
    }

    /// Calls `step` on the driver (worker 0) once per batch time, with the whole batch, its
    /// partition structure restored; `step`'s output is emitted on the driver.
    pub(crate) fn on_driver<O: 'static>(
        &self,
        name: &str,
        mut step: impl FnMut(Time, Batch<T>, &mut Vec<O>) + 'static,
    ) -> Stream<'s, O> {
        let partitions = self.num_partitions();
        let driver = self.is_driver();
        self.each_batch(
            name,
            Exchange::new(|_: &(Part, T)| 0),
            move |t, records, out| {
                if driver {
                    step(t, Batch::from_tagged(t, records, partitions), out);
                }
            },
        )
    }

    /// Spark's `checkpoint(interval)`: how often this stream's state is checkpointed. It never
    /// changes the output; `start()` fails, with Spark's message, unless the interval is a
    /// multiple of the slide (Spark names the stream's class where Sluice says `DStream`).
    pub fn checkpoint(&self, interval: std::time::Duration) -> DStream<'s, T> {
        let (interval, slide) = (interval.as_millis() as Time, self.slide);
        let message = match checkpoint_misfit(interval, slide) {
            None => return self.clone(),
            Some(CheckpointMisfit::Shorter) => format!(
                "The checkpoint interval for DStream has been set to {interval} ms which is lower than its slide time ({slide} ms). Please set it to at least {slide} ms."
            ),
            Some(CheckpointMisfit::NotMultiple) => format!(
                "The checkpoint interval for DStream has been set to  {interval} ms which not a multiple of its slide time ({slide} ms). Please set it to a multiple of {slide} ms."
            ),
        };
        self.graph.problem(Error::requirement(message));
        self.clone()
    }

    /// Spark's `map`: `f` applied to each element.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// let out = run_batches(1000, vec![vec![1u64, 2], vec![3]], |s| s.map(|x| x * 10)).unwrap();
    /// assert_eq!(out, vec![vec![10, 20], vec![30]]);
    /// ```
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + 'static) -> DStream<'s, U> {
        self.with_records(self.stream.clone().map(move |(p, x)| (p, f(x))))
    }

    /// Spark's `flatMap`: each element to any number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// let lines = vec![vec!["a b".to_string()], vec![], vec!["c".to_string()]];
    /// let out = run_batches(1000, lines, |s| {
    ///     s.flat_map(|line| line.split(' ').map(String::from).collect::<Vec<_>>())
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec!["a", "b"], vec![], vec!["c"]]);
    /// ```
    pub fn flat_map<I>(&self, f: impl Fn(T) -> I + 'static) -> DStream<'s, I::Item>
    where
        I: IntoIterator,
        I::Item: Data,
    {
        self.with_records(
            self.stream
                .clone()
                .flat_map(move |(p, x)| f(x).into_iter().map(move |y| (p, y))),
        )
    }

    /// Spark's `filter`: the elements for which `predicate` holds.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// let out = run_batches(1000, vec![vec![1u64, 2, 3, 4], vec![5]], |s| {
    ///     s.filter(|x| x % 2 == 0)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![2, 4], vec![]]);
    /// ```
    pub fn filter(&self, predicate: impl Fn(&T) -> bool + 'static) -> DStream<'s, T> {
        self.with_records(self.stream.clone().filter(move |(_, x)| predicate(x)))
    }

    /// Spark's `glom`: each partition of each batch as one `Vec`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// // The test input comes in two partitions.
    /// let out = run_batches(1000, vec![vec![1u64, 2, 3, 4]], |s| s.glom()).unwrap();
    /// assert_eq!(out, vec![vec![vec![1, 2], vec![3, 4]]]);
    /// ```
    pub fn glom(&self) -> DStream<'s, Vec<T>> {
        let partitions = self.num_partitions();
        let me = self.graph.scope().index();
        let homes = self.homes.clone();
        let presence = self.presence.clone();
        let glommed = self.each_batch("Glom", Pipeline, move |t, records, out| {
            if presence.at(t) != Ok(true) {
                return;
            }
            let mut parts = vec![Vec::new(); partitions];
            for (p, x) in records {
                parts[p as usize].push(x);
            }
            for (p, part) in parts.into_iter().enumerate() {
                if homes[p] == me {
                    out.push((p as Part, part));
                }
            }
        });
        self.with_records(glommed)
    }

    /// Spark's `mapPartitions`: `f` once per partition of each batch (also an empty one).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// // One sum per partition (the test input comes in two).
    /// let out = run_batches(1000, vec![vec![1u64, 2, 3, 4]], |s| {
    ///     s.map_partitions(|p| [p.iter().sum::<u64>()])
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![3, 7]]);
    /// ```
    pub fn map_partitions<I>(&self, f: impl Fn(Vec<T>) -> I + 'static) -> DStream<'s, I::Item>
    where
        I: IntoIterator,
        I::Item: Data,
    {
        self.glom().flat_map(f)
    }

    /// Spark's `repartition(n)`: the same elements spread round robin over exactly `n`
    /// partitions.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// // The size of each partition.
    /// let out = run_batches(1000, vec![vec![1u64, 2, 3]], |s| {
    ///     s.repartition(3).glom().map(|p| p.len())
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1, 1, 1]]);
    /// ```
    pub fn repartition(&self, partitions: usize) -> DStream<'s, T> {
        let n = partitions.max(1) as u64;
        let mut next = self.graph.scope().index() as u64;
        let dealt = self
            .stream
            .clone()
            .map(move |(_, x)| {
                next = (next + 1) % n;
                (next as Part, x)
            })
            .exchange(|(p, _)| *p as u64);
        DStream {
            graph: self.graph.clone(),
            stream: dealt,
            slide: self.slide,
            homes: spread(n as usize, self.graph.scope().peers()),
            presence: Presence::all_of(vec![self.presence.clone()], self.slide, transform_missing),
        }
    }

    /// Spark's `union`: both streams' batches of the same time, this one's partitions first.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_two_sorted_batches;
    /// let (a, b) = (vec![vec![1u64], vec![2]], vec![vec![10u64], vec![]]);
    /// let out = run_two_sorted_batches(a, b, |a, b| a.union(&b)).unwrap();
    /// assert_eq!(out, vec![vec![1, 10], vec![2]]);
    /// ```
    pub fn union(&self, other: &DStream<'s, T>) -> DStream<'s, T> {
        self.graph.union(vec![self.clone(), other.clone()])
    }

    /// Spark's `count`: one element per batch, the number of elements (0 for an empty batch).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// let out =
    ///     run_batches(1000, vec![vec!['a', 'b'], vec![], vec!['c']], |s| s.count()).unwrap();
    /// assert_eq!(out, vec![vec![2], vec![0], vec![1]]);
    /// ```
    pub fn count(&self) -> DStream<'s, u64> {
        let presence = Presence::all_of(vec![self.presence.clone()], self.slide, transform_missing);
        let present = presence.clone();
        self.driver_total(
            "Count",
            |arrived| Some(arrived.len() as u64),
            move |t, partials| (present.at(t) == Ok(true)).then(|| partials.into_iter().sum()),
            presence,
        )
    }

    /// Spark's `reduce`: one element per non-empty batch, the reduction of its elements with an
    /// associative `f`; nothing for an empty batch.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_batches;
    /// let out = run_batches(1000, vec![vec![1u64, 2, 3], vec![], vec![4]], |s| {
    ///     s.reduce(|a, b| a + b)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![6], vec![], vec![4]]);
    /// ```
    pub fn reduce(&self, f: impl Fn(&T, &T) -> T + Clone + 'static) -> DStream<'s, T> {
        let partial = f.clone();
        self.driver_total(
            "Reduce",
            move |arrived| arrived.into_iter().reduce(|a, b| partial(&a, &b)),
            move |_, partials| partials.into_iter().reduce(|a, b| f(&a, &b)),
            self.presence.clone(),
        )
    }

    /// A stream of at most one element per batch, on the driver: each worker folds what
    /// arrives together into a `partial`, and worker 0 combines a batch's partials with
    /// `total(time, partials)`.
    fn driver_total<A: Data, U: Data>(
        &self,
        name: &str,
        mut partial: impl FnMut(Vec<T>) -> Option<A> + 'static,
        mut total: impl FnMut(Time, Vec<A>) -> Option<U> + 'static,
        presence: Presence,
    ) -> DStream<'s, U> {
        let partials = self.stream.clone().unary(Pipeline, "Partial", move |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let arrived: Vec<T> = data
                        .flat_map(|batch| batch.drain(..))
                        .map(|(_, x)| x)
                        .collect();
                    if let Some(p) = partial(arrived) {
                        output.session(&cap).give(p);
                    }
                });
            }
        });
        let driver = self.is_driver();
        let totals = each_batch_of(
            name,
            self.graph.ticks(),
            (partials, Exchange::new(|_: &A| 0)),
            move |t, partials, out| {
                if driver {
                    out.extend(total(t, partials).map(|x| (0, x)));
                }
            },
        );
        DStream {
            graph: self.graph.clone(),
            stream: totals,
            slide: self.slide,
            homes: Rc::from([0usize]),
            presence,
        }
    }

    /// Spark's `countByValue`: `(element, occurrences)` per distinct element of each batch.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let out = run_sorted_batches(vec![vec!['a', 'b', 'a'], vec!['b']], |s| s.count_by_value())
    ///     .unwrap();
    /// assert_eq!(out, vec![vec![('a', 2), ('b', 1)], vec![('b', 1)]]);
    /// ```
    pub fn count_by_value(&self) -> DStream<'s, (T, u64)>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, 1u64)).reduce_by_key(|a, b| a + b)
    }
}

impl<'s> Graph<'s> {
    /// Spark's `StreamingContext.union`: the batches of all `streams` at each time, in order.
    /// All must share one slide duration; a missing batch fails the union at that time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_minibatch::{testing::ManualRun, Batch};
    /// let out = ManualRun::new(1000).run(1, |graph| {
    ///     let a = graph.input_batches(vec![Some(vec![1u64])], 1);
    ///     let b = graph.input_batches(vec![Some(vec![2u64, 3])], 1);
    ///     graph.union(vec![a, b])
    /// });
    /// let out: Vec<Vec<u64>> = out.unwrap().into_iter().map(Batch::collect).collect();
    /// assert_eq!(out, vec![vec![1, 2, 3]]);
    /// ```
    pub fn union<T: Data>(&self, streams: Vec<DStream<'s, T>>) -> DStream<'s, T> {
        let Some(first) = streams.first() else {
            self.problem(Error::requirement("List of DStreams to union is empty"));
            return self.empty_stream();
        };
        if streams.iter().any(|s| s.slide != first.slide) {
            self.problem(Error::requirement(
                "Some of the DStreams have different slide durations",
            ));
        }
        let mut offset = 0;
        let mut homes = Vec::new();
        let mut parts = Vec::new();
        for s in &streams {
            let shift = offset;
            parts.push(s.stream.clone().map(move |(p, x)| (p + shift, x)));
            offset += s.num_partitions() as Part;
            homes.extend_from_slice(&s.homes);
        }
        let presence = Presence::all_of(
            streams.iter().map(|s| s.presence.clone()).collect(),
            first.slide,
            |t| format!("Could not generate RDD from a parent for unifying at time {t} ms"),
        );
        DStream {
            graph: self.clone(),
            stream: self.scope().concatenate(parts),
            slide: first.slide,
            homes: homes.into(),
            presence,
        }
    }

    /// A stream with no batches at all (after a definition error).
    pub(crate) fn empty_stream<T: Data>(&self) -> DStream<'s, T> {
        DStream {
            graph: self.clone(),
            stream: empty(self.scope()),
            slide: self.batch_interval(),
            homes: Rc::from([0usize]),
            presence: Presence::new(self.batch_interval(), |_| false),
        }
    }
}
