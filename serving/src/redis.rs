//! Redis as the serving store: each version of a view is a hash, and one key names the
//! published version.
//!
//! `sluice:<view>:v<version>` holds the version's key → JSON value; `sluice:<view>:published`
//! its number. A read resolves the published version and reads from it in one server-side
//! script, so it is atomic against a publish (which sets the number, then deletes the older
//! hashes).

use std::sync::Mutex;

use redis::{Commands, Script};
use serde_json::Value;

use crate::ServingStore;
use sluice_engine::Error;

/// A connection to a Redis server used as the serving store.
pub struct Redis {
    address: String,
    connection: Mutex<redis::Connection>,
    read: Script,
}

impl Redis {
    /// Connects to the server at `url` (`redis://HOST:PORT[/DB]`) and checks it answers.
    pub fn connect(url: &str) -> Result<Redis, Error> {
        let failed = |e: redis::RedisError| Error::Connect {
            address: url.to_string(),
            reason: e.to_string(),
            waited_ms: 0,
        };
        let client = redis::Client::open(url).map_err(failed)?;
        let mut connection = client.get_connection().map_err(failed)?;
        redis::cmd("PING")
            .query::<String>(&mut connection)
            .map_err(failed)?;
        Ok(Redis {
            address: url.to_string(),
            connection: Mutex::new(connection),
            read: Script::new(
                "local v = redis.call('GET', KEYS[1]) \
                 if not v then return false end \
                 return redis.call('HGET', ARGV[1] .. v, ARGV[2])",
            ),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let mut connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut connection).map_err(|e| Error::Operator(format!("redis {}: {e}", self.address)))
    }
}

fn version_key(view: &str, version: u32) -> String {
    format!("sluice:{view}:v{version}")
}

fn published_key(view: &str) -> String {
    format!("sluice:{view}:published")
}

fn parse(view: &str, key: &str, text: String) -> Result<Value, Error> {
    serde_json::from_str(&text)
        .map_err(|e| Error::Operator(format!("redis: view {view}, key {key}: not JSON: {e}")))
}

impl ServingStore for Redis {
    fn put(&self, view: &str, version: u32, entries: &[(String, Value)]) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        let pairs: Vec<(&str, String)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_string()))
            .collect();
        self.with(|c| c.hset_multiple(version_key(view, version), &pairs))
    }

    fn publish(&self, view: &str, version: u32) -> Result<(), Error> {
        let older: Vec<String> = self.with(|c| c.keys(format!("sluice:{view}:v*")))?;
        self.with(|c| c.set::<_, _, ()>(published_key(view), version))?;
        for key in older {
            let number = key.rsplit(":v").next().and_then(|n| n.parse::<u32>().ok());
            if number.is_some_and(|n| n < version) {
                self.with(|c| c.del::<_, ()>(&key))?;
            }
        }
        Ok(())
    }

    fn get(&self, view: &str, key: &str) -> Result<Option<Value>, Error> {
        let prefix = format!("sluice:{view}:v");
        let text: Option<String> = self.with(|c| {
            self.read
                .key(published_key(view))
                .arg(prefix)
                .arg(key)
                .invoke(c)
        })?;
        text.map(|t| parse(view, key, t)).transpose()
    }

    fn published(&self, view: &str) -> Result<Option<u32>, Error> {
        self.with(|c| c.get(published_key(view)))
    }

    fn entries(&self, view: &str) -> Result<Vec<(String, Value)>, Error> {
        let Some(version) = self.published(view)? else {
            return Ok(Vec::new());
        };
        let all: Vec<(String, String)> = self.with(|c| c.hgetall(version_key(view, version)))?;
        all.into_iter()
            .map(|(k, v)| parse(view, &k, v).map(|v| (k, v)))
            .collect()
    }

    fn remove(&self, view: &str) -> Result<(), Error> {
        let mut keys: Vec<String> = self.with(|c| c.keys(format!("sluice:{view}:v*")))?;
        keys.push(published_key(view));
        self.with(|c| c.del::<_, ()>(&keys))
    }
}
