//! Whether a DStream has a batch (an RDD) at a given time.
//!
//! In Spark a DStream produces an RDD only at times that are multiples of its slide, and may
//! produce none even then (an input that returns `None`). What follows from a missing RDD is
//! fixed by the graph, not by the data: element-wise streams have none either, windows skip it,
//! `updateStateByKey` still produces its state, and union and transform fail with Spark's
//! messages. Sluice decides this the same way, outside the data path: each stream carries a
//! [`Presence`], a function of the batch time built from its parents', which output operations
//! consult before they act.

use std::cell::Cell;
use std::rc::Rc;

use sluice_engine::Time;

/// Whether a stream has a batch at a time: `Ok(false)` for none, `Err` for Spark's failure.
pub type Answer = Result<bool, String>;

/// A stream's presence function. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Presence(Rc<dyn Fn(Time) -> Answer>);

impl Presence {
    /// Present at every multiple of `slide` for which `present` holds.
    pub fn new(slide: Time, present: impl Fn(Time) -> bool + 'static) -> Self {
        Presence(Rc::new(move |t| Ok(t > 0 && t % slide == 0 && present(t))))
    }

    /// Present at every multiple of `slide`.
    pub fn every(slide: Time) -> Self {
        Self::new(slide, |_| true)
    }

    /// Whether the stream has a batch at `time`.
    pub fn at(&self, time: Time) -> Answer {
        (self.0)(time)
    }

    /// Present when every parent is; a missing parent batch is the error `missing(time)`
    /// (Spark's union and transform).
    pub fn all_of(
        parents: Vec<Presence>,
        slide: Time,
        missing: impl Fn(Time) -> String + 'static,
    ) -> Self {
        Presence(Rc::new(move |t| {
            if t == 0 || t % slide != 0 {
                return Ok(false);
            }
            for parent in &parents {
                if !parent.at(t)? {
                    return Err(missing(t));
                }
            }
            Ok(true)
        }))
    }

    /// Present from the first time the parent is on (Spark's `StateDStream`: once there is
    /// state, every batch has state).
    pub fn from_first_of(parent: Presence, slide: Time) -> Self {
        let first: Rc<Cell<Option<Time>>> = Rc::default();
        let scanned = Rc::new(Cell::new(0));
        Presence(Rc::new(move |t| {
            if t == 0 || t % slide != 0 {
                return Ok(false);
            }
            while first.get().is_none() && scanned.get() < t {
                let next = scanned.get() + slide;
                scanned.set(next);
                if parent.at(next)? {
                    first.set(Some(next));
                }
            }
            Ok(first.get().is_some_and(|f| f <= t))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_present_from_the_first_parent_batch_on() {
        let parent = Presence::new(1000, |t| t == 2000 || t == 4000);
        let state = Presence::from_first_of(parent, 1000);
        let seen: Vec<bool> = (1..=5).map(|i| state.at(i * 1000).unwrap()).collect();
        assert_eq!(seen, vec![false, true, true, true, true]);
        assert!(!state.at(1500).unwrap());
    }

    #[test]
    fn union_of_a_missing_parent_fails() {
        let parents = vec![Presence::every(1000), Presence::new(1000, |t| t != 2000)];
        let union = Presence::all_of(parents, 1000, |t| format!("missing at {t} ms"));
        assert_eq!(union.at(1000), Ok(true));
        assert_eq!(union.at(2000), Err("missing at 2000 ms".to_string()));
    }
}
