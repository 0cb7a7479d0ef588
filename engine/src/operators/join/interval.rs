//! Interval joins: each left record with the right records of its key whose event times lie
//! within an interval around its own (Flink's `intervalJoin`).

use std::hash::Hash;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, Operator};

use crate::execution::JobContext;
use crate::hash::{new_map, route, HashMap};
use crate::stream::{Data, Stream};
use crate::time::Time;

/// A side's buffered records of one key: event time, the record, and (left side, outer join)
/// whether it found a partner plus the capability to emit it alone.
type Buffered<T> = Vec<(Time, T, bool, Option<Capability<Time>>)>;

/// Interval joins of two event-time streams of `(key, event time, record)`.
pub trait IntervalJoin<'scope, K: Data + Hash + Eq, A: Data>: Sized {
    /// Pairs each left record `a` with every right record `b` of the same key whose event time
    /// lies in `[a.time + lower, a.time + upper]` (ms, either bound may be negative), through
    /// `f(key, a, b)`, emitted when the later of the two arrives. A record is kept until the
    /// watermark (the frontier) makes further partners impossible; records behind the watermark
    /// when they arrive may miss partners already let go. With `outer`, a left record that never
    /// finds a partner is emitted once through `f(key, a, None)` when it is let go.
    #[allow(clippy::too_many_arguments)]
    fn interval_join<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        lower: i64,
        upper: i64,
        outer: bool,
        f: impl Fn(&K, &A, Option<&B>) -> O + 'static,
    ) -> Stream<'scope, O>;
}

/// Whether `tb` lies in `[ta + lower, ta + upper]` (exactly, with no clamping at 0).
fn within(ta: Time, tb: Time, lower: i64, upper: i64) -> bool {
    let gap = tb as i128 - ta as i128;
    (lower as i128..=upper as i128).contains(&gap)
}

/// `t + offset`, clamped to the time range.
fn shift(t: Time, offset: i64) -> Time {
    (t as i128 + offset as i128).clamp(0, Time::MAX as i128) as Time
}

impl<'scope, K: Data + Hash + Eq, A: Data> IntervalJoin<'scope, K, A>
    for Stream<'scope, (K, Time, A)>
{
    fn interval_join<B: Data, O: 'static>(
        self,
        right: Stream<'scope, (K, Time, B)>,
        lower: i64,
        upper: i64,
        outer: bool,
        f: impl Fn(&K, &A, Option<&B>) -> O + 'static,
    ) -> Stream<'scope, O> {
        let by_key_a = Exchange::new(|(k, _, _): &(K, Time, A)| route(k));
        let by_key_b = Exchange::new(|(k, _, _): &(K, Time, B)| route(k));
        crate::checkpoint::unsupported(self.scope(), "interval_join");
        let mut gauge = JobContext::of(self.scope()).state_gauge();
        self.binary_frontier(right, by_key_a, by_key_b, "IntervalJoin", move |_, _| {
            let mut lefts: HashMap<K, Buffered<A>> = new_map();
            let mut rights: HashMap<K, Buffered<B>> = new_map();
            move |(left_in, left_frontier), (right_in, right_frontier), output| {
                left_in.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a Vec message has one time");
                    let mut session = output.session(&cap);
                    for batch in data {
                        for (k, ta, a) in batch.drain(..) {
                            let mut matched = false;
                            for (tb, b, _, _) in rights.get(&k).into_iter().flatten() {
                                if within(ta, *tb, lower, upper) {
                                    session.give(f(&k, &a, Some(b)));
                                    matched = true;
                                }
                            }
                            let hold = (outer && !matched).then(|| cap.delayed(&t, 0));
                            lefts.entry(k).or_default().push((ta, a, matched, hold));
                        }
                    }
                });
                right_in.for_each_stamp(|cap, data| {
                    let mut session = output.session(&cap);
                    for batch in data {
                        for (k, tb, b) in batch.drain(..) {
                            for (ta, a, matched, hold) in lefts.get_mut(&k).into_iter().flatten() {
                                if within(*ta, tb, lower, upper) {
                                    session.give(f(&k, a, Some(&b)));
                                    *matched = true;
                                    *hold = None;
                                }
                            }
                            rights.entry(k).or_default().push((tb, b, true, None));
                        }
                    }
                });
                // Let go of what can no longer meet a partner: a left record once the right
                // side's watermark has passed its interval's end, a right record once the left
                // side's has passed the last left time that could reach it.
                for (k, buffered) in lefts.iter_mut() {
                    buffered.retain_mut(|(ta, a, matched, hold)| {
                        if right_frontier.less_equal(&shift(*ta, upper)) {
                            return true;
                        }
                        if let (false, Some(cap)) = (*matched, hold.take()) {
                            output.session(&cap).give(f(k, a, None));
                        }
                        false
                    });
                }
                for buffered in rights.values_mut() {
                    buffered.retain(|(tb, _, _, _)| left_frontier.less_equal(&shift(*tb, -lower)));
                }
                lefts.retain(|_, v| !v.is_empty());
                rights.retain(|_, v| !v.is_empty());
                gauge.set(
                    lefts.values().map(Vec::len).sum::<usize>()
                        + rights.values().map(Vec::len).sum::<usize>(),
                );
            }
        })
    }
}
