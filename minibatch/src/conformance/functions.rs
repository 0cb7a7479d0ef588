//! The function vocabulary of case files, each with the meaning the case format
//! (`minibatch/tests/data/README.md`) gives it.
//!
//! A function belongs to a *kind* (an element map, a predicate, a reducer, a state update...),
//! and a case may use it wherever its kind fits: `sum` is a reducer for `reduce_by_key` and a
//! partition function for `map_partitions`; `plus_10` maps elements or values alike.

use sluice_engine::Time;

use super::value::Value;
use crate::batch::Batch;

/// A function of the vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Func {
    ToString,
    XAndXTimes2,
    Even,
    Sum,
    Minus,
    ValueNonzero,
    PairWithOne,
    PairWithX,
    Plus(i64),
    XAndXPlus10,
    ToSortedList,
    ToSortedSet,
    ToSortedLists,
    RddMapToString,
    RddJoin,
    RddUnion,
    Identity,
    RddUnionAll,
    RunningSum,
    AddBatchTimeIfValues,
    ExpireAfterTwoEmpty,
}

/// Where a function is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Element,
    Many,
    Predicate,
    Reducer,
    Partition,
    Batch,
    BatchPair,
    BatchAll,
    State,
}

const NAMES: &[(&str, Func, &[Kind])] = &[
    ("to_string", Func::ToString, &[Kind::Element]),
    ("x_and_x_times_2", Func::XAndXTimes2, &[Kind::Many]),
    ("even", Func::Even, &[Kind::Predicate]),
    ("sum", Func::Sum, &[Kind::Reducer, Kind::Partition]),
    ("minus", Func::Minus, &[Kind::Reducer]),
    ("value_nonzero", Func::ValueNonzero, &[Kind::Predicate]),
    ("pair_with_one", Func::PairWithOne, &[Kind::Element]),
    ("pair_with_x", Func::PairWithX, &[Kind::Element]),
    ("plus_4", Func::Plus(4), &[Kind::Element]),
    ("plus_8", Func::Plus(8), &[Kind::Element]),
    ("plus_10", Func::Plus(10), &[Kind::Element]),
    ("x_and_x_plus_10", Func::XAndXPlus10, &[Kind::Many]),
    ("to_sorted_list", Func::ToSortedList, &[Kind::Element]),
    ("to_sorted_set", Func::ToSortedSet, &[Kind::Element]),
    ("to_sorted_lists", Func::ToSortedLists, &[Kind::Element]),
    ("rdd_map_to_string", Func::RddMapToString, &[Kind::Batch]),
    ("rdd_join", Func::RddJoin, &[Kind::BatchPair]),
    ("rdd_union", Func::RddUnion, &[Kind::BatchPair]),
    ("identity", Func::Identity, &[Kind::Element]),
    ("rdd_union_all", Func::RddUnionAll, &[Kind::BatchAll]),
    ("running_sum", Func::RunningSum, &[Kind::State]),
    (
        "add_batch_time_if_values",
        Func::AddBatchTimeIfValues,
        &[Kind::State],
    ),
    (
        "expire_after_two_empty",
        Func::ExpireAfterTwoEmpty,
        &[Kind::State],
    ),
];

/// What kind of function the parameter `key` of op `op` takes.
fn kind_for(op: &str, key: &str) -> Option<Kind> {
    Some(match (op, key) {
        ("map" | "map_values", "fn") => Kind::Element,
        ("flat_map" | "flat_map_values", "fn") => Kind::Many,
        ("filter", "fn") | ("reduce_by_key_and_window", "filter") => Kind::Predicate,
        ("reduce" | "reduce_by_key" | "reduce_by_key_and_window", "fn" | "inv_fn") => Kind::Reducer,
        ("map_partitions", "fn") => Kind::Partition,
        ("transform", "fn") => Kind::Batch,
        ("transform_with", "fn") => Kind::BatchPair,
        ("context_transform", "fn") => Kind::BatchAll,
        ("update_state_by_key", "fn") => Kind::State,
        _ => return None,
    })
}

impl Func {
    /// The function `name`, checked to fit parameter `key` of op `op`.
    pub fn parse(name: &str, op: &str, key: &str) -> Result<Func, String> {
        let (_, func, kinds) = NAMES
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or(format!("unknown function \"{name}\""))?;
        match kind_for(op, key) {
            Some(kind) if kinds.contains(&kind) => Ok(*func),
            _ => Err(format!("function \"{name}\" cannot be the {key} of {op}")),
        }
    }

    /// An element (or value) map.
    pub fn element(self, x: Value) -> Result<Value, String> {
        Ok(match self {
            Func::ToString => Value::Str(x.int()?.to_string()),
            Func::PairWithOne => Value::pair(x, Value::Int(1)),
            Func::PairWithX => Value::pair(x, Value::Str("x".into())),
            Func::Plus(n) => Value::Int(x.int()? + n),
            Func::Identity => x,
            Func::ToSortedList => Value::Seq(sorted(x.into_seq()?)),
            Func::ToSortedSet => {
                let mut items = sorted(x.into_seq()?);
                items.dedup();
                Value::Seq(items)
            }
            Func::ToSortedLists => {
                let (a, b) = x.into_pair()?;
                Value::pair(
                    Value::Seq(sorted(a.into_seq()?)),
                    Value::Seq(sorted(b.into_seq()?)),
                )
            }
            other => return Err(format!("{other:?} is not an element function")),
        })
    }

    /// An element to several.
    pub fn many(self, x: Value) -> Result<Vec<Value>, String> {
        let n = x.int()?;
        Ok(match self {
            Func::XAndXTimes2 => vec![Value::Int(n), Value::Int(2 * n)],
            Func::XAndXPlus10 => vec![Value::Int(n), Value::Int(n + 10)],
            other => return Err(format!("{other:?} is not a flat-map function")),
        })
    }

    /// A predicate.
    pub fn predicate(self, x: &Value) -> Result<bool, String> {
        match (self, x) {
            (Func::Even, x) => Ok(x.int()? % 2 == 0),
            (Func::ValueNonzero, Value::Pair(_, v)) => Ok(v.int()? != 0),
            (Func::ValueNonzero, other) => Err(format!(
                "value_nonzero needs a pair, got {}",
                other.to_json()
            )),
            (other, _) => Err(format!("{other:?} is not a predicate")),
        }
    }

    /// A reducer.
    pub fn reducer(self, a: &Value, b: &Value) -> Result<Value, String> {
        match self {
            Func::Sum => Ok(Value::Int(a.int()? + b.int()?)),
            Func::Minus => Ok(Value::Int(a.int()? - b.int()?)),
            other => Err(format!("{other:?} is not a reducer")),
        }
    }

    /// A partition function (map_partitions): exactly one element per partition.
    pub fn partition(self, part: Vec<Value>) -> Result<Vec<Value>, String> {
        match self {
            Func::Sum => Ok(vec![Value::Int(part.iter().map(Value::int).sum::<Result<
                i64,
                _,
            >>(
            )?)]),
            other => Err(format!("{other:?} is not a partition function")),
        }
    }

    /// A batch function (transform).
    pub fn batch(self, batch: Batch<Value>) -> Result<Batch<Value>, String> {
        match self {
            Func::RddMapToString => batch.try_map(|x| Func::ToString.element(x)),
            other => Err(format!("{other:?} is not a transform function")),
        }
    }

    /// A function of two batches (transform_with).
    pub fn batch_pair(self, a: Batch<Value>, b: Batch<Value>) -> Result<Batch<Value>, String> {
        match self {
            Func::RddJoin => {
                let (a, b) = (a.try_map(Value::into_pair)?, b.try_map(Value::into_pair)?);
                Ok(a.join(b)
                    .map(|(k, (v, w))| Value::pair(k, Value::pair(v, w))))
            }
            Func::RddUnion => Ok(a.union(b)),
            other => Err(format!("{other:?} is not a function of two batches")),
        }
    }

    /// A function of all parents' batches (context_transform).
    pub fn batch_all(self, batches: Vec<Batch<Value>>, time: Time) -> Result<Batch<Value>, String> {
        match self {
            Func::RddUnionAll => Ok(batches
                .into_iter()
                .reduce(Batch::union)
                .unwrap_or_else(|| Batch::empty(time))),
            other => Err(format!("{other:?} is not a function of several batches")),
        }
    }

    /// A state update: `(time, values, state) → state`.
    pub fn state(
        self,
        time: Time,
        values: Vec<Value>,
        state: Option<Value>,
    ) -> Result<Option<Value>, String> {
        let total = || values.iter().map(Value::int).sum::<Result<i64, _>>();
        let previous = |s: &Option<Value>| s.as_ref().map_or(Ok(0), Value::int);
        Ok(match self {
            Func::RunningSum => Some(Value::Int(total()? + previous(&state)?)),
            Func::AddBatchTimeIfValues if values.is_empty() => Some(Value::Int(previous(&state)?)),
            Func::AddBatchTimeIfValues => Some(Value::Int(time as i64 + previous(&state)?)),
            Func::ExpireAfterTwoEmpty => {
                let (counter, empties) = match state {
                    Some(s) => {
                        let (c, e) = s.into_pair()?;
                        (c.int()?, e.int()?)
                    }
                    None => (0, 0),
                };
                let (counter, empties) = if values.is_empty() {
                    (counter, empties + 1)
                } else {
                    (counter + total()?, 0)
                };
                (empties < 2).then(|| Value::pair(Value::Int(counter), Value::Int(empties)))
            }
            other => return Err(format!("{other:?} is not a state update")),
        })
    }

    /// The state a case's `initial` value stands for.
    pub fn initial_state(self, value: Value) -> Value {
        match self {
            Func::ExpireAfterTwoEmpty => Value::pair(value, Value::Int(0)),
            _ => value,
        }
    }

    /// What the state stream shows of a key's state.
    pub fn state_output(self, state: Value) -> Value {
        match (self, state) {
            (Func::ExpireAfterTwoEmpty, Value::Pair(counter, _)) => *counter,
            (_, state) => state,
        }
    }
}

fn sorted(mut items: Vec<Value>) -> Vec<Value> {
    items.sort();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_checked_against_their_use() {
        assert_eq!(Func::parse("sum", "map_partitions", "fn"), Ok(Func::Sum));
        assert!(Func::parse("sum", "map", "fn")
            .unwrap_err()
            .contains("cannot be the fn of map"));
        assert!(Func::parse("nope", "map", "fn")
            .unwrap_err()
            .contains("unknown function"));
    }

    #[test]
    fn expire_after_two_empty_counts_empty_batches() {
        let f = Func::ExpireAfterTwoEmpty;
        let s = f.state(0, vec![Value::Int(2)], None).unwrap();
        let s = f.state(0, vec![], s).unwrap();
        assert_eq!(f.state_output(s.clone().unwrap()), Value::Int(2));
        assert_eq!(f.state(0, vec![], s).unwrap(), None);
    }
}
