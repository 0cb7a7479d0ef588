//! Parsing with an error side output: good records go on, malformed ones are set aside.
//!
//! A stream never stops for one bad record. [`TryMap::try_map`] splits a stream in two: the
//! records `f` accepted, and a [`Malformed`] side output describing each rejected record. Every
//! rejection is also counted in the job's context (and the first few are described on stderr),
//! so a run can report how many records it skipped even if nobody consumes the side output.
//!
//! ```
//! use sluice_engine::prelude::*;
//! let (good, bad) = (Collector::new(), Collector::new());
//! let (g, b) = (good.clone(), bad.clone());
//! execute(Execution::default(), move |worker| {
//!     worker.dataflow(|scope| {
//!         let (nums, errors) = scope
//!             .iterator_source(["1", "x", "3"].map(String::from))
//!             .try_map(|s| s.parse::<u64>().map_err(|e| e.to_string()));
//!         nums.collect_into(&g);
//!         errors.collect_into(&b);
//!     });
//! })
//! .unwrap();
//! assert_eq!(good.take(), vec![1, 3]);
//! assert_eq!(bad.take()[0].record, "\"x\"");
//! ```

use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;

use crate::job::JobContext;
use crate::stream::Stream;

/// A record that could not be processed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Malformed {
    /// The record, as `Debug` shows it.
    pub record: String,
    /// What was wrong with it.
    pub reason: String,
}

/// Fallible per-record transforms with an error side output.
pub trait TryMap<'scope, D: 'static>: Sized {
    /// Applies `f` to each record: `Ok` values form the first stream, `Err` reasons the second.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::{prelude::*, testing::run_sorted};
    /// let out = run_sorted(2, vec!["1", "x", "3"], |s| {
    ///     let (numbers, malformed) = s.try_map(|text| text.parse::<u64>());
    ///     numbers.map(Ok).union(malformed.map(|m| Err(m.record)))
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![Ok(1), Ok(3), Err("\"x\"".to_string())]);
    /// ```
    fn try_map<D2: 'static, E: ToString>(
        self,
        f: impl FnMut(&D) -> Result<D2, E> + 'static,
    ) -> (Stream<'scope, D2>, Stream<'scope, Malformed>);
}

impl<'scope, D: Debug + 'static> TryMap<'scope, D> for Stream<'scope, D> {
    fn try_map<D2: 'static, E: ToString>(
        self,
        mut f: impl FnMut(&D) -> Result<D2, E> + 'static,
    ) -> (Stream<'scope, D2>, Stream<'scope, Malformed>) {
        let job = JobContext::of(self.scope());
        let mut builder = OperatorBuilder::new("TryMap".to_owned(), self.scope());
        let mut input = builder.new_input(self, Pipeline);
        let (good_out, good) = builder.new_output::<Vec<D2>>();
        let (bad_out, bad) = builder.new_output::<Vec<Malformed>>();
        let mut good_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<D2>>>::from(good_out);
        let mut bad_out =
            OutputBuilder::<_, CapacityContainerBuilder<Vec<Malformed>>>::from(bad_out);
        builder.build(move |_| {
            move |_| {
                let (mut good_out, mut bad_out) = (good_out.activate(), bad_out.activate());
                input.for_each_stamp(|cap, data| {
                    let mut good = good_out.session(&cap);
                    let mut bad = bad_out.session(&cap);
                    for batch in data {
                        for record in batch.drain(..) {
                            match f(&record) {
                                Ok(value) => good.give(value),
                                Err(reason) => {
                                    let malformed = Malformed {
                                        record: format!("{record:?}"),
                                        reason: reason.to_string(),
                                    };
                                    job.malformed(|| {
                                        format!("{}: {}", malformed.record, malformed.reason)
                                    });
                                    bad.give(malformed);
                                }
                            }
                        }
                    }
                });
            }
        });
        (good, bad)
    }
}
