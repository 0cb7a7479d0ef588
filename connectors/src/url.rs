//! How a broker is named on the command line and in code: one URL says which broker, where,
//! and which stream.
//!
//! - `nats://HOST:PORT/STREAM[/SUBJECT]`: a JetStream stream. Reading takes every subject of
//!   the stream (or only SUBJECT); writing publishes to SUBJECT, by default `STREAM` itself.
//! - `redis://HOST:PORT/KEY[,KEY...]`: one or more Redis Streams. Reading takes every key;
//!   writing appends to the first.
//!
//! ```
//! use sluice_connectors::BrokerUrl;
//! let url: BrokerUrl = "redis://127.0.0.1:6379/lines-a,lines-b".parse().unwrap();
//! assert_eq!(url.to_string(), "redis://127.0.0.1:6379/lines-a,lines-b");
//! assert!("kafka://h:1/t".parse::<BrokerUrl>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

/// A broker and the stream(s) on it; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BrokerUrl {
    /// A NATS JetStream stream, optionally one subject of it.
    Nats {
        /// `HOST:PORT`.
        address: String,
        /// The stream's name.
        stream: String,
        /// The subject read (all of the stream's if none) and written (the stream's name if none).
        subject: Option<String>,
    },
    /// One or more Redis Streams keys.
    Redis {
        /// `HOST:PORT`.
        address: String,
        /// The stream keys, at least one.
        keys: Vec<String>,
    },
}

impl BrokerUrl {
    /// `HOST:PORT` of the broker.
    pub fn address(&self) -> &str {
        match self {
            BrokerUrl::Nats { address, .. } | BrokerUrl::Redis { address, .. } => address,
        }
    }
}

impl BrokerUrl {
    /// `n` partitions to write to, one URL each: Redis, the keys `KEY.0 … KEY.n-1` (or, when
    /// several keys are named, those); NATS, the subjects `SUBJECT.0 … SUBJECT.n-1` of the
    /// stream (`SUBJECT` defaulting to the stream's name). One partition is the URL itself.
    ///
    /// ```
    /// use sluice_connectors::BrokerUrl;
    /// let url: BrokerUrl = "nats://127.0.0.1:4222/LOAD".parse().unwrap();
    /// let parts: Vec<String> = url.split(2).iter().map(|u| u.to_string()).collect();
    /// assert_eq!(parts, ["nats://127.0.0.1:4222/LOAD/LOAD.0", "nats://127.0.0.1:4222/LOAD/LOAD.1"]);
    /// ```
    pub fn split(&self, n: usize) -> Vec<BrokerUrl> {
        match self {
            BrokerUrl::Redis { address, keys } if keys.len() > 1 || n <= 1 => keys
                .iter()
                .map(|key| BrokerUrl::Redis {
                    address: address.clone(),
                    keys: vec![key.clone()],
                })
                .collect(),
            BrokerUrl::Redis { address, keys } => (0..n)
                .map(|i| BrokerUrl::Redis {
                    address: address.clone(),
                    keys: vec![format!("{}.{i}", keys[0])],
                })
                .collect(),
            BrokerUrl::Nats { .. } if n <= 1 => vec![self.clone()],
            BrokerUrl::Nats {
                address,
                stream,
                subject,
            } => {
                let base = subject.as_deref().unwrap_or(stream);
                (0..n)
                    .map(|i| BrokerUrl::Nats {
                        address: address.clone(),
                        stream: stream.clone(),
                        subject: Some(format!("{base}.{i}")),
                    })
                    .collect()
            }
        }
    }

    /// The URL that reads what [`split`](Self::split)`(n)` writes: every partition.
    pub fn joined(&self, n: usize) -> BrokerUrl {
        match self {
            BrokerUrl::Redis { address, .. } => BrokerUrl::Redis {
                address: address.clone(),
                keys: self
                    .split(n)
                    .into_iter()
                    .flat_map(|url| match url {
                        BrokerUrl::Redis { keys, .. } => keys,
                        BrokerUrl::Nats { .. } => Vec::new(),
                    })
                    .collect(),
            },
            BrokerUrl::Nats {
                address, stream, ..
            } if n > 1 => BrokerUrl::Nats {
                address: address.clone(),
                stream: stream.clone(),
                subject: None,
            },
            BrokerUrl::Nats { .. } => self.clone(),
        }
    }
}

impl FromStr for BrokerUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "{url:?}: {why} (expected nats://HOST:PORT/STREAM[/SUBJECT] or redis://HOST:PORT/KEY[,KEY...])"
            )
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (address, path) = rest.split_once('/').ok_or_else(|| bad("no stream named"))?;
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| bad("the address needs HOST:PORT"))?;
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad(
                "the address needs HOST:PORT with a port from 1 to 65535",
            ));
        }
        let address = address.to_string();
        let name_ok = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | ',' | '*' | '>'))
        };
        match scheme {
            "nats" => {
                let (stream, subject) = match path.split_once('/') {
                    Some((stream, subject)) => (stream, Some(subject)),
                    None => (path, None),
                };
                if !name_ok(stream) || stream.contains('.') {
                    return Err(bad("a stream name is letters, digits, '-' or '_'"));
                }
                if let Some(subject) = subject {
                    let tokens_ok = subject.split('.').all(|t| !t.is_empty())
                        && subject.chars().all(|c| c.is_ascii_graphic() && c != '/');
                    if !tokens_ok {
                        return Err(bad("a subject is dot-separated tokens"));
                    }
                }
                Ok(BrokerUrl::Nats {
                    address,
                    stream: stream.to_string(),
                    subject: subject.map(str::to_string),
                })
            }
            "redis" => {
                let keys: Vec<String> = path.split(',').map(str::to_string).collect();
                if !keys.iter().all(|k| name_ok(k)) {
                    return Err(bad("keys are non-empty, comma-separated"));
                }
                let mut distinct = keys.clone();
                distinct.sort();
                distinct.dedup();
                if distinct.len() != keys.len() {
                    return Err(bad("a key is named twice"));
                }
                Ok(BrokerUrl::Redis { address, keys })
            }
            _ => Err(bad(&format!("unknown scheme {scheme:?}"))),
        }
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerUrl::Nats {
                address,
                stream,
                subject,
            } => {
                write!(f, "nats://{address}/{stream}")?;
                match subject {
                    Some(subject) => write!(f, "/{subject}"),
                    None => Ok(()),
                }
            }
            BrokerUrl::Redis { address, keys } => {
                write!(f, "redis://{address}/{}", keys.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_back() {
        for url in [
            "nats://127.0.0.1:4222/LINES",
            "nats://localhost:4222/LINES/lines.in",
            "redis://127.0.0.1:6379/a",
            "redis://127.0.0.1:6379/a,b,c",
        ] {
            assert_eq!(url.parse::<BrokerUrl>().unwrap().to_string(), url);
        }
    }

    #[test]
    fn refuses_malformed_urls_naming_them() {
        for url in [
            "",
            "nats://",
            "nats://h:4222",
            "nats://h:4222/",
            "nats://h/LINES",
            "nats://h:0/LINES",
            "nats://h:99999/LINES",
            "nats://:4222/LINES",
            "nats://h:4222/A.B",
            "nats://h:4222/S/a..b",
            "redis://h:6379/",
            "redis://h:6379/a,,b",
            "redis://h:6379/a,a",
            "kafka://h:9092/t",
            "h:4222/LINES",
        ] {
            let error = url.parse::<BrokerUrl>().unwrap_err();
            assert!(error.contains(&format!("{url:?}")), "{error}");
        }
    }
}
