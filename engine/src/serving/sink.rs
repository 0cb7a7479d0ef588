//! Writing a stream of `(key, value)` updates into a version of a view.

use std::fmt::Display;
use std::sync::Arc;

use serde::Serialize;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use super::ServingStore;
use crate::job::JobContext;
use crate::stream::Stream;

/// Streams of view updates.
pub trait ServeView {
    /// Writes each `(key, value)` into version `version` of `view` in `store`: what arrives in
    /// one activation goes in one `put` (a later value of a key replaces an earlier one), so a
    /// view is as fresh as the stream, without one round trip per record to an external store.
    fn serve_view(self, store: &Arc<dyn ServingStore>, view: &str, version: u32);
}

impl<K: Display + 'static, V: Serialize + 'static> ServeView for Stream<'_, (K, V)> {
    fn serve_view(self, store: &Arc<dyn ServingStore>, view: &str, version: u32) {
        let job = JobContext::of(self.scope());
        let (store, view) = (store.clone(), view.to_string());
        let mut entries = Vec::new();
        self.sink(Pipeline, "ServeView", move |(input, _)| {
            input.for_each(|_, data| {
                for (key, value) in data.drain(..) {
                    match serde_json::to_value(&value) {
                        Ok(value) => entries.push((key.to_string(), value)),
                        Err(e) => job.malformed(|| format!("view {view}: key {key}: {e}")),
                    }
                }
            });
            if !entries.is_empty() {
                if let Err(error) = store.put(&view, version, &entries) {
                    job.fail(error);
                }
                entries.clear();
            }
        });
    }
}
