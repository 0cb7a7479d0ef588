//! Windowed operations: batches over a sliding window of time.
//!
//! A window of length `L` sliding by `S` has a batch at every multiple of `S`; its batch at `t`
//! holds the parent's batches with times in `(t − L, t]`. Both must be multiples of the
//! parent's slide, checked when the window is made, with Spark's messages.
//!
//! The reductions come in Spark's two kinds:
//! - **naive** (`reduce_by_key_and_window`, `reduce_by_window`): reduce each batch, window the
//!   results, reduce again — work proportional to the window;
//! - **incremental**, with an inverse function (`..._inv`, `count_by_window`,
//!   `count_by_value_and_window`): each key's previous window value, minus the batches that
//!   left, plus the batches that entered — work proportional to the slide. Keys stay (a count
//!   back at 0 stays as 0) unless a filter removes them. These are Spark's stateful window
//!   operators and, as in Spark, need a checkpoint directory.
//!
//! ```
//! use std::time::Duration;
//! use sluice_minibatch::testing::run_batches;
//! let s = Duration::from_secs(1);
//! let out = run_batches(1000, vec![vec![1u64], vec![2], vec![3]], move |input| {
//!     input.window(2 * s, s)
//! })
//! .unwrap();
//! assert_eq!(out, vec![vec![1], vec![1, 2], vec![2, 3]]);
//! ```

use std::collections::BTreeMap;
use std::hash::Hash;
use std::ops::Bound::{Excluded, Included};
use std::rc::Rc;
use std::time::Duration;

use sluice_engine::hash::{new_map, HashMap};
use sluice_engine::stream::Data;
use sluice_engine::timely::dataflow::channels::pact::Pipeline;
use sluice_engine::{Error as EngineError, Time};

use crate::dstream::DStream;
use crate::each_batch::indivisible;
use crate::error::Error;
use crate::partition::Part;
use crate::presence::Presence;

/// Why a window's state is not divided on a rescale: its batches are kept where their
/// partitions lived, and the partitions of another number of workers are others.
const KEPT_BY_PARTITION: &str = "a window's batches, kept by the partitions of the old workers";

/// One batch's tagged pairs.
type Tagged<K, V> = Vec<(Part, (K, V))>;

/// An incremental window's state: the reduced batches still in the window, and each key's
/// value (and partition) in the previous window.
type WindowState<K, V> = (BTreeMap<Time, Tagged<K, V>>, Vec<(K, (Part, V))>);

/// A key filter applied to incremental window results (Spark's `filterFunc`).
type KeyFilter<K, V> = Rc<dyn Fn(&(K, V)) -> bool>;

fn ms(duration: Duration) -> Time {
    duration.as_millis() as Time
}

impl<'s, T: Data> DStream<'s, T> {
    /// Checks a window against this stream's slide; `what` names the DStream class in Spark's
    /// message, `prefix` is Spark's (`requirement failed: ` for the incremental kind).
    fn check_window(&self, length: Time, slide: Time, incremental: bool) {
        let parent = self.slide;
        let (class, must, prefix) = if incremental {
            (
                "ReducedWindowedDStream",
                "must be multiple of",
                "requirement failed: ",
            )
        } else {
            ("windowed DStream", "must be a multiple of", "")
        };
        for (what, value) in [("window", length), ("slide", slide)] {
            if value == 0 || value % parent != 0 {
                self.graph.problem(Error::InvalidArgument(format!(
                    "{prefix}The {what} duration of {class} ({value} ms) {must} the slide duration of parent DStream ({parent} ms)"
                )));
            }
        }
    }

    /// Spark's `window(length, slide)`: at every multiple of `slide`, the batches of the last
    /// `length`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// // 1 s batches; every second, the last two.
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let out = run_sorted_batches(vec![vec![1u64], vec![2], vec![3]], move |s| {
    ///     s.window(length, slide)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1], vec![1, 2], vec![2, 3]]);
    /// ```
    pub fn window(&self, length: Duration, slide: Duration) -> DStream<'s, T> {
        let (length, slide) = (ms(length), ms(slide));
        self.check_window(length, slide, false);
        let slide = slide.max(1);
        // The batches still in some window: checkpointed, as Spark checkpoints a windowed
        // stream's parent RDDs.
        let kept: BTreeMap<Time, Vec<(Part, T)>> = BTreeMap::new();
        let windowed = self.each_batch_with_state(
            "Window",
            Pipeline,
            (kept, indivisible(KEPT_BY_PARTITION)),
            move |kept, t, records, out| {
                if !records.is_empty() {
                    kept.insert(t, records);
                }
                if t % slide == 0 {
                    let from = Excluded(t.saturating_sub(length));
                    for (_, records) in kept.range((from, Included(t))) {
                        out.extend(records.iter().cloned());
                    }
                }
                kept.retain(|&time, _| time > t.saturating_sub(length));
            },
        );
        DStream {
            graph: self.graph.clone(),
            stream: windowed,
            slide,
            homes: self.homes.clone(),
            presence: Presence::every(slide),
        }
    }

    /// Spark's `reduceByWindow(f, length, slide)`: one element per non-empty window.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_batches;
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let out = run_batches(1000, vec![vec![1u64], vec![2], vec![3], vec![]], move |s| {
    ///     s.reduce_by_window(|a, b| a + b, length, slide)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1], vec![3], vec![5], vec![3]]);
    /// ```
    pub fn reduce_by_window(
        &self,
        f: impl Fn(&T, &T) -> T + Clone + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<'s, T> {
        self.reduce(f.clone()).window(length, slide).reduce(f)
    }

    /// Spark's `reduceByWindow(f, invF, length, slide)`: incremental; once an element has
    /// arrived, an empty window gives the neutral value.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_batches;
    /// // The window's sum, updated by adding the new batch and subtracting the one that left.
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let out = run_batches(1000, vec![vec![1u64], vec![2], vec![], vec![]], move |s| {
    ///     s.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, length, slide)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1], vec![3], vec![2], vec![0]]);
    /// ```
    pub fn reduce_by_window_inv(
        &self,
        f: impl Fn(&T, &T) -> T + Clone + 'static,
        inv: impl Fn(&T, &T) -> T + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<'s, T> {
        self.map(|x| ((), x))
            .incremental_window(f, inv, length, slide, None, Some(1))
            .map(|(_, x)| x)
    }

    /// Spark's `countByWindow(length, slide)`: the number of elements in each window.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_batches;
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let out = run_batches(1000, vec![vec!['a', 'b'], vec!['c'], vec![]], move |s| {
    ///     s.count_by_window(length, slide)
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![2], vec![3], vec![1]]);
    /// ```
    pub fn count_by_window(&self, length: Duration, slide: Duration) -> DStream<'s, u64> {
        self.map(|_| 1u64)
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, length, slide)
    }

    /// Spark's `countByValueAndWindow(length, slide)`: each value's count in the window; values
    /// whose count falls to 0 disappear.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let batches = vec![vec!['a'], vec!['a', 'b'], vec![], vec![]];
    /// let out = run_sorted_batches(batches, move |s| s.count_by_value_and_window(length, slide))
    ///     .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         vec![('a', 1)],
    ///         vec![('a', 2), ('b', 1)],
    ///         vec![('a', 1), ('b', 1)],
    ///         vec![]
    ///     ]
    /// );
    /// ```
    pub fn count_by_value_and_window(
        &self,
        length: Duration,
        slide: Duration,
    ) -> DStream<'s, (T, u64)>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, 1u64)).incremental_window(
            |a, b| a + b,
            |a, b| a - b,
            length,
            slide,
            Some(Rc::new(|(_, n): &(T, u64)| *n != 0)),
            None,
        )
    }
}

impl<'s, K: Data + Hash + Eq, V: Data> DStream<'s, (K, V)> {
    /// Spark's `reduceByKeyAndWindow(f, length, slide)` (naive): each key's values over the
    /// window reduced with `f`; keys absent from the window are absent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let batches = vec![vec![('a', 1u64)], vec![('a', 2), ('b', 5)], vec![], vec![]];
    /// let out = run_sorted_batches(batches, move |s| {
    ///     s.reduce_by_key_and_window(|x, y| x + y, length, slide)
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         vec![('a', 1)],
    ///         vec![('a', 3), ('b', 5)],
    ///         vec![('a', 2), ('b', 5)],
    ///         vec![]
    ///     ]
    /// );
    /// ```
    pub fn reduce_by_key_and_window(
        &self,
        f: impl Fn(&V, &V) -> V + Clone + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<'s, (K, V)> {
        self.reduce_by_key(f.clone())
            .window(length, slide)
            .reduce_by_key(f)
    }

    /// Spark's `reduceByKeyAndWindow(f, invF, length, slide)`: incremental.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// // Without a filter, a key whose values have all left the window stays, at the neutral value.
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let batches = vec![vec![('a', 1u64)], vec![('a', 2), ('b', 5)], vec![], vec![]];
    /// let out = run_sorted_batches(batches, move |s| {
    ///     s.reduce_by_key_and_window_inv(|x, y| x + y, |x, y| x - y, length, slide)
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         vec![('a', 1)],
    ///         vec![('a', 3), ('b', 5)],
    ///         vec![('a', 2), ('b', 5)],
    ///         vec![('a', 0), ('b', 0)]
    ///     ]
    /// );
    /// ```
    pub fn reduce_by_key_and_window_inv(
        &self,
        f: impl Fn(&V, &V) -> V + Clone + 'static,
        inv: impl Fn(&V, &V) -> V + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<'s, (K, V)> {
        self.incremental_window(f, inv, length, slide, None, None)
    }

    /// Spark's `reduceByKeyAndWindow(f, invF, length, slide, numPartitions, filterFunc)`:
    /// incremental, keeping only the keys for which `filter` holds.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// // Keys whose window sum fell to 0 are dropped.
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let batches = vec![vec![('a', 1u64)], vec![('a', 2), ('b', 5)], vec![], vec![]];
    /// let out = run_sorted_batches(batches, move |s| {
    ///     s.reduce_by_key_and_window_inv_filtered(
    ///         |x, y| x + y,
    ///         |x, y| x - y,
    ///         length,
    ///         slide,
    ///         |(_, n)| *n > 0,
    ///     )
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         vec![('a', 1)],
    ///         vec![('a', 3), ('b', 5)],
    ///         vec![('a', 2), ('b', 5)],
    ///         vec![]
    ///     ]
    /// );
    /// ```
    pub fn reduce_by_key_and_window_inv_filtered(
        &self,
        f: impl Fn(&V, &V) -> V + Clone + 'static,
        inv: impl Fn(&V, &V) -> V + 'static,
        length: Duration,
        slide: Duration,
        filter: impl Fn(&(K, V)) -> bool + 'static,
    ) -> DStream<'s, (K, V)> {
        self.incremental_window(f, inv, length, slide, Some(Rc::new(filter)), None)
    }

    /// Spark's `groupByKeyAndWindow(length, slide)`: each key's values over the window.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_minibatch::testing::run_sorted_batches;
    /// let (length, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let batches = vec![vec![('a', 1u64)], vec![('a', 2)], vec![]];
    /// let out =
    ///     run_sorted_batches(batches, move |s| s.group_by_key_and_window(length, slide)).unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         vec![('a', vec![1])],
    ///         vec![('a', vec![1, 2])],
    ///         vec![('a', vec![2])]
    ///     ]
    /// );
    /// ```
    pub fn group_by_key_and_window(
        &self,
        length: Duration,
        slide: Duration,
    ) -> DStream<'s, (K, Vec<V>)> {
        self.window(length, slide).group_by_key()
    }

    /// Spark's `ReducedWindowedDStream`.
    fn incremental_window(
        &self,
        f: impl Fn(&V, &V) -> V + Clone + 'static,
        inv: impl Fn(&V, &V) -> V + 'static,
        length: Duration,
        slide: Duration,
        filter: Option<KeyFilter<K, V>>,
        partitions: Option<u32>,
    ) -> DStream<'s, (K, V)> {
        let (length, slide) = (ms(length), ms(slide));
        self.check_window(length, slide, true);
        self.graph.needs_checkpoint();
        let slide = slide.max(1);
        let job = self.graph.job().clone();
        let reduced = self.reduce_by_key_into(f.clone(), partitions);
        let combine = f.clone();
        let reduce = move |values: Vec<V>| values.into_iter().reduce(|a, b| combine(&a, &b));
        // The reduced batches still in the window, and each key's previous window value:
        // Spark's ReducedWindowedDStream checkpoints the same.
        let state: WindowState<K, V> = (BTreeMap::new(), Vec::new());
        let state = (state, indivisible(KEPT_BY_PARTITION));
        let windowed = reduced.each_batch_with_state("ReduceByKeyAndWindow", Pipeline, state, move |(history, previous_pairs), t, records, out| {
            if !records.is_empty() {
                history.insert(t, records);
            }
            if t % slide != 0 {
                return;
            }
            let mut keys: HashMap<K, Window<V>> = new_map();
            for (k, (p, v)) in previous_pairs.drain(..) {
                keys.entry(k).or_insert_with(|| Window::new(p)).previous = Some(v);
            }
            let old = (Excluded(t.saturating_sub(slide + length)), Included(t.saturating_sub(length)));
            let new = (Excluded(t.saturating_sub(slide)), Included(t));
            for (range, is_new) in [(old, false), (new, true)] {
                for (_, records) in history.range(range) {
                    for (p, (k, v)) in records.iter().cloned() {
                        let entry = keys.entry(k).or_insert_with(|| Window::new(p));
                        if is_new { entry.entered.push(v) } else { entry.left.push(v) }
                    }
                }
            }
            for (k, window) in keys {
                let part = window.part;
                let value = match (window.previous, reduce(window.left), reduce(window.entered)) {
                    (None, _, None) => {
                        job.fail(EngineError::Operator(
                            "Neither previous window has value for key, nor new values found. Are you sure your key class hashes consistently?".into(),
                        ));
                        continue;
                    }
                    (None, _, Some(entered)) => entered,
                    (Some(previous), left, entered) => {
                        let after_left = match left {
                            Some(left) => inv(&previous, &left),
                            None => previous,
                        };
                        match entered {
                            Some(entered) => f(&after_left, &entered),
                            None => after_left,
                        }
                    }
                };
                let pair = (k, value);
                if filter.as_ref().is_none_or(|keep| keep(&pair)) {
                    previous_pairs.push((pair.0.clone(), (part, pair.1.clone())));
                    out.push((part, pair));
                }
            }
            history.retain(|&time, _| time > t.saturating_sub(length));
        });
        DStream {
            graph: self.graph.clone(),
            stream: windowed,
            slide,
            homes: reduced.homes.clone(),
            presence: Presence::every(slide),
        }
    }
}

/// One key's part in an incremental window step.
struct Window<V> {
    part: Part,
    previous: Option<V>,
    left: Vec<V>,
    entered: Vec<V>,
}

impl<V> Window<V> {
    fn new(part: Part) -> Self {
        Window {
            part,
            previous: None,
            left: Vec::new(),
            entered: Vec::new(),
        }
    }
}
