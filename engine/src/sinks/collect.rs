//! Collecting a stream's records back into the program.

use std::sync::{Arc, Mutex};

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::stream::Stream;

/// A shared bag of records that every worker of this process appends to; read it after the run.
///
/// Create it outside [`execute`](crate::execute), clone it into the worker closure.
pub struct Collector<D> {
    records: Arc<Mutex<Vec<D>>>,
}

impl<D> Clone for Collector<D> {
    fn clone(&self) -> Self {
        Collector {
            records: self.records.clone(),
        }
    }
}

impl<D> Default for Collector<D> {
    fn default() -> Self {
        Collector {
            records: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<D> Collector<D> {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }
    /// Removes and returns everything collected so far (order: arrival, per worker).
    pub fn take(&self) -> Vec<D> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|e| e.into_inner()))
    }
    /// How many records have been collected.
    pub fn len(&self) -> usize {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    /// Whether nothing has been collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(super) fn collect_into<D: Send + 'static>(stream: Stream<'_, D>, collector: &Collector<D>) {
    let records = collector.records.clone();
    stream.sink(Pipeline, "Collect", move |(input, _)| {
        input.for_each_stamp(|_, data| {
            let mut records = records.lock().unwrap_or_else(|e| e.into_inner());
            for batch in data {
                records.append(batch);
            }
        });
    });
}
