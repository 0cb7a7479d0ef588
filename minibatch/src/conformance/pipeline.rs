//! Building a case's pipeline as DStream operations over [`Value`]s.
//!
//! Functions of the vocabulary can fail on a value of the wrong shape (a case file is data);
//! such a failure is recorded in [`Faults`] and fails the case, never the process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::case::{Node, Op, WindowMs};
use super::value::Value;
use crate::batch::Batch;
use crate::dstream::DStream;
use crate::graph::Graph;
use crate::update_state::StateUpdate;

/// Failures of case functions during a run.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<String>>>);

impl Faults {
    /// The value, or `fallback` after recording the failure.
    fn or<T>(&self, result: Result<T, String>, fallback: T) -> T {
        result.unwrap_or_else(|e| {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
            fallback
        })
    }

    /// The first failure, if any.
    pub fn first(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first()
            .cloned()
    }
}

type Pairs<'s> = DStream<'s, (Value, Value)>;

fn ms(duration: u64) -> Duration {
    Duration::from_millis(duration)
}

fn windows(w: WindowMs) -> (Duration, Duration) {
    (ms(w.length), ms(w.slide))
}

/// The stream a pipeline node computes, over the case's input streams.
pub fn build<'s>(
    node: &Node,
    graph: &Graph<'s>,
    sources: &[DStream<'s, Value>],
    faults: &Faults,
) -> DStream<'s, Value> {
    let (op, inputs, checkpoint) = match node {
        Node::Source(s) => return sources[*s].clone(),
        Node::Op {
            op,
            inputs,
            checkpoint_ms,
        } => (op, inputs, checkpoint_ms),
    };
    let mut parents: Vec<DStream<'s, Value>> = inputs
        .iter()
        .map(|n| build(n, graph, sources, faults))
        .collect();
    let input = parents[0].clone();
    let pairs = |s: &DStream<'s, Value>| -> Pairs<'s> {
        let faults = faults.clone();
        s.map(move |x| faults.or(x.into_pair(), (Value::Null, Value::Null)))
    };
    let pair = |(k, v): (Value, Value)| Value::pair(k, v);
    let ff = faults.clone();
    let reducer = move |f: super::functions::Func| {
        let faults = ff.clone();
        move |a: &Value, b: &Value| faults.or(f.reducer(a, b), Value::Null)
    };
    let faults = faults.clone();
    let out = match op.clone() {
        Op::Map(f) => input.map(move |x| faults.or(f.element(x), Value::Null)),
        Op::FlatMap(f) => input.flat_map(move |x| faults.or(f.many(x), Vec::new())),
        Op::Filter(f) => input.filter(move |x| faults.or(f.predicate(x), false)),
        Op::MapPartitions(f) => {
            input.map_partitions(move |part| faults.or(f.partition(part), Vec::new()))
        }
        Op::Reduce(f) => input.reduce(reducer(f)),
        Op::MapValues(f) => pairs(&input)
            .map_values(move |v| faults.or(f.element(v), Value::Null))
            .map(pair),
        Op::FlatMapValues(f) => pairs(&input)
            .flat_map_values(move |v| faults.or(f.many(v), Vec::new()))
            .map(pair),
        Op::Glom => input.glom().map(Value::Seq),
        Op::Repartition(n) => input.repartition(n),
        Op::Count => input.count().map(|n| Value::Int(n as i64)),
        Op::CountByValue => input
            .count_by_value()
            .map(|(x, n)| Value::pair(x, Value::Int(n as i64))),
        Op::ReduceByKey(f) => pairs(&input).reduce_by_key(reducer(f)).map(pair),
        Op::GroupByKey => pairs(&input)
            .group_by_key()
            .map(|(k, vs)| Value::pair(k, Value::Seq(vs))),
        Op::Union => input.union(&parents[1]),
        Op::ContextUnion => graph.union(std::mem::take(&mut parents)),
        Op::Transform(f) => input.transform(move |batch| {
            let time = batch.time();
            faults.or(f.batch(batch), Batch::empty(time))
        }),
        Op::TransformWith(f) => input.transform_with(&parents[1], move |a, b| {
            let time = a.time();
            faults.or(f.batch_pair(a, b), Batch::empty(time))
        }),
        Op::ContextTransform(f) => graph
            .transform(std::mem::take(&mut parents), move |batches, time| {
                faults.or(f.batch_all(batches, time), Batch::empty(time))
            }),
        Op::Cogroup => pairs(&input)
            .cogroup(&pairs(&parents[1]))
            .map(|(k, (vs, ws))| Value::pair(k, Value::pair(Value::Seq(vs), Value::Seq(ws)))),
        Op::Join => pairs(&input)
            .join(&pairs(&parents[1]))
            .map(|(k, (v, w))| Value::pair(k, Value::pair(v, w))),
        Op::LeftOuterJoin => pairs(&input)
            .left_outer_join(&pairs(&parents[1]))
            .map(|(k, (v, w))| Value::pair(k, Value::pair(v, w.unwrap_or(Value::Null)))),
        Op::RightOuterJoin => pairs(&input)
            .right_outer_join(&pairs(&parents[1]))
            .map(|(k, (v, w))| Value::pair(k, Value::pair(v.unwrap_or(Value::Null), w))),
        Op::FullOuterJoin => {
            pairs(&input)
                .full_outer_join(&pairs(&parents[1]))
                .map(|(k, (v, w))| {
                    Value::pair(
                        k,
                        Value::pair(v.unwrap_or(Value::Null), w.unwrap_or(Value::Null)),
                    )
                })
        }
        Op::UpdateStateByKey { f, initial } => {
            let initial = initial
                .unwrap_or_default()
                .into_iter()
                .map(|(k, s)| (k, f.initial_state(s)))
                .collect();
            let update = StateUpdate::new(move |time, _key: &Value, values, state| {
                faults.or(f.state(time, values, state), None)
            })
            .initial_state(initial);
            pairs(&input)
                .update_state_by_key_with(update)
                .map(move |(k, s)| Value::pair(k, f.state_output(s)))
        }
        Op::Window(w) => {
            let (length, slide) = windows(w);
            input.window(length, slide)
        }
        Op::ReduceByKeyAndWindow {
            f,
            window,
            inv,
            filter,
        } => {
            let (length, slide) = windows(window);
            let keep = move |x: &(Value, Value)| -> bool {
                filter.is_none_or(|p| {
                    faults.or(p.predicate(&Value::pair(x.0.clone(), x.1.clone())), false)
                })
            };
            let keyed = pairs(&input);
            match inv {
                None => keyed
                    .reduce_by_key_and_window(reducer(f), length, slide)
                    .filter(keep),
                Some(inv) => keyed.reduce_by_key_and_window_inv_filtered(
                    reducer(f),
                    reducer(inv),
                    length,
                    slide,
                    keep,
                ),
            }
            .map(pair)
        }
        Op::GroupByKeyAndWindow(w) => {
            let (length, slide) = windows(w);
            pairs(&input)
                .group_by_key_and_window(length, slide)
                .map(|(k, vs)| Value::pair(k, Value::Seq(vs)))
        }
        Op::CountByWindow(w) => {
            let (length, slide) = windows(w);
            input
                .count_by_window(length, slide)
                .map(|n| Value::Int(n as i64))
        }
        Op::CountByValueAndWindow(w) => {
            let (length, slide) = windows(w);
            input
                .count_by_value_and_window(length, slide)
                .map(|(x, n)| Value::pair(x, Value::Int(n as i64)))
        }
    };
    match checkpoint {
        Some(interval) => out.checkpoint(ms(*interval)),
        None => out,
    }
}
