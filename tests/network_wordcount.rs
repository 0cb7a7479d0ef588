//! The NetworkWordCount and StatefulNetworkWordCount examples end to end: `socket_text_stream`
//! against a local TCP server, with 1-second batches on the system clock.

#[allow(dead_code)]
#[path = "../examples/network_wordcount.rs"]
mod network_wordcount;
#[allow(dead_code)]
#[path = "../examples/stateful_network_wordcount.rs"]
mod stateful_network_wordcount;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice::engine::sources::Socket;
use sluice::minibatch::{Batch, DStream, Graph, StreamingContext};
use sluice::prelude::Execution;

const BURSTS: [&str; 2] = ["a b a\nc\n", "b b\na d\n"];

/// Serves `BURSTS` about 1.2 s apart on one connection, then closes; returns the address.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        for burst in BURSTS {
            conn.write_all(burst.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(1200));
        }
    });
    address
}

/// Runs `pipeline` on 2 workers with 1 s batches until the server is done; every batch.
fn run(
    pipeline: for<'s> fn(&Graph<'s>, &Socket) -> DStream<'s, (String, u64)>,
) -> Vec<Batch<(String, u64)>> {
    let _turn = sluice::minibatch::testing::exclusive();
    let socket = Socket::new(serve())
        .unwrap()
        .retry_window(Duration::from_millis(300));
    let batches = Arc::new(Mutex::new(Vec::new()));
    let sink = batches.clone();
    let mut ssc = StreamingContext::new(Execution::default().workers(2), Duration::from_secs(1));
    let checkpoint = tempfile::tempdir().unwrap();
    ssc.checkpoint(checkpoint.path()).unwrap();
    ssc.define(move |graph| {
        let sink = sink.clone();
        pipeline(graph, &socket).foreach_rdd(move |batch| sink.lock().unwrap().push(batch));
    })
    .unwrap();
    ssc.start().unwrap();
    ssc.await_termination().unwrap();
    let batches = batches.lock().unwrap().clone();
    batches
}

fn reference() -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in BURSTS.concat().split_whitespace() {
        *counts.entry(word.to_string()).or_default() += 1;
    }
    counts
}

#[test]
fn network_word_count_counts_each_second_of_input() {
    let batches = run(network_wordcount::word_counts);
    assert!(batches.len() >= 2, "one batch per second: {batches:?}");
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for batch in &batches {
        assert_eq!(
            batch.time() % 1000,
            0,
            "batch times are multiples of the interval"
        );
        for (word, n) in batch.iter() {
            *total.entry(word.clone()).or_default() += n;
        }
    }
    assert_eq!(total, reference());
    let nonempty = batches.iter().filter(|b| !b.is_empty()).count();
    assert!(
        nonempty >= 2,
        "the two bursts land in different batches: {batches:?}"
    );
}

#[test]
fn stateful_network_word_count_keeps_running_totals() {
    let batches = run(stateful_network_wordcount::running_counts);
    let last: BTreeMap<String, u64> = batches.last().unwrap().iter().cloned().collect();
    assert_eq!(last, reference());
    let first_with_data = batches.iter().find(|b| !b.is_empty()).unwrap();
    let early: BTreeMap<String, u64> = first_with_data.iter().cloned().collect();
    assert_eq!(early.get("a"), Some(&2), "after the first burst: {early:?}");
}
