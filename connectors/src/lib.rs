//! Brokers as sources and sinks: NATS JetStream ([`nats`]) and Redis Streams
//! ([`redis_streams`]), and any broker with ordered, replayable partitions behind the same
//! traits ([`broker`]).
//!
//! - [`BrokerSource`]: every worker reads its share of the partitions, from the positions in
//!   the job's checkpoint — exactly-once reading, as Spark's direct Kafka stream does it;
//! - [`BrokerSink`] / [`PublishTo`]: each epoch appended once its checkpoint is committed, and
//!   appended once however often a restore asks — exactly-once writing;
//! - [`BrokerUrl`]: how the command line names a broker and its stream.
//!
//! The clients live here, not in the engine: the engine knows sources ([`Source`]) and
//! committed sinks ([`Publish`]), and nothing of any broker.
//!
//! [`Source`]: sluice_engine::sources::Source
//! [`Publish`]: sluice_engine::sinks::Publish

pub mod any;
pub mod broker;
pub mod nats;
pub mod redis_streams;
pub mod retry;
pub mod sink;
pub mod source;
pub mod url;

pub use any::AnyBroker;
pub use broker::{Append, Broker, Fetch, Fetched, Message, Positions};
pub use nats::NatsStream;
pub use redis_streams::RedisStreams;
pub use sink::{BrokerSink, PublishTo};
pub use source::BrokerSource;
pub use url::BrokerUrl;
