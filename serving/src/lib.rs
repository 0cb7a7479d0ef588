//! # sluice-serving
//!
//! The serving layer: where views computed by a job are read by queries.
//!
//! A *view* maps keys to JSON values (a word's count, a campaign's window counts). Jobs write
//! a view in a numbered **version** and then **publish** it: from that moment queries read that
//! version, atomically — a reader sees the old version or the new one, never a mix. That is
//! what kappa's reprocessing needs (a new version of the job rebuilds its views beside the old
//! ones and takes over once caught up) and what lambda's serving layer needs (a new batch view
//! replaces the old one whole).
//!
//! Two stores implement it: [`Embedded`] (in the process, the default) and [`Redis`] (a real
//! external store, as the Yahoo Streaming Benchmark uses). [`open`] picks one from a spec, and
//! [`http::serve`] answers `GET /views/NAME/KEY` over HTTP; jobs write views with
//! [`ServeView::serve_view`].
//!
//! It is a crate of its own, above `sluice-engine`, so that the engine's core carries no web
//! server, no Redis client and no async runtime: only programs that serve views pay for them.
//!
//! ```
//! use sluice_serving::{open, ServingStore};
//! let store = open("embedded").unwrap();
//! store.put("counts", 1, &[("a".into(), 3.into())]).unwrap();
//! assert_eq!(store.get("counts", "a").unwrap(), None); // written, not yet published
//! store.publish("counts", 1).unwrap();
//! assert_eq!(store.get("counts", "a").unwrap(), Some(3.into()));
//! ```

#![warn(missing_docs)]

pub mod embedded;
pub mod http;
pub mod redis;
pub mod sink;

pub use self::embedded::Embedded;
pub use self::redis::Redis;
pub use self::sink::ServeView;

use std::sync::Arc;

use serde_json::Value;

use sluice_engine::Error;

/// A store of versioned views; see the module docs.
pub trait ServingStore: Send + Sync {
    /// Writes `entries` into version `version` of `view` (replacing the keys' values there).
    fn put(&self, view: &str, version: u32, entries: &[(String, Value)]) -> Result<(), Error>;
    /// Serves `version` of `view` from now on, and drops the versions before it.
    fn publish(&self, view: &str, version: u32) -> Result<(), Error>;
    /// The value of `key` in the published version of `view`.
    fn get(&self, view: &str, key: &str) -> Result<Option<Value>, Error>;
    /// The published version of `view`, if any.
    fn published(&self, view: &str) -> Result<Option<u32>, Error>;
    /// Every `(key, value)` of the published version of `view`.
    fn entries(&self, view: &str) -> Result<Vec<(String, Value)>, Error>;
    /// Drops `view` whole — every version and what is published — as lambda drops the
    /// real-time views a newer batch view covers.
    fn remove(&self, view: &str) -> Result<(), Error>;
}

/// The store a spec names: `embedded`, or `redis://HOST:PORT[/DB]`. A Redis server is
/// connected to (and checked) at once; failing, the error names the address.
pub fn open(spec: &str) -> Result<Arc<dyn ServingStore>, Error> {
    if spec == "embedded" {
        return Ok(Arc::new(Embedded::default()));
    }
    if spec.starts_with("redis://") {
        return Ok(Arc::new(Redis::connect(spec)?));
    }
    Err(Error::Config(format!(
        "serving store '{spec}' is neither 'embedded' nor a redis://HOST:PORT address"
    )))
}
