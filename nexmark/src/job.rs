//! Running a query: events in (the generator, or given events for tests), the query's dataflow
//! in native or micro-batch mode, and its changelog out — added up into the final
//! [`Table`] on process 0, or only counted, as a benchmark's blackhole sink.
//!
//! ```
//! use sluice_engine::Execution;
//! use sluice_nexmark::generator::EventSet;
//! use sluice_nexmark::job::{Input, NexmarkRun};
//! let events = EventSet::new(Default::default(), 1, Some(1000));
//! let run = NexmarkRun::new("q2", Input::generated(events));
//! let outcome = run.run(Execution::default().workers(2)).unwrap();
//! let csv = outcome.csv().unwrap();
//! assert!(csv.starts_with("auction,price\n"));
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::StreamingContext;

use crate::generator::EventSet;
use crate::model::Event;
use crate::queries::{self, Params, Query, Visitor, WATERMARK_MS};
use crate::source::NexmarkSource;
use crate::table::{Change, Row, Table, Unbalanced};

/// Where a run's events come from.
#[derive(Clone, Debug)]
pub enum Input {
    /// The generator.
    Generated(NexmarkSource),
    /// Given events, worker `w` of `n` delivering events `w, w + n, …` in the order given (for
    /// tests: out-of-order delivery is an order given).
    Given(Arc<Vec<Event>>),
}

impl Input {
    /// All of `events`, as fast as the workers make them.
    pub fn generated(events: EventSet) -> Self {
        Input::Generated(NexmarkSource::new(events))
    }
}

/// What happens to the changelog.
#[derive(Clone, Debug)]
pub enum Output {
    /// Added up into the final table (on process 0).
    Table,
    /// As [`Table`](Output::Table), keeping the changelog too ([`Table::changelog`]).
    Changelog,
    /// Counted only, where it is made: a blackhole sink for benchmarks.
    Count,
    /// Counted, and each change's latency recorded: in native mode from its timestamp (the
    /// event time of the event that caused it, or its window's end), in micro-batch mode from
    /// the event time of each event until its batch's results are complete. Only changes
    /// (events) stamped within `times` are measured, to leave out a warm-up and the windows
    /// the end of the input closes early.
    Latency {
        /// Where the latencies go (ns).
        recorder: LatencyRecorder,
        /// The times measured, ms.
        times: std::ops::Range<Time>,
    },
}

/// A query run.
#[derive(Clone, Debug)]
pub struct NexmarkRun {
    query: String,
    input: Input,
    batch: Option<Duration>,
    params: Params,
    output: Output,
    checkpoint: Option<PathBuf>,
}

/// What a run gave.
#[derive(Debug)]
pub struct Outcome {
    /// The query's output columns.
    pub columns: &'static [&'static str],
    /// The final table (with [`Output::Table`], on process 0).
    pub table: Option<Table>,
    /// Changes made (in this process).
    pub changes: u64,
}

impl Outcome {
    /// The final table as CSV (empty on processes other than 0).
    pub fn csv(&self) -> Result<String, Unbalanced> {
        match &self.table {
            Some(table) => table.finish(self.columns),
            None => Ok(String::new()),
        }
    }
}

impl NexmarkRun {
    /// Query `query` (`q0` … `q23`) over `input`, in native mode, into a table.
    pub fn new(query: &str, input: Input) -> Self {
        NexmarkRun {
            query: query.to_string(),
            input,
            batch: None,
            params: Params::default(),
            output: Output::Table,
            checkpoint: None,
        }
    }
    /// Runs in micro-batch mode with batches of `interval`.
    pub fn micro_batches(mut self, interval: Duration) -> Self {
        self.batch = Some(interval);
        self
    }
    /// Sets what some queries need besides events.
    pub fn params(mut self, params: Params) -> Self {
        self.params = params;
        self
    }
    /// Sets where a micro-batch run checkpoints, as Spark's `StreamingContext.checkpoint`:
    /// a query with state across batches (`updateStateByKey`) needs one, and fails without.
    pub fn checkpoint(mut self, directory: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(directory.into());
        self
    }
    /// Sets what happens to the changelog.
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }

    /// Runs it.
    pub fn run(&self, execution: Execution) -> Result<Outcome, Error> {
        queries::visit(
            &self.query,
            RunQuery {
                run: self,
                execution,
            },
        )
        .unwrap_or_else(|| {
            Err(Error::Config(format!(
                "no query {:?} (queries: {})",
                self.query,
                queries::NAMES.join(", ")
            )))
        })
    }
}

struct RunQuery<'a> {
    run: &'a NexmarkRun,
    execution: Execution,
}

impl Visitor for RunQuery<'_> {
    type Output = Result<Outcome, Error>;

    fn visit<Q: Query>(self) -> Self::Output {
        let RunQuery { run, execution } = self;
        let sink = Sink::<Q::Row>::new(run.output.clone());
        let leader = execution.is_leader();
        match run.batch {
            None => native::<Q>(run, execution, &sink)?,
            Some(interval) => minibatch::<Q>(run, execution, interval, &sink)?,
        }
        let changes = sink.changes.load(Ordering::Relaxed);
        let table = Arc::try_unwrap(sink.table)
            .map(|table| table.into_inner().unwrap_or_else(|e| e.into_inner()))
            .unwrap_or_default();
        Ok(Outcome {
            columns: Q::Row::COLUMNS,
            table: (matches!(run.output, Output::Table | Output::Changelog) && leader)
                .then_some(table),
            changes,
        })
    }
}

/// Where the changelog goes: a table on worker 0, or a count.
struct Sink<R> {
    output: Output,
    table: Arc<Mutex<Table>>,
    changes: Arc<AtomicU64>,
    row: std::marker::PhantomData<fn(R)>,
}

impl<R> Clone for Sink<R> {
    fn clone(&self) -> Self {
        Sink {
            output: self.output.clone(),
            table: self.table.clone(),
            changes: self.changes.clone(),
            row: std::marker::PhantomData,
        }
    }
}

impl<R: Row> Sink<R> {
    fn new(output: Output) -> Self {
        let table = match output {
            Output::Changelog => Table::with_log(),
            _ => Table::new(),
        };
        Sink {
            output,
            table: Arc::new(Mutex::new(table)),
            changes: Arc::default(),
            row: std::marker::PhantomData,
        }
    }

    /// Consumes a changelog; `events` are the input events, for micro-batch latency.
    fn consume<'s>(&self, changes: Stream<'s, Change<R>>, events: Option<Stream<'s, Event>>) {
        let counter = self.changes.clone();
        match &self.output {
            Output::Count => changes.for_each(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            }),
            Output::Latency { recorder, times } => {
                let changes = changes.inspect(move |_| {
                    counter.fetch_add(1, Ordering::Relaxed);
                });
                match events {
                    None => changes.record_latency_since_time(recorder, times.clone()),
                    Some(events) => {
                        let times = times.clone();
                        let measured = events.flat_map(move |event| {
                            let at = event.date_time() as Time;
                            times.contains(&at).then_some(at)
                        });
                        measured.record_latency_on_completion(changes, recorder, |at| {
                            (at * 1_000_000, 1)
                        })
                    }
                }
            }
            Output::Table | Output::Changelog => {
                let table = self.table.clone();
                changes.gather().for_each(move |(row, diff)| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    table.lock().unwrap().add(&row, diff);
                })
            }
        }
    }
}

/// This worker's share of the input, as a stream.
fn events<'s>(scope: Scope<'s>, input: &Input) -> Stream<'s, Event> {
    match input {
        Input::Generated(source) => scope.source(source),
        Input::Given(events) => {
            let (index, peers) = (scope.index(), scope.peers());
            let events = events.clone();
            let mine = (index..events.len()).step_by(peers);
            scope.iterator_source(mine.map(move |i| events[i].clone()))
        }
    }
}

fn native<Q: Query>(run: &NexmarkRun, execution: Execution, sink: &Sink<Q::Row>) -> Result<()> {
    let (input, params) = (run.input.clone(), run.params.clone());
    let sink = sink.clone();
    execute(execution, move |worker| {
        worker.dataflow(|scope| {
            let stamped = events(scope, &input).with_event_time(
                |event: &Event| event.date_time() as Time,
                Watermarks::bounded_out_of_orderness(WATERMARK_MS),
            );
            sink.consume(Q::default().native(stamped, &params), None);
        });
    })?;
    Ok(())
}

fn minibatch<Q: Query>(
    run: &NexmarkRun,
    execution: Execution,
    interval: Duration,
    sink: &Sink<Q::Row>,
) -> Result<()> {
    if !Q::MINIBATCH {
        return Err(Error::Config(format!(
            "{} does not run in micro-batch mode (the D-Stream API does not express it)",
            Q::NAME
        )));
    }
    let Input::Generated(source) = run.input.clone() else {
        return Err(Error::Config(
            "micro-batch runs read the generator".to_string(),
        ));
    };
    let params = run.params.clone();
    let sink = sink.clone();
    let mut ssc = StreamingContext::new(execution, interval);
    // Stateful D-Stream operators (update_state_by_key, incremental windows) need a checkpoint
    // directory, as in Spark: the one given, or, for a query that has them, a fresh one for the
    // run, removed after it.
    let scratch = (run.checkpoint.is_none() && Q::MINIBATCH_CHECKPOINT).then(scratch_dir);
    let checkpoint = run.checkpoint.clone().or_else(|| scratch.clone());
    if let Some(directory) = &checkpoint {
        ssc.checkpoint(directory)
            .map_err(|e| Error::Config(e.to_string()))?;
    }
    let result = run_context(&mut ssc, move |graph| {
        let events = graph.source(&source);
        let changes = Q::default()
            .minibatch(events.clone(), &params)
            .expect("MINIBATCH queries build a micro-batch dataflow");
        sink.consume(changes, Some(events.into_stream()));
    });
    if let Some(directory) = scratch {
        let _ = std::fs::remove_dir_all(directory);
    }
    result
}

fn run_context(
    ssc: &mut StreamingContext,
    definition: impl for<'s> Fn(&sluice_minibatch::Graph<'s>) + Send + Sync + 'static,
) -> Result<()> {
    let config = |e: sluice_minibatch::Error| Error::Config(e.to_string());
    ssc.define(definition).map_err(config)?;
    ssc.start().map_err(config)?;
    ssc.await_termination().map_err(config)
}

/// A fresh directory under the system's temporary directory, for a run's checkpoints.
fn scratch_dir() -> std::path::PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("sluice-nexmark-{}-{n}", std::process::id()))
}
