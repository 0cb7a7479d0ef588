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
//! - [`source`]: [`SourceEpochs`], a source's checkpoints (its replay offset per epoch).
//!
//! This layer sits above [`checkpoint`](crate::checkpoint) (the coordinator and the files) and
//! [`execution`](crate::execution) (the job), and below [`operators`](crate::operators),
//! [`sources`](crate::sources) and [`sinks`](crate::sinks).
//!
//! ```ignore
//! struct Counts(KeyedState<String, u64>);
//! impl Checkpointed<OutputSession<'_, (String, u64)>> for Counts {
//!     type Record = String;
//!     fn apply(&mut self, at: &At<'_>, words: impl Iterator<Item = String>, out: &mut ...) {
//!         let mut session = out.session(at);
//!         for word in words { /* count it, give the new count */ }
//!     }
//!     fn image(&self) -> impl Serialize + '_ { &self.0 }
//! }
//! words.checkpointed_unary(exchange, "Counts", |_, gate| Counts(restored(gate)))
//! ```

pub mod gate;
pub mod logic;
pub mod operator;
pub mod source;

pub use gate::EpochGate;
pub use logic::{At, Checkpointed, Frontiers, Saving};
pub use operator::{keyed_windows, CheckpointedOperator, Side, WindowOutputs};
pub use source::SourceEpochs;
