//! Spark Streaming's `NetworkWordCount`, in Sluice's micro-batch mode: every second, the word
//! counts of the lines received from a TCP server in that second.
//!
//! ```sh
//! nc -lk 9999 &                       # type lines into it
//! cargo run --release --example network_wordcount -- localhost:9999
//! ```

use std::time::Duration;

use sluice::engine::sources::Socket;
use sluice::minibatch::{DStream, Graph, StreamingContext};
use sluice::prelude::Execution;

/// Each batch's word counts of the lines read from `socket`.
pub fn word_counts<'s>(graph: &Graph<'s>, socket: &Socket) -> DStream<'s, (String, u64)> {
    graph
        .source(socket)
        .flat_map(|line| line.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "localhost:9999".into());
    let socket = Socket::new(address)?; // a malformed address is reported here
    let mut ssc = StreamingContext::new(Execution::default().workers(2), Duration::from_secs(1));
    ssc.define(move |graph| word_counts(graph, &socket).print())?;
    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
