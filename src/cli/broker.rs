//! `sluice broker push|tail URL`: a broker's stream from the shell, as the jobs see it.

use std::io::BufRead;
use std::time::Duration;

use clap::Subcommand;
use sluice::connectors::{AnyBroker, Broker, BrokerUrl, Fetched, Positions};

use super::flags;
use super::out::outln;
use super::signals::on_stop_signal;

/// Lines appended per call while pushing.
const PUSH_BATCH: usize = 4096;

/// Broker commands.
#[derive(Subcommand, Debug)]
pub enum BrokerCommand {
    /// Append the lines of standard input, one message each (creating the stream if missing).
    Push {
        /// nats://HOST:PORT/STREAM[/SUBJECT] or redis://HOST:PORT/KEY (the first key if several).
        #[arg(value_parser = flags::broker_url)]
        url: BrokerUrl,
    },
    /// Print the messages' payloads, oldest first; with --follow, keep printing new ones.
    Tail {
        /// nats://HOST:PORT/STREAM[/SUBJECT] or redis://HOST:PORT/KEY[,KEY...].
        #[arg(value_parser = flags::broker_url)]
        url: BrokerUrl,
        /// Keep printing new messages until Ctrl-C or SIGTERM.
        #[arg(long)]
        follow: bool,
    },
}

/// Runs a broker command.
pub fn broker(command: BrokerCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        BrokerCommand::Push { url } => push(&url),
        BrokerCommand::Tail { url, follow } => tail(&url, follow),
    }
}

fn push(url: &BrokerUrl) -> Result<(), Box<dyn std::error::Error>> {
    let mut appender = AnyBroker::of(url).appender()?;
    let mut batch = Vec::with_capacity(PUSH_BATCH);
    let mut pushed = 0u64;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
        batch.push(line);
        if batch.len() == PUSH_BATCH {
            appender.append(&batch)?;
            pushed += batch.len() as u64;
            batch.clear();
        }
    }
    appender.append(&batch)?;
    pushed += batch.len() as u64;
    eprintln!("sluice: pushed {pushed} line(s) to {url}");
    Ok(())
}

fn tail(url: &BrokerUrl, follow: bool) -> Result<(), Box<dyn std::error::Error>> {
    let broker = AnyBroker::of(url);
    let partitions = broker.partitions()?;
    let mut reader = broker.reader(&partitions, &Positions::new(), follow)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    on_stop_signal(move || stopped.store(true, std::sync::atomic::Ordering::SeqCst));
    let mut messages = Vec::new();
    let mut malformed = 0u64;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let fetched = reader.fetch(PUSH_BATCH, Duration::from_millis(100), &mut messages)?;
        for message in messages.drain(..) {
            match std::str::from_utf8(&message.payload) {
                Ok(line) => outln!("{line}"),
                Err(_) => malformed += 1,
            }
        }
        if fetched == Fetched::Done {
            break;
        }
    }
    if malformed > 0 {
        eprintln!("sluice: {malformed} message(s) skipped: not UTF-8 text lines");
    }
    Ok(())
}
