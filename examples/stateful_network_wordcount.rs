//! Spark Streaming's `StatefulNetworkWordCount`: the running count of every word received from
//! a TCP server so far, updated every second with `update_state_by_key`.
//!
//! ```sh
//! nc -lk 9999 &                       # type lines into it
//! cargo run --release --example stateful_network_wordcount -- localhost:9999
//! ```

use std::time::Duration;

use sluice::engine::sources::Socket;
use sluice::minibatch::{DStream, Graph, StreamingContext};
use sluice::prelude::Execution;

/// The running count of every word read from `socket`, as of each batch.
pub fn running_counts<'s>(graph: &Graph<'s>, socket: &Socket) -> DStream<'s, (String, u64)> {
    graph
        .source(socket)
        .flat_map(|line| line.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|word| (word, 1u64))
        .update_state_by_key(|values: Vec<u64>, count: Option<u64>| {
            Some(count.unwrap_or(0) + values.iter().sum::<u64>())
        })
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:9999".into());
    let socket = Socket::new(address)?;
    let mut ssc = StreamingContext::new(Execution::default().workers(2), Duration::from_secs(1));
    ssc.checkpoint(std::env::temp_dir().join("sluice-stateful-network-wordcount"))?;
    ssc.define(move |graph| running_counts(graph, &socket).print())?;
    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
