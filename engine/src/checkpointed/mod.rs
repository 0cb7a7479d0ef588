//! The checkpointed-operator core: the one place that knows how a stateful operator takes part
//! in a checkpoint.
//!
//! Every stateful operator, the exactly-once epoch sink and the micro-batch per-batch operator
//! are built here, so that the checkpoint protocol — hold back what is at or after the next
//! epoch, save once the frontier has passed it, release — is written once:
//!
//! - [`gate`]: the [`EpochGate`] of one operator instance, which runs that protocol;
//! - [`logic`]: the [`Checkpointed`] trait an operator implements — its own logic only — and
//!   the [`At`] of the records it is handed;
//! - [`operator`]: extension methods on [`Stream`](crate::Stream) that build a one- or
//!   two-input operator around a `Checkpointed` logic ([`CheckpointedOperator`]), and the keyed
//!   event-time window operator with its results and late outputs ([`keyed_windows`]);
//! - [`source`]: [`SourceEpochs`], a source's checkpoints (its replay offset per epoch);
//! - [`uid`]: [`Uid`], the names checkpoints store state by.
//!
//! This layer sits above [`checkpoint`](crate::checkpoint) (the coordinator and the files) and
//! [`execution`](crate::execution) (the job), and below [`operators`](crate::operators),
//! [`sources`](crate::sources) and [`sinks`](crate::sinks).
//!
//! An operator is its logic: a running total, say, that a checkpoint restores.
//!
//! ```
//! use serde::Serialize;
//! use sluice_engine::checkpointed::{At, Checkpointed, CheckpointedOperator};
//! use sluice_engine::stream::OutputSession;
//! use sluice_engine::testing::run_collect;
//! use sluice_engine::timely::dataflow::channels::pact::Pipeline;
//!
//! /// One worker's running total.
//! struct Total(u64);
//!
//! impl<'a> Checkpointed<OutputSession<'a, u64>> for Total {
//!     type Record = u64;
//!     fn apply(&mut self, at: &At<'_>, records: impl Iterator<Item = u64>, out: &mut OutputSession<'a, u64>) {
//!         let mut session = out.session(at);
//!         for x in records {
//!             self.0 += x;
//!             session.give(self.0);
//!         }
//!     }
//!     fn image(&self) -> impl Serialize + '_ {
//!         self.0
//!     }
//! }
//!
//! let totals = run_collect(1, vec![1u64, 2, 3], |numbers| {
//!     numbers.checkpointed_unary(Pipeline, "Total", |_, gate| {
//!         Total(gate.restore::<u64>().unwrap_or(0))
//!     })
//! })
//! .unwrap();
//! assert_eq!(totals, vec![1, 3, 6]);
//! ```

pub mod gate;
pub mod logic;
pub mod operator;
pub mod source;
pub mod uid;

pub use gate::EpochGate;
pub use logic::{At, Checkpointed, Frontiers, Saving};
pub use operator::{keyed_windows, CheckpointedOperator, Side, WindowOutputs};
pub use source::SourceEpochs;
pub use uid::Uid;
