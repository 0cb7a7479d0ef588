//! Interval joins: each left record with the right records of its key whose event times lie
//! within an interval around its own (Flink's `intervalJoin`).
//!
//! Both sides are buffered by key until the watermark says no partner can still come. With
//! checkpoints, one gate holds back both inputs
//! ([`checkpointed_binary`](crate::checkpointed::CheckpointedOperator::checkpointed_binary)), so a snapshot holds both buffers as
//! of the same epoch; a left record let go alone is emitted at the end of its interval, so that
//! a snapshot either still holds it or every operator downstream has already seen its result.

use std::collections::BTreeMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;

use crate::checkpointed::{At, Checkpointed, CheckpointedOperator, Frontiers, Saving, Side};
use crate::hash::{new_map, worker_of, HashMap};
use crate::stream::{Data, OutputSession, Stream};
use crate::time::Time;

/// Interval joins of two event-time streams of `(key, event time, record)`.
pub trait IntervalJoin<'scope, K: Data + Hash + Eq, A: Data>: Sized {
    /// Pairs each left record `a` with every right record `b` of the same key whose event time
    /// lies in `[a.time + lower, a.time + upper]` (ms, either bound may be negative), through
    /// `f(key, a, b)`, emitted when the later of the two arrives and stamped with the later of
    /// their stamps. A record is kept until the watermark (the frontier) makes further partners
    /// impossible; records behind the watermark when they arrive may miss partners already let
    /// go. With `outer`, a left record that never finds a partner is emitted once through
    /// `f(key, a, None)` when it is let go, stamped with the end of its interval
    /// (`a.time + upper`), the time from which it is known to be alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use sluice_engine::prelude::*;
    /// let out = Collector::new();
    /// let sink = out.clone();
    /// execute(Execution::default(), move |worker| {
    ///     worker.dataflow(|scope| {
    ///         // Records stamped with their event times; (ad, time, time).
    ///         let at = |events: Vec<(Time, &'static str)>| {
    ///             let events = events.into_iter().map(|(t, ad)| (t, ad.to_string()));
    ///             let stamped = scope.timed_source(events).with_processing_time();
    ///             stamped.map(|(t, ad)| (ad, t, t))
    ///         };
    ///         let (clicks, views) = (at(vec![(10, "ad1"), (50, "ad2")]), at(vec![(8, "ad1")]));
    ///         // Each click with the views of its ad in the 5 ms before it.
    ///         clicks
    ///             .interval_join(views, -5, 0, true, |ad, click, view| {
    ///                 (ad.clone(), *click, view.copied())
    ///             })
    ///             .collect_into(&sink);
    ///     });
    /// })
    /// .unwrap();
    /// let mut out = out.take();
    /// out.sort();
    /// assert_eq!(
    ///     out,
    ///     vec![
    ///         ("ad1".to_string(), 10, Some(8)),
    ///         ("ad2".to_string(), 50, None)
    ///     ]
    /// );
    /// ```
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
        let peers = self.scope().peers();
        let by_key_a = Exchange::new(move |(k, _, _): &(K, Time, A)| worker_of(k, peers));
        let by_key_b = Exchange::new(move |(k, _, _): &(K, Time, B)| worker_of(k, peers));
        let pacts = (by_key_a, by_key_b);
        self.checkpointed_binary(right, pacts, "IntervalJoin", move |initial, gate| {
            let mut buffers = Buffers {
                lefts: new_map(),
                rights: new_map(),
                left_expiry: BTreeMap::new(),
                right_expiry: BTreeMap::new(),
                buffered: 0,
                lower,
                upper,
                outer,
            };
            // Both sides are routed by key: after a rescale, the keys of this worker's groups.
            let saved = gate.restore_divided(|parts: Vec<Saved<K, A, B>>, share| {
                let (mut lefts, mut rights) = (Vec::new(), Vec::new());
                for (l, r) in parts {
                    lefts.extend(l.into_iter().filter(|(k, _)| share.owns(k)));
                    rights.extend(r.into_iter().filter(|(k, _)| share.owns(k)));
                }
                Ok((lefts, rights))
            });
            if let Some(saved) = saved {
                buffers.restore(saved, &initial);
            }
            Joining { buffers, f }
        })
    }
}

/// What arrives at the join: a record of either side, `(key, event time, record)`.
type Arrival<K, A, B> = Side<(K, Time, A), (K, Time, B)>;

/// An interval join on one worker: its buffers, and the function that makes its results.
struct Joining<K, A, B, F> {
    buffers: Buffers<K, A, B>,
    f: F,
}

impl<'a, K, A, B, O, F> Checkpointed<OutputSession<'a, O>> for Joining<K, A, B, F>
where
    K: Data + Hash + Eq,
    A: Data,
    B: Data,
    O: 'static,
    F: Fn(&K, &A, Option<&B>) -> O,
{
    type Record = Arrival<K, A, B>;

    fn apply(
        &mut self,
        at: &At<'_>,
        arrivals: impl Iterator<Item = Arrival<K, A, B>>,
        out: &mut OutputSession<'a, O>,
    ) {
        let cap = at.delayed(&at.time(), 0);
        self.buffers.take(&cap, arrivals, out, &self.f);
    }

    /// Lets go, before saving, of what the epoch has passed — its results are stamped before
    /// the epoch, which operators downstream save with — and of nothing later, which only the
    /// snapshot can bring back. After the input's end, of everything.
    fn close_before(&mut self, saving: &Saving<'_>, out: &mut OutputSession<'a, O>) {
        let passed = |t: Time| saving.closes(t);
        self.buffers.let_go(passed, passed, out, &self.f);
    }

    fn image(&self) -> impl Serialize + '_ {
        self.buffers.image()
    }

    /// Either input's frontier may be ahead of records the gate still holds.
    fn on_frontier(&mut self, frontiers: &Frontiers<'_>, out: &mut OutputSession<'a, O>) {
        let held_from = frontiers.holds_from();
        let (left, right) = (frontiers.input(0), frontiers.input(1));
        self.buffers.let_go(
            |t| t < held_from && !right.less_equal(&t),
            |t| t < held_from && !left.less_equal(&t),
            out,
            &self.f,
        );
    }

    fn state_entries(&self) -> Option<usize> {
        Some(self.buffers.len())
    }
}

/// A buffered record: its stamp (the time it arrived at), its event time, and the record.
#[derive(Serialize, Deserialize)]
struct Buffered<T> {
    stamp: Time,
    time: Time,
    record: T,
}

/// A buffered left record, with (outer join, no partner yet) the capability to emit it alone at
/// the end of its interval.
type Left<A> = (Buffered<A>, Option<Capability<Time>>);

/// The join as checkpointed: each key's left records (with the time of the capability to emit
/// them alone, if they still may be), and its right records.
type Saved<K, A, B> = (
    Vec<(K, Vec<(Buffered<A>, Option<Time>)>)>,
    Vec<(K, Vec<Buffered<B>>)>,
);

/// An interval join's buffers on one worker.
struct Buffers<K, A, B> {
    lefts: HashMap<K, Vec<Left<A>>>,
    rights: HashMap<K, Vec<Buffered<B>>>,
    /// The keys with left records whose interval ends at each time: letting go visits only
    /// the keys whose records the frontier has passed, not every buffered record at every
    /// step of the frontier (which made a join over 10 s of bids quadratic).
    left_expiry: BTreeMap<Time, Vec<K>>,
    /// The keys with right records no left record can reach after each time.
    right_expiry: BTreeMap<Time, Vec<K>>,
    /// How many records `lefts` and `rights` hold: the state gauge reads it after every
    /// activation, and summing the buffers there was a quarter of q7's time.
    buffered: usize,
    lower: i64,
    upper: i64,
    outer: bool,
}

impl<K: Data + Hash + Eq, A: Data, B: Data> Buffers<K, A, B> {
    /// Joins what arrived at `cap`'s time with the other side's buffer, and buffers it. A pair
    /// is stamped with the later of its records' stamps, whichever arrived first, so that the
    /// results' times do not depend on the order the two inputs were read in.
    fn take<O: 'static>(
        &mut self,
        cap: &Capability<Time>,
        arrivals: impl Iterator<Item = Arrival<K, A, B>>,
        output: &mut OutputSession<'_, O>,
        f: &impl Fn(&K, &A, Option<&B>) -> O,
    ) {
        let (lower, upper, stamp) = (self.lower, self.upper, *cap.time());
        let mut pairs = Vec::new();
        for arrival in arrivals {
            match arrival {
                Side::Left((k, time, record)) => {
                    let mut matched = false;
                    for b in self.rights.get(&k).into_iter().flatten() {
                        if within(time, b.time, lower, upper) {
                            pairs.push((stamp.max(b.stamp), f(&k, &record, Some(&b.record))));
                            matched = true;
                        }
                    }
                    let alone_at = stamp.max(shift(time, upper));
                    let hold = (self.outer && !matched).then(|| cap.delayed(&alone_at));
                    let a = Buffered {
                        stamp,
                        time,
                        record,
                    };
                    self.left_expiry
                        .entry(shift(time, upper))
                        .or_default()
                        .push(k.clone());
                    self.lefts.entry(k).or_default().push((a, hold));
                    self.buffered += 1;
                }
                Side::Right((k, time, record)) => {
                    for (a, hold) in self.lefts.get_mut(&k).into_iter().flatten() {
                        if within(a.time, time, lower, upper) {
                            pairs.push((stamp.max(a.stamp), f(&k, &a.record, Some(&record))));
                            *hold = None;
                        }
                    }
                    let b = Buffered {
                        stamp,
                        time,
                        record,
                    };
                    self.right_expiry
                        .entry(shift(time, -lower))
                        .or_default()
                        .push(k.clone());
                    self.rights.entry(k).or_default().push(b);
                    self.buffered += 1;
                }
            }
        }
        pairs.sort_by_key(|(at, _)| *at);
        let mut pairs = pairs.into_iter().peekable();
        while let Some(&(at, _)) = pairs.peek() {
            let at = cap.delayed(&at);
            let mut session = output.session(&at);
            while let Some((_, pair)) = pairs.next_if(|(t, _)| t == at.time()) {
                session.give(pair);
            }
        }
    }

    /// Lets go of what can no longer meet a partner: a left record once `right_passed` says
    /// the right side has passed its interval's end (emitting it alone if it never met one), a
    /// right record once `left_passed` says the left side has passed the last left time that
    /// could reach it.
    fn let_go<O: 'static>(
        &mut self,
        right_passed: impl Fn(Time) -> bool,
        left_passed: impl Fn(Time) -> bool,
        output: &mut OutputSession<'_, O>,
        f: &impl Fn(&K, &A, Option<&B>) -> O,
    ) {
        let (lower, upper) = (self.lower, self.upper);
        // Both tests are monotone in time: once a time has passed, every earlier one has.
        for k in expired(&mut self.left_expiry, &right_passed) {
            let Some(lefts) = self.lefts.get_mut(&k) else {
                continue;
            };
            let before = lefts.len();
            lefts.retain_mut(|(a, hold)| {
                if !right_passed(shift(a.time, upper)) {
                    return true;
                }
                if let Some(cap) = hold.take() {
                    output.session(&cap).give(f(&k, &a.record, None));
                }
                false
            });
            self.buffered -= before - lefts.len();
            if lefts.is_empty() {
                self.lefts.remove(&k);
            }
        }
        for k in expired(&mut self.right_expiry, &left_passed) {
            let Some(rights) = self.rights.get_mut(&k) else {
                continue;
            };
            let before = rights.len();
            rights.retain(|b| !left_passed(shift(b.time, -lower)));
            self.buffered -= before - rights.len();
            if rights.is_empty() {
                self.rights.remove(&k);
            }
        }
    }

    /// The buffers as a checkpoint holds them.
    fn image(&self) -> impl Serialize + '_ {
        let lefts = self.lefts.iter().map(|(k, lefts)| {
            let lefts = lefts
                .iter()
                .map(|(a, hold)| (a, hold.as_ref().map(|c| *c.time())));
            (k, lefts.collect::<Vec<_>>())
        });
        (
            lefts.collect::<Vec<_>>(),
            self.rights.iter().collect::<Vec<_>>(),
        )
    }

    /// Takes the buffers back from a checkpoint, with capabilities derived from `initial`.
    fn restore(&mut self, (lefts, rights): Saved<K, A, B>, initial: &Capability<Time>) {
        for (k, saved) in lefts {
            for (a, _) in &saved {
                let at = shift(a.time, self.upper);
                self.left_expiry.entry(at).or_default().push(k.clone());
            }
            let restored = saved
                .into_iter()
                .map(|(a, hold)| (a, hold.map(|t| initial.delayed(&t))));
            let restored: Vec<_> = restored.collect();
            self.buffered += restored.len();
            self.lefts.insert(k, restored);
        }
        for (k, saved) in rights {
            for b in &saved {
                let at = shift(b.time, -self.lower);
                self.right_expiry.entry(at).or_default().push(k.clone());
            }
            self.buffered += saved.len();
            self.rights.insert(k, saved);
        }
    }

    /// How many records are buffered.
    fn len(&self) -> usize {
        debug_assert_eq!(
            self.buffered,
            self.lefts.values().map(Vec::len).sum::<usize>()
                + self.rights.values().map(Vec::len).sum::<usize>(),
            "the buffered count"
        );
        self.buffered
    }
}

/// Whether `tb` lies in `[ta + lower, ta + upper]` (exactly, with no clamping at 0).
fn within(ta: Time, tb: Time, lower: i64, upper: i64) -> bool {
    let gap = tb as i128 - ta as i128;
    (lower as i128..=upper as i128).contains(&gap)
}

/// `t + offset`, clamped to the time range.
/// Takes from `expiry` the keys of every time that `passed`, in time order (a key may come
/// more than once).
fn expired<K>(expiry: &mut BTreeMap<Time, Vec<K>>, passed: impl Fn(Time) -> bool) -> Vec<K> {
    let mut keys = Vec::new();
    while let Some(entry) = expiry.first_entry() {
        if !passed(*entry.key()) {
            break;
        }
        keys.append(&mut entry.remove());
    }
    keys
}

fn shift(t: Time, offset: i64) -> Time {
    (t as i128 + offset as i128).clamp(0, Time::MAX as i128) as Time
}
