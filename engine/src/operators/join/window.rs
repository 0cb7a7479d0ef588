//! Window joins: the records of two event-time streams with the same key in the same window
//! (Flink's `join(...).where(...).equalTo(...).window(...)`), a co-group of the window's records
//! ([`cogroup_by_event_window`](crate::operators::event_window::CoGroupWindows::cogroup_by_event_window)).
//!
//! Each key's pairs in a window come out together, as one [`WindowAggregate`] holding them all,
//! when the window fires. An allowed late record re-fires its window: the new result, marked
//! `update`, replaces the earlier one (Flink re-emits every pair instead, so a sink cannot tell
//! the repeats from new pairs). Windows without pairs emit nothing.
//!
//! ```
//! use std::time::Duration;
//! use sluice_engine::prelude::*;
//! use sluice_engine::operators::join::WindowJoin;
//! # fn f<'s>(views: Stream<'s, (String, Time, u32)>, clicks: Stream<'s, (String, Time, u32)>) {
//! // (ad, time, user): the users who saw and clicked an ad in the same minute
//! let (pairs, _late_views, _late_clicks) = views.window_join(
//!     clicks,
//!     WindowSpec::tumbling(Duration::from_secs(60)),
//!     0,
//!     false,
//!     |ad, viewer, clicker| (ad.clone(), *viewer, clicker.copied()),
//! );
//! # }
//! ```

use std::hash::Hash;

use crate::operators::event_window::{CoGroupWindows, Late, WindowAggregate};
use crate::operators::stateless::Stateless;
use crate::operators::window::WindowSpec;
use crate::stream::{Data, Stream};
use crate::time::Time;

/// Window joins of two `(key, event time, value)` streams.
pub trait WindowJoin<'scope, K: Data + Hash + Eq, A: Data>: Sized {
    /// For each key and window, `f(key, a, Some(b))` for every left record `a` and right record
    /// `b` in the window, left records in event-time order and each one's partners in
    /// event-time order; with `outer`, also `f(key, a, None)` for a left record without a
    /// partner in the window (a left outer join). Lateness and the late outputs as in
    /// [`cogroup_by_event_window`](CoGroupWindows::cogroup_by_event_window).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sluice_engine::{prelude::*, testing::run_two_sorted};
    /// // Clicks with the views of their ad in the same second; "b" has none (outer join).
    /// let clicks = vec![(0, ('a', 100u64, 'x')), (0, ('b', 100, 'w'))];
    /// let views = vec![(0, ('a', 900u64, 'y')), (0, ('a', 1100, 'z'))];
    /// let out = run_two_sorted(2, clicks, views, |clicks, views| {
    ///     let second = WindowSpec::tumbling(Duration::from_secs(1));
    ///     let (joined, _, _) =
    ///         clicks.window_join(views, second, 0, true, |_, c, v| (*c, v.copied()));
    ///     joined
    ///         .filter(|w| !w.value.is_empty())
    ///         .map(|w| (w.key, w.value))
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     out,
    ///     vec![('a', vec![('x', Some('y'))]), ('b', vec![('w', None)])]
    /// );
    /// ```
    #[allow(clippy::type_complexity)]
    fn window_join<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        spec: WindowSpec,
        lateness: Time,
        outer: bool,
        f: impl Fn(&K, &A, Option<&B>) -> O + 'static,
    ) -> (
        Stream<'scope, WindowAggregate<K, Vec<O>>>,
        Late<'scope, K, A>,
        Late<'scope, K, B>,
    );
}

impl<'scope, K: Data + Hash + Eq, A: Data> WindowJoin<'scope, K, A>
    for Stream<'scope, (K, Time, A)>
{
    fn window_join<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        spec: WindowSpec,
        lateness: Time,
        outer: bool,
        f: impl Fn(&K, &A, Option<&B>) -> O + 'static,
    ) -> (
        Stream<'scope, WindowAggregate<K, Vec<O>>>,
        Late<'scope, K, A>,
        Late<'scope, K, B>,
    ) {
        let (groups, late_left, late_right) =
            self.cogroup_by_event_window(right, spec, lateness, move |key, lefts, rights| {
                let mut pairs = Vec::new();
                for (_, a) in &lefts {
                    if rights.is_empty() && outer {
                        pairs.push(f(key, a, None));
                    }
                    pairs.extend(rights.iter().map(|(_, b)| f(key, a, Some(b))));
                }
                pairs
            });
        let joined = groups.filter(|w| !w.value.is_empty());
        (joined, late_left, late_right)
    }
}
