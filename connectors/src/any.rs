//! The broker a URL names, chosen at run time: what the command line reads from and writes to.

use crate::broker::{Append, Broker, Fetch, Positions};
use crate::nats::NatsStream;
use crate::redis_streams::RedisStreams;
use crate::url::BrokerUrl;
use sluice_engine::Error;

/// Any of the brokers Sluice connects to, as its URL named it.
#[derive(Clone, Debug)]
pub enum AnyBroker {
    /// Redis Streams.
    Redis(RedisStreams),
    /// NATS JetStream.
    Nats(NatsStream),
}

impl AnyBroker {
    /// The broker `url` names (not yet connected).
    pub fn of(url: &BrokerUrl) -> Self {
        match url {
            BrokerUrl::Redis { address, keys } => {
                AnyBroker::Redis(RedisStreams::new(address, keys.clone()))
            }
            BrokerUrl::Nats {
                address,
                stream,
                subject,
            } => AnyBroker::Nats(NatsStream::new(address, stream, subject.as_deref())),
        }
    }

    fn broker(&self) -> &dyn DynBroker {
        match self {
            AnyBroker::Redis(redis) => redis,
            AnyBroker::Nats(nats) => nats,
        }
    }
}

/// [`Broker`] without `Clone`, so that [`AnyBroker`] can delegate through one reference.
trait DynBroker {
    fn partitions(&self) -> Result<Vec<String>, Error>;
    fn reader(
        &self,
        partitions: &[String],
        from: &Positions,
        follow: bool,
    ) -> Result<Box<dyn Fetch>, Error>;
    fn appender(&self) -> Result<Box<dyn Append>, Error>;
    fn name(&self) -> String;
}

impl<B: Broker> DynBroker for B {
    fn partitions(&self) -> Result<Vec<String>, Error> {
        Broker::partitions(self)
    }
    fn reader(
        &self,
        partitions: &[String],
        from: &Positions,
        follow: bool,
    ) -> Result<Box<dyn Fetch>, Error> {
        Broker::reader(self, partitions, from, follow)
    }
    fn appender(&self) -> Result<Box<dyn Append>, Error> {
        Broker::appender(self)
    }
    fn name(&self) -> String {
        self.to_string()
    }
}

impl std::fmt::Display for AnyBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.broker().name())
    }
}

impl Broker for AnyBroker {
    fn partitions(&self) -> Result<Vec<String>, Error> {
        self.broker().partitions()
    }
    fn reader(
        &self,
        partitions: &[String],
        from: &Positions,
        follow: bool,
    ) -> Result<Box<dyn Fetch>, Error> {
        self.broker().reader(partitions, from, follow)
    }
    fn appender(&self) -> Result<Box<dyn Append>, Error> {
        self.broker().appender()
    }
}
