//! The stream and scope types Sluice programs are written against.
//!
//! They are timely's own types at Sluice's time ([`Time`]) and container (`Vec`), so a custom
//! operator can always drop to timely's `Operator` trait on the same values.

use crate::time::Time;

/// A stream of `D` records, at millisecond timestamps.
pub type Stream<'scope, D> = timely::dataflow::StreamVec<'scope, Time, D>;

/// A dataflow scope at millisecond timestamps (`Copy`; pass it by value).
pub type Scope<'scope> = timely::dataflow::Scope<'scope, Time>;

/// What every record type must be to cross workers and processes (serde for the wire).
pub trait Data:
    Send + Clone + serde::Serialize + for<'de> serde::Deserialize<'de> + 'static
{
}
impl<T: Send + Clone + serde::Serialize + for<'de> serde::Deserialize<'de> + 'static> Data for T {}

/// An activated output of `D` records, as an operator built with timely's `OperatorBuilder`
/// writes to it.
pub type OutputSession<'a, D> = timely::dataflow::operators::generic::OutputBuilderSession<
    'a,
    Time,
    timely::container::CapacityContainerBuilder<Vec<D>>,
>;
