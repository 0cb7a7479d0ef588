//! A [`Snapshot`] in Prometheus's text exposition format (version 0.0.4), as served at
//! `/metrics`.
//!
//! Names follow Prometheus's conventions: a `sluice_` prefix, base units (`_seconds`,
//! `_bytes`), `_total` on counters. Labels name operators, channels and sources — never keys or
//! records, so the number of series is fixed by the program, not by the data.
//!
//! ```
//! use sluice_engine::metrics::{prometheus, Snapshot};
//! let text = prometheus::render(&Snapshot { workers: 2, ..Snapshot::default() });
//! assert!(text.contains("# TYPE sluice_workers gauge\nsluice_workers 2\n"));
//! ```

use std::fmt::Write;

use super::Snapshot;

/// The text exposition of `snapshot`.
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = Exposition::default();
    let s = snapshot;
    out.family(
        "sluice_workers",
        "gauge",
        "Worker threads of the job's processes.",
    );
    out.sample("sluice_workers", &[], s.workers as f64);
    out.family(
        "sluice_uptime_seconds",
        "gauge",
        "Seconds since the job started.",
    );
    out.sample("sluice_uptime_seconds", &[], s.uptime_seconds);

    let sources = |out: &mut Exposition, name, help, value: &dyn Fn(usize) -> f64| {
        out.family(name, "counter", help);
        for (i, source) in s.sources.iter().enumerate() {
            out.sample(name, &[("source", &source.name)], value(i));
        }
    };
    sources(
        &mut out,
        "sluice_source_records_total",
        "Records a source emitted into the dataflow.",
        &|i| s.sources[i].records as f64,
    );
    out.family(
        "sluice_source_backlog_records",
        "gauge",
        "Records a source's reader has received and not yet emitted.",
    );
    for source in &s.sources {
        let labels = [("source", source.name.as_str())];
        out.sample(
            "sluice_source_backlog_records",
            &labels,
            source.backlog as f64,
        );
    }
    sources(
        &mut out,
        "sluice_source_backpressured_seconds_total",
        "Seconds a source held back (the dataflow congested or its rate capped), summed over readers.",
        &|i| s.sources[i].backpressured_seconds,
    );

    let addresses: Vec<String> = s.operators.iter().map(|o| address(&o.address)).collect();
    let operators = |out: &mut Exposition, name, kind, help, value: &dyn Fn(usize) -> f64| {
        out.family(name, kind, help);
        for (i, operator) in s.operators.iter().enumerate() {
            let labels = [
                ("operator", operator.name.as_str()),
                ("address", &addresses[i]),
            ];
            out.sample(name, &labels, value(i));
        }
    };
    operators(
        &mut out,
        "sluice_operator_records_in_total",
        "counter",
        "Records an operator took from its inputs.",
        &|i| s.operators[i].records_in as f64,
    );
    operators(
        &mut out,
        "sluice_operator_records_out_total",
        "counter",
        "Records an operator gave to its outputs.",
        &|i| s.operators[i].records_out as f64,
    );
    operators(
        &mut out,
        "sluice_operator_busy_seconds_total",
        "counter",
        "Seconds an operator was scheduled, summed over its instances.",
        &|i| s.operators[i].busy_seconds,
    );
    operators(
        &mut out,
        "sluice_operator_backpressured_seconds_total",
        "counter",
        "Seconds an operator had an output channel over the queue bound, summed over its instances.",
        &|i| s.operators[i].backpressured_seconds,
    );
    operators(
        &mut out,
        "sluice_operator_queued_records",
        "gauge",
        "Records sent to an operator's inputs and not yet taken.",
        &|i| s.queued_into(&s.operators[i].address) as f64,
    );

    operators(
        &mut out,
        "sluice_operator_state_entries",
        "gauge",
        "Entries of state an operator holds, summed over its instances.",
        &|i| s.operators[i].state_entries as f64,
    );
    operators(
        &mut out,
        "sluice_operator_state_bytes",
        "gauge",
        "Bytes of an operator's state in the last checkpoint written, summed over its instances.",
        &|i| s.operators[i].state_bytes as f64,
    );
    let name = "sluice_operator_watermark_seconds";
    out.family(
        name,
        "gauge",
        "An event-time operator's watermark, in seconds of the job clock.",
    );
    for (i, operator) in s.operators.iter().enumerate() {
        if let Some(watermark) = operator.watermark_ms {
            let labels = [
                ("operator", operator.name.as_str()),
                ("address", &addresses[i]),
            ];
            out.sample(name, &labels, watermark as f64 / 1e3);
        }
    }

    if let Some(interval) = s.batch_interval_ms {
        out.family(
            "sluice_batch_interval_seconds",
            "gauge",
            "The batch interval.",
        );
        out.sample("sluice_batch_interval_seconds", &[], interval as f64 / 1e3);
        out.family(
            "sluice_batches_completed_total",
            "counter",
            "Batches completed.",
        );
        out.sample(
            "sluice_batches_completed_total",
            &[],
            s.batches_completed as f64,
        );
        if let Some(last) = s.batches.last() {
            let gauges: [(&str, &str, f64); 4] = [
                (
                    "sluice_batch_last_input_records",
                    "Records in the last completed batch.",
                    last.input_records as f64,
                ),
                (
                    "sluice_batch_last_scheduling_delay_seconds",
                    "The last batch's wait from its batch time until it could start.",
                    last.scheduling_delay_ms as f64 / 1e3,
                ),
                (
                    "sluice_batch_last_processing_seconds",
                    "The last batch's processing time.",
                    last.processing_time_ms as f64 / 1e3,
                ),
                (
                    "sluice_batch_last_total_delay_seconds",
                    "The last batch's batch time to completion.",
                    last.total_delay_ms as f64 / 1e3,
                ),
            ];
            for (name, help, value) in gauges {
                out.family(name, "gauge", help);
                out.sample(name, &[], value);
            }
        }
    }

    let c = &s.checkpoints;
    out.family(
        "sluice_checkpoints_committed_total",
        "counter",
        "Checkpoints committed.",
    );
    out.sample(
        "sluice_checkpoints_committed_total",
        &[],
        c.committed as f64,
    );
    out.family(
        "sluice_checkpoint_written_bytes_total",
        "counter",
        "Bytes of checkpoint parts written.",
    );
    out.sample(
        "sluice_checkpoint_written_bytes_total",
        &[],
        c.bytes_written as f64,
    );
    if c.committed > 0 {
        let gauges: [(&str, &str, f64); 3] = [
            (
                "sluice_checkpoint_last_duration_seconds",
                "The last committed checkpoint's epoch time to commit.",
                c.last_duration_seconds,
            ),
            (
                "sluice_checkpoint_last_bytes",
                "Bytes of the last committed checkpoint.",
                c.last_bytes as f64,
            ),
            (
                "sluice_checkpoint_age_seconds",
                "Seconds since the last checkpoint committed.",
                c.age_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            out.family(name, "gauge", help);
            out.sample(name, &[], value);
        }
    }

    if let (Some(watermark), Some(lag)) = (s.watermark_ms, s.event_time_lag_seconds) {
        out.family(
            "sluice_watermark_seconds",
            "gauge",
            "The lowest event-time watermark, in seconds of the job clock.",
        );
        out.sample("sluice_watermark_seconds", &[], watermark as f64 / 1e3);
        out.family(
            "sluice_event_time_lag_seconds",
            "gauge",
            "How far the watermark is behind the clock.",
        );
        out.sample("sluice_event_time_lag_seconds", &[], lag);
    }
    if !s.latencies.is_empty() {
        let name = "sluice_latency_seconds";
        let help = "Latency the job measures, from a record's send time to its result.";
        out.family(name, "summary", help);
        for l in &s.latencies {
            for (quantile, ms) in [("0.5", l.p50_ms), ("0.99", l.p99_ms), ("0.999", l.p999_ms)] {
                out.sample(name, &[("name", &l.name), ("quantile", quantile)], ms / 1e3);
            }
            let sum = l.mean_ms * l.count as f64 / 1e3;
            out.sample("sluice_latency_seconds_sum", &[("name", &l.name)], sum);
            out.sample(
                "sluice_latency_seconds_count",
                &[("name", &l.name)],
                l.count as f64,
            );
        }
    }
    out.family(
        "sluice_state_entries",
        "gauge",
        "Entries held by windowing and join operators.",
    );
    out.sample("sluice_state_entries", &[], s.state_entries as f64);
    out.family(
        "sluice_malformed_records_total",
        "counter",
        "Malformed records skipped.",
    );
    out.sample(
        "sluice_malformed_records_total",
        &[],
        s.malformed_records as f64,
    );
    out.text
}

/// An operator's address as a label value: `0.3.1`.
pub fn address(address: &[usize]) -> String {
    let parts: Vec<String> = address.iter().map(usize::to_string).collect();
    parts.join(".")
}

#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.text, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
