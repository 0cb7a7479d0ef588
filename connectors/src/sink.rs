//! A stream published to a broker, exactly once across crashes and restores.
//!
//! Built on the engine's committed sink ([`Sinks::publish`]): each epoch's lines are staged in
//! the checkpoint and appended once the checkpoint is committed, through
//! [`Append::append_epoch`](crate::Append::append_epoch), which appends an epoch of a writer
//! once however often a restore asks. What a reader of the broker sees:
//!
//! | failure | with `--checkpoint-dir` | without |
//! |---|---|---|
//! | the job is killed and restarted | every line once | the lines of the epochs published before the kill, and the new run's |
//! | the broker restarts (keeping its data) | every line once; the job pauses and reconnects | the same |
//! | the broker loses its data | what it lost is lost | the same |
//!
//! Lines appear when their checkpoint is committed (the checkpoint interval, as with Flink's
//! exactly-once Kafka sink), or every `every_ms` without checkpoints.

use std::fmt::Display;

use sluice_engine::prelude::*;
use sluice_engine::sinks::Publish;
use sluice_engine::Error;

use crate::broker::{Append, Broker};

/// Where and as what a stream is published; see the module docs.
#[derive(Clone, Debug)]
pub struct BrokerSink<B> {
    broker: B,
    job: String,
    every_ms: u64,
}

impl<B: Broker> BrokerSink<B> {
    /// Publishes to `broker` as the job `job`: a name that stays the same across the restarts
    /// of one job (its checkpoint directory, say) and differs between jobs, since the broker
    /// remembers per job and writer which epochs it has appended. Checks the broker answers.
    pub fn open(broker: B, job: &str) -> Result<Self, Error> {
        broker.appender()?;
        Ok(BrokerSink {
            broker,
            job: job.to_string(),
            every_ms: 100,
        })
    }

    /// Without checkpoints, publishes every `ms` (default 100).
    pub fn every_ms(mut self, ms: u64) -> Self {
        self.every_ms = ms.max(1);
        self
    }
}

/// Publishing a stream to a broker.
pub trait PublishTo {
    /// Publishes every record, as a line, through `sink` (see the module docs).
    fn publish_to<B: Broker>(self, sink: &BrokerSink<B>);
}

impl<D: Display + 'static> PublishTo for Stream<'_, D> {
    fn publish_to<B: Broker>(self, sink: &BrokerSink<B>) {
        let sink = sink.clone();
        let every = sink.every_ms;
        self.publish("BrokerSink", every, move |_| {
            Ok(EpochAppender {
                appender: sink.broker.appender()?,
                job: sink.job,
            })
        });
    }
}

/// One worker's appender, as the committed sink's [`Publish`]er.
struct EpochAppender {
    appender: Box<dyn Append>,
    job: String,
}

impl Publish for EpochAppender {
    fn publish(&mut self, writer: usize, epoch: Time, lines: &[String]) -> Result<(), Error> {
        self.appender.append_epoch(&self.job, writer, epoch, lines)
    }
}
