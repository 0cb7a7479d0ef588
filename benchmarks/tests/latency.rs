//! The latency harness delivers exactly what a plain loop over the sent lines expects, for every
//! workload, in both modes, on 1 and 2 workers — and measures every output after the warm-up.

use sluice_bench::latency::{run_once, LatencyConfig, Live};
use sluice_jobs::Mode;
use sluice_jobs::Workload;
use sluice_minibatch::testing::exclusive;

fn small(workload: Workload, mode: Mode, workers: usize) -> LatencyConfig {
    LatencyConfig {
        workers,
        seconds: 0.5,
        warmup: 0.2,
        ..LatencyConfig::new(workload, mode, 2000.0)
    }
}

#[test]
fn every_workload_delivers_every_output_in_both_modes() {
    let _turn = exclusive(); // micro-batch runs start a StreamingContext
    for name in Workload::NAMES {
        for mode in [Mode::Native, Mode::MicroBatch { interval_ms: 50 }] {
            for workers in [1, 2] {
                // Windowed workloads get 200 ms windows, so that runs stay short.
                let workload = Workload::named(name).unwrap().with_window(200);
                let config = small(workload, mode, workers);
                let run = run_once(&config, &Live::default()).unwrap();
                let what = format!("{name} {mode} on {workers} workers: {run:?}");
                assert_eq!(run.lines_sent, 1000, "{what}");
                assert!(run.complete(), "{what}");
                assert!(run.outputs_expected > 0, "{what}");
                // Warm-up outputs are delivered but not measured; the rest all are.
                assert!(
                    run.measured > 0 && run.measured < run.outputs_seen,
                    "{what}"
                );
            }
        }
    }
}

#[test]
fn a_batch_is_measured_when_it_is_complete() {
    let _turn = exclusive();
    let interval_ms = 200;
    let config = LatencyConfig {
        seconds: 1.0,
        warmup: 0.0,
        ..small(Workload::WordCount, Mode::MicroBatch { interval_ms }, 2)
    };
    let run = run_once(&config, &Live::default()).unwrap();
    assert!(run.complete(), "{run:?}");
    // A record waits for the end of its batch: over evenly spread arrivals, half of them wait at
    // least half an interval, and none is visible before its batch could close.
    assert!(
        run.latency_ms.p50 >= interval_ms as f64 / 2.0 * 0.8,
        "p50 {} ms with {interval_ms} ms batches",
        run.latency_ms.p50
    );
}
