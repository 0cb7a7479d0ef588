//! Redis Streams as a [`Broker`]: each stream key is a partition, each entry's ID its position.
//!
//! A line is an entry with one field, `line`. Readers use `XREAD` (blocking while following)
//! from the ID after which they stopped; the end as of opening is each key's last entry ID.
//! [`Append::append_epoch`] runs one server-side script per chunk of an epoch: it appends the
//! chunk only if the writer's guard — a field `JOB/WRITER` of the hash `KEY:sluice-published`
//! holding the last `EPOCH CHUNK` appended — is below it, and moves the guard in the same
//! script. A script runs whole or not at all, so a crash between two chunks leaves the guard at
//! the last chunk appended, and the replay appends exactly the rest. This is exactly-once as
//! far as Redis keeps what it acknowledged (`appendonly yes` with `appendfsync always` to
//! survive a power cut; a server restarted without persistence has lost the stream anyway).
//!
//! ```no_run
//! use sluice_connectors::{Broker, RedisStreams};
//! let redis = RedisStreams::new("127.0.0.1:6379", vec!["lines".into()]);
//! redis.appender().unwrap().append(&["a b".into(), "b".into()]).unwrap();
//! ```

use std::time::Duration;

use redis::{Connection, Script, Value};

use crate::broker::{Append, Broker, Fetch, Fetched, Message, Positions};
use crate::retry::Retry;
use sluice_engine::Error;

/// The field of an entry that holds its line.
pub const FIELD: &str = "line";
/// Lines per `append_epoch` script call: large epochs are appended in chunks of this many.
const CHUNK: usize = 4096;

/// Redis Streams keys on one server; see the module docs.
#[derive(Clone, Debug)]
pub struct RedisStreams {
    address: String,
    keys: Vec<String>,
}

impl RedisStreams {
    /// The stream `keys` on the server at `address` (`HOST:PORT`); the first is written to.
    pub fn new(address: &str, keys: Vec<String>) -> Self {
        RedisStreams {
            address: address.to_string(),
            keys,
        }
    }

    fn url(&self) -> String {
        format!("redis://{}/{}", self.address, self.keys.join(","))
    }

    fn connect(&self) -> Result<Connection, Error> {
        let failed = |e: redis::RedisError| Error::Connect {
            address: self.url(),
            reason: e.to_string(),
            waited_ms: 0,
        };
        let client = redis::Client::open(format!("redis://{}", self.address)).map_err(failed)?;
        let timeout = Some(Duration::from_secs(5));
        let connection = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(failed)?;
        connection.set_write_timeout(timeout).map_err(failed)?;
        Ok(connection)
    }

    fn error(&self, e: redis::RedisError) -> Error {
        Error::Operator(format!("{}: {e}", self.url()))
    }
}

impl Broker for RedisStreams {
    fn partitions(&self) -> Result<Vec<String>, Error> {
        let mut connection = self.connect()?;
        for key in &self.keys {
            let kind: String = redis::cmd("TYPE")
                .arg(key)
                .query(&mut connection)
                .map_err(|e| self.error(e))?;
            match kind.as_str() {
                "stream" => {}
                "none" => {
                    return Err(Error::Config(format!(
                    "{}: no stream {key:?} on the server (push to it first: sluice broker push)",
                    self.url()
                )))
                }
                other => {
                    return Err(Error::Config(format!(
                        "{}: {key:?} is a {other}, not a stream",
                        self.url()
                    )))
                }
            }
        }
        Ok(self.keys.clone())
    }

    fn reader(
        &self,
        partitions: &[String],
        from: &Positions,
        follow: bool,
    ) -> Result<Box<dyn Fetch>, Error> {
        let mut connection = self.connect()?;
        let mut ends = Vec::new();
        for key in partitions {
            // The last entry now: a key with none ends at once.
            let last: Value = redis::cmd("XREVRANGE")
                .arg(key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query(&mut connection)
                .map_err(|e| self.error(e))?;
            let end = entries(&last)
                .map_err(|reason| self.malformed_reply(&reason))?
                .first()
                .map_or(Ok(EntryId::ZERO), |(id, _)| parse_id(id))
                .map_err(|reason| self.malformed_reply(&reason))?;
            ends.push(end);
        }
        let positions = partitions
            .iter()
            .map(|key| match from.get(key) {
                Some(id) => parse_id(id.as_bytes()).map_err(|reason| {
                    Error::Config(format!(
                        "{}: saved position of {key:?}: {reason}",
                        self.url()
                    ))
                }),
                None => Ok(EntryId::ZERO),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(RedisReader {
            redis: self.clone(),
            connection: Some(connection),
            keys: partitions.to_vec(),
            positions,
            ends: (!follow).then_some(ends),
            retry: Retry::new(),
        }))
    }

    /// The first key, created empty if missing (as NATS streams are), so that a job can
    /// start reading it before anything is appended.
    fn appender(&self) -> Result<Box<dyn Append>, Error> {
        let mut connection = self.connect()?;
        let key = &self.keys[0];
        // A server that does not answer at all was reported by `connect`. One that answers but
        // is still loading its data is waited for, and one that drops the connection (a
        // restart) is connected to again, with backoff, within the retry window.
        let mut retry = Retry::new();
        loop {
            match ensure_stream(&mut connection, key) {
                Ok(()) => break,
                Err(e) if transient(&e) => {
                    retry.failed(&self.url(), &e.to_string())?;
                    if e.is_io_error() {
                        connection = retry.again(&self.url(), || self.connect())?;
                    }
                }
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(Box::new(RedisAppender {
            connection: Some(connection),
            key: self.keys[0].clone(),
            redis: self.clone(),
            script: Script::new(APPEND_EPOCH),
            retry: Retry::new(),
        }))
    }
}

impl std::fmt::Display for RedisStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

impl RedisStreams {
    fn malformed_reply(&self, reason: &str) -> Error {
        Error::Operator(format!("{}: unexpected reply: {reason}", self.url()))
    }
}

/// Creates `key` as an empty stream if it is missing: an entry trimmed away at once.
fn ensure_stream(connection: &mut Connection, key: &str) -> redis::RedisResult<()> {
    let exists: bool = redis::cmd("EXISTS").arg(key).query(connection)?;
    if !exists {
        redis::cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg(0)
            .arg("*")
            .arg(FIELD)
            .arg("")
            .query::<()>(connection)?;
    }
    Ok(())
}

/// Whether `error` may pass if tried again: the connection was lost or refused, or the server
/// is still loading its data after a restart.
fn transient(error: &redis::RedisError) -> bool {
    use redis::ErrorKind;
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::BusyLoadingError | ErrorKind::TryAgain | ErrorKind::MasterDown
        )
}

/// An entry ID, `MS-SEQ`, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct EntryId(u64, u64);

impl EntryId {
    const ZERO: EntryId = EntryId(0, 0);
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

fn parse_id(text: &[u8]) -> Result<EntryId, String> {
    let text = std::str::from_utf8(text).map_err(|_| "an entry ID is not text".to_string())?;
    let (ms, seq) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?} is not an entry ID (MS-SEQ)"))?;
    match (ms.parse(), seq.parse()) {
        (Ok(ms), Ok(seq)) => Ok(EntryId(ms, seq)),
        _ => Err(format!("{text:?} is not an entry ID (MS-SEQ)")),
    }
}

/// An entry of a reply: its ID and its fields and values, alternating.
type Entry<'a> = (&'a [u8], &'a [Value]);

/// The entries of an `XRANGE`-shaped reply: `[[id, [field, value, ...]], ...]`.
fn entries(reply: &Value) -> Result<Vec<Entry<'_>>, String> {
    let Value::Array(items) = reply else {
        return match reply {
            Value::Nil => Ok(Vec::new()),
            other => Err(format!("expected entries, got {other:?}")),
        };
    };
    items
        .iter()
        .map(|item| match item {
            Value::Array(pair) => match pair.as_slice() {
                [Value::BulkString(id), Value::Array(fields)] => Ok((id.as_slice(), &fields[..])),
                [Value::BulkString(id), Value::Nil] => Ok((id.as_slice(), &[][..])),
                _ => Err(format!("expected an entry, got {pair:?}")),
            },
            other => Err(format!("expected an entry, got {other:?}")),
        })
        .collect()
}

/// The value of the field `line` of an entry, if it has one.
fn line_of(fields: &[Value]) -> Option<Vec<u8>> {
    fields.chunks(2).find_map(|pair| match pair {
        [Value::BulkString(name), Value::BulkString(value)] if name == FIELD.as_bytes() => {
            Some(value.clone())
        }
        _ => None,
    })
}

struct RedisReader {
    redis: RedisStreams,
    /// `None` after an error, until reconnected.
    connection: Option<Connection>,
    keys: Vec<String>,
    positions: Vec<EntryId>,
    /// Each key's last entry as of opening, unless following.
    ends: Option<Vec<EntryId>>,
    retry: Retry,
}

impl RedisReader {
    /// Indices of the keys still to be read.
    fn open_keys(&self) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|&k| {
                self.ends
                    .as_ref()
                    .is_none_or(|ends| self.positions[k] < ends[k])
            })
            .collect()
    }
}

impl Fetch for RedisReader {
    fn fetch(
        &mut self,
        max: usize,
        wait: Duration,
        out: &mut Vec<Message>,
    ) -> Result<Fetched, Error> {
        let open = self.open_keys();
        if open.is_empty() {
            return Ok(Fetched::Done);
        }
        let mut command = redis::cmd("XREAD");
        command.arg("COUNT").arg(max.max(1));
        // Block only when following: reading to an end, what is there is read at once.
        if self.ends.is_none() {
            command.arg("BLOCK").arg(wait.as_millis().max(1) as u64);
        }
        command.arg("STREAMS");
        for &k in &open {
            command.arg(&self.keys[k]);
        }
        for &k in &open {
            command.arg(self.positions[k].to_string());
        }
        let connection = match self.connection.as_mut() {
            Some(connection) => connection,
            None => {
                let redis = &self.redis;
                self.connection = Some(self.retry.again(&redis.url(), || redis.connect())?);
                self.connection.as_mut().expect("just connected")
            }
        };
        let reply: Value = match command.query(connection) {
            Ok(reply) => reply,
            Err(e) if transient(&e) => {
                self.connection = None;
                self.retry.failed(&self.redis.url(), &e.to_string())?;
                return Ok(Fetched::More);
            }
            Err(e) => return Err(self.redis.error(e)),
        };
        self.retry.succeeded();
        let streams: &[Value] = match &reply {
            Value::Array(streams) => streams,
            // Nothing after the positions: reading to an end, everything up to it has been
            // read (entries deleted since opening would otherwise be waited for forever).
            Value::Nil if self.ends.is_some() => {
                self.positions = self.ends.clone().expect("reading to an end");
                return Ok(Fetched::Done);
            }
            Value::Nil => &[],
            other => {
                return Err(self
                    .redis
                    .malformed_reply(&format!("expected streams, got {other:?}")))
            }
        };
        for stream in streams {
            let (key, items) = match stream {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::BulkString(key), items] => (key, items),
                    _ => return Err(self.redis.malformed_reply("expected [key, entries]")),
                },
                _ => return Err(self.redis.malformed_reply("expected [key, entries]")),
            };
            let Some(k) = self.keys.iter().position(|name| name.as_bytes() == key) else {
                continue;
            };
            for (id, fields) in entries(items).map_err(|r| self.redis.malformed_reply(&r))? {
                let id = parse_id(id).map_err(|r| self.redis.malformed_reply(&r))?;
                if let Some(ends) = &self.ends {
                    if id > ends[k] {
                        // Appended after opening: not this run's. Everything up to the end
                        // has been read (even if the last entry was deleted since).
                        self.positions[k] = self.positions[k].max(ends[k]);
                        break;
                    }
                }
                self.positions[k] = id;
                out.push(Message {
                    partition: k,
                    position: id.to_string(),
                    // An entry without a `line` field is malformed: an empty payload that is
                    // not UTF-8 would be dropped silently, so mark it with an invalid byte.
                    payload: line_of(fields).unwrap_or_else(|| vec![0xff]),
                });
            }
        }
        Ok(if self.open_keys().is_empty() {
            Fetched::Done
        } else {
            Fetched::More
        })
    }
}

/// Appends `ARGV[3..]` to `KEYS[1]` unless the guard field `ARGV[1]` of the hash `KEYS[2]`
/// says this epoch and chunk (`ARGV[2]`, "EPOCH CHUNK") were appended; then moves the guard.
const APPEND_EPOCH: &str = r"
local at = redis.call('HGET', KEYS[2], ARGV[1])
local epoch, chunk = string.match(ARGV[2], '^(%d+) (%d+)$')
epoch, chunk = tonumber(epoch), tonumber(chunk)
if at then
  local e, c = string.match(at, '^(%d+) (%d+)$')
  e, c = tonumber(e), tonumber(c)
  if epoch < e or (epoch == e and chunk <= c) then return 0 end
end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'line', ARGV[i])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return #ARGV - 2
";

struct RedisAppender {
    redis: RedisStreams,
    connection: Option<Connection>,
    key: String,
    script: Script,
    retry: Retry,
}

impl RedisAppender {
    /// Runs `command` on the connection, reconnecting with backoff after a connection error.
    fn with_retry<T>(
        &mut self,
        mut command: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        loop {
            if self.connection.is_none() {
                let redis = &self.redis;
                self.connection = Some(self.retry.again(&redis.url(), || redis.connect())?);
            }
            let connection = self.connection.as_mut().expect("connected");
            match command(connection) {
                Ok(value) => {
                    self.retry.succeeded();
                    return Ok(value);
                }
                Err(e) if transient(&e) => {
                    self.connection = None;
                    self.retry.failed(&self.redis.url(), &e.to_string())?;
                }
                Err(e) => return Err(self.redis.error(e)),
            }
        }
    }
}

impl Append for RedisAppender {
    fn append(&mut self, lines: &[String]) -> Result<(), Error> {
        let key = self.key.clone();
        for chunk in lines.chunks(CHUNK) {
            // Not idempotent: a retry after a dropped connection may append a chunk twice.
            self.with_retry(|connection| {
                let mut pipe = redis::pipe();
                for line in chunk {
                    pipe.cmd("XADD")
                        .arg(&key)
                        .arg("*")
                        .arg(FIELD)
                        .arg(line)
                        .ignore();
                }
                pipe.query::<()>(connection)
            })?;
        }
        Ok(())
    }

    fn append_epoch(
        &mut self,
        job: &str,
        writer: usize,
        epoch: u64,
        lines: &[String],
    ) -> Result<(), Error> {
        let guard = format!("{}:sluice-published", self.key);
        let field = format!("{job}/{writer}");
        let key = self.key.clone();
        let script = self.script.clone();
        for (index, chunk) in lines.chunks(CHUNK).enumerate() {
            self.with_retry(|connection| {
                let mut invocation = script.key(&key);
                invocation
                    .key(&guard)
                    .arg(&field)
                    .arg(format!("{epoch} {index}"));
                for line in chunk {
                    invocation.arg(line);
                }
                invocation.invoke::<u64>(connection)
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_order_as_redis_orders_them() {
        let ids = ["0-0", "0-1", "1-0", "9-99", "10-0", "1700000000000-3"];
        let parsed: Vec<EntryId> = ids
            .iter()
            .map(|i| parse_id(i.as_bytes()).unwrap())
            .collect();
        assert!(parsed.windows(2).all(|w| w[0] < w[1]));
        for (text, id) in ids.iter().zip(&parsed) {
            assert_eq!(&id.to_string(), text);
        }
        for bad in [
            "",
            "1",
            "-1",
            "a-b",
            "1-",
            "1-2-3",
            "18446744073709551616-0",
        ] {
            assert!(parse_id(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
