//! The in-process serving store.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde_json::Value;

use crate::ServingStore;
use sluice_engine::Error;

/// Views in memory, shared by the jobs and the HTTP server of one process.
#[derive(Default)]
pub struct Embedded {
    views: RwLock<HashMap<String, View>>,
}

#[derive(Default)]
struct View {
    published: Option<u32>,
    versions: BTreeMap<u32, HashMap<String, Value>>,
}

impl ServingStore for Embedded {
    fn put(&self, view: &str, version: u32, entries: &[(String, Value)]) -> Result<(), Error> {
        let mut views = self.views.write().unwrap_or_else(|e| e.into_inner());
        let values = views
            .entry(view.to_string())
            .or_default()
            .versions
            .entry(version)
            .or_default();
        values.extend(entries.iter().cloned());
        Ok(())
    }

    fn publish(&self, view: &str, version: u32) -> Result<(), Error> {
        let mut views = self.views.write().unwrap_or_else(|e| e.into_inner());
        let view = views.entry(view.to_string()).or_default();
        view.published = Some(version);
        view.versions = view.versions.split_off(&version);
        view.versions.entry(version).or_default();
        Ok(())
    }

    fn get(&self, view: &str, key: &str) -> Result<Option<Value>, Error> {
        let views = self.views.read().unwrap_or_else(|e| e.into_inner());
        Ok(views.get(view).and_then(|view| {
            let version = view.published?;
            view.versions.get(&version)?.get(key).cloned()
        }))
    }

    fn published(&self, view: &str) -> Result<Option<u32>, Error> {
        let views = self.views.read().unwrap_or_else(|e| e.into_inner());
        Ok(views.get(view).and_then(|view| view.published))
    }

    fn entries(&self, view: &str) -> Result<Vec<(String, Value)>, Error> {
        let views = self.views.read().unwrap_or_else(|e| e.into_inner());
        let Some(view) = views.get(view) else {
            return Ok(Vec::new());
        };
        let values = view.published.and_then(|v| view.versions.get(&v));
        Ok(values
            .map(|values| values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    fn remove(&self, view: &str) -> Result<(), Error> {
        let mut views = self.views.write().unwrap_or_else(|e| e.into_inner());
        views.remove(view);
        Ok(())
    }
}
