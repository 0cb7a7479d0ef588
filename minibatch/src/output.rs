//! Output operations: what makes a graph run (Spark requires at least one).
//!
//! - [`foreach_rdd`](DStream::foreach_rdd): a function of each whole batch, on the driver;
//! - [`into_stream`](DStream::into_stream): the records handed back to the engine as a plain
//!   stream, to go on with native operators and sinks;
//! - [`print`](DStream::print): the first elements of each batch, in Spark's exact format;
//! - [`save_as_text_files`](DStream::save_as_text_files) and
//!   [`save_as_object_files`](DStream::save_as_object_files): one directory per batch,
//!   `prefix-TIME[.suffix]`, of part files — each worker writes its partitions into a temporary
//!   directory, and the driver commits it into place once every worker is done with the batch
//!   (the frontier says when; see [`durable::commit_dir`]), so a batch's directory appears whole
//!   or not at all, also after a crash, and a batch written again replaces it.
//!
//! An output operation acts at every time its stream has a batch — also an empty one — and
//! fails the job with Spark's message when its stream cannot produce the batch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_engine::durable;
use sluice_engine::job::JobContext;
use sluice_engine::stream::{Data, Stream};
use sluice_engine::timely::container::CapacityContainerBuilder;
use sluice_engine::timely::dataflow::channels::pact::{Exchange, Pipeline};
use sluice_engine::timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use sluice_engine::timely::dataflow::operators::generic::OutputBuilder;
use sluice_engine::{Error as EngineError, Time};

use crate::batch::Batch;
use crate::dstream::DStream;
use crate::each_batch::each_batch_of;
use crate::error::{Error, Result};
use crate::presence::Presence;
use crate::show::Show;

/// Whether an output acts at `time`: not after an abort; a stream that fails to produce its
/// batch fails the job.
fn acts_at(presence: &Presence, job: &JobContext, time: Time) -> bool {
    if job.is_aborted() {
        return false;
    }
    match presence.at(time) {
        Ok(present) => present,
        Err(message) => {
            job.fail(EngineError::Operator(message));
            false
        }
    }
}

/// Spark's `rddToFileName`: `prefix-TIME.suffix`, leaving out an empty prefix or suffix.
pub fn batch_file_name(prefix: &str, suffix: &str, time: Time) -> String {
    let mut name = time.to_string();
    if !prefix.is_empty() {
        name = format!("{prefix}-{name}");
    }
    if !suffix.is_empty() {
        name = format!("{name}.{suffix}");
    }
    name
}

/// What `print(num)` shows for one batch: Spark's header, the first `num` elements, `...` if
/// there are more, and an empty line.
pub fn format_batch<'a, T: Show + 'a>(
    time: Time,
    elements: impl Iterator<Item = &'a T>,
    num: usize,
) -> String {
    let rule = "-".repeat(43);
    let mut text = format!("{rule}\nTime: {time} ms\n{rule}\n");
    let mut elements = elements.peekable();
    for element in elements.by_ref().take(num) {
        let _ = writeln!(text, "{}", element.show());
    }
    if elements.peek().is_some() {
        text.push_str("...\n");
    }
    text.push('\n');
    text
}

impl<'s, T: Data> DStream<'s, T> {
    /// Spark's `foreachRDD`: `f` of each batch, on the driver (worker 0).
    pub fn foreach_rdd(&self, mut f: impl FnMut(Batch<T>) + 'static) {
        let presence = self.presence.clone();
        let job = self.graph.job().clone();
        let done = self.on_driver("ForeachRDD", move |t, batch, _: &mut Vec<()>| {
            if acts_at(&presence, &job, t) {
                f(batch);
            }
        });
        self.graph.output(done);
    }

    /// Spark's `foreachRDD(rdd => rdd.foreachPartition(f))`: `f(time, records)` on every worker,
    /// once per batch, with the records of the partitions that worker holds — an output that
    /// moves no data.
    pub fn foreach_partition(&self, mut f: impl FnMut(Time, Vec<T>) + 'static) {
        let presence = self.presence.clone();
        let job = self.graph.job().clone();
        let done = self.each_batch(
            "ForeachPartition",
            Pipeline,
            move |t, records, _: &mut Vec<()>| {
                if acts_at(&presence, &job, t) {
                    f(t, records.into_iter().map(|(_, x)| x).collect());
                }
            },
        );
        self.graph.output(done);
    }

    /// Hands the records back to the engine: an output operation (the graph runs every batch
    /// for it, as for Spark's actions) whose result is the engine [`Stream`] of the records, each
    /// at its batch time, to go on with native operators and sinks — a benchmark's probe, a sum
    /// over batches, a sink the micro-batch layer does not have.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sluice_engine::clock::{Clock, ManualClock};
    /// use sluice_engine::prelude::*;
    /// use sluice_minibatch::StreamingContext;
    ///
    /// let clock = ManualClock::new(0);
    /// let execution = Execution::default().clock(Clock::Manual(clock.clone()));
    /// let mut ssc = StreamingContext::new(execution, Duration::from_secs(1));
    /// let totals = Collector::new();
    /// let sink = totals.clone();
    /// ssc.define(move |graph| {
    ///     graph
    ///         .input_batches(vec![Some(vec![1u64, 2]), Some(vec![3])], 1)
    ///         .reduce(|a, b| a + b)
    ///         .into_stream() // batch sums, back in the engine: a running total of them
    ///         .map(|sum| ((), sum))
    ///         .reduce_by_key(|a, b| a + b)
    ///         .collect_into(&sink);
    /// })
    /// .unwrap();
    /// ssc.start().unwrap();
    /// for t in [1000, 2000] {
    ///     clock.advance_to(t);
    ///     ssc.await_batch(t).unwrap();
    /// }
    /// ssc.stop(true).unwrap();
    /// let totals: Vec<u64> = totals.take().into_iter().map(|(_, total)| total).collect();
    /// assert_eq!(totals, vec![3, 6]);
    /// ```
    pub fn into_stream(&self) -> Stream<'s, T> {
        // One operator with two outputs: the records, moved on as they arrive, and an empty
        // stream whose frontier is theirs — the output operation's report that a batch is done
        // (it has gone by). Holding each batch until it closed, as a `foreach`, made a
        // max-speed 1 s batch of events hold a second of them in memory.
        let mut builder = OperatorBuilder::new("IntoStream".to_owned(), self.graph.scope());
        let mut input = builder.new_input(self.stream.clone(), Pipeline);
        let (records_out, records) = builder.new_output::<Vec<T>>();
        let (_done_out, done) = builder.new_output::<Vec<()>>();
        let mut records_out =
            OutputBuilder::<_, CapacityContainerBuilder<Vec<T>>>::from(records_out);
        builder.build(move |_| {
            move |_| {
                let mut records_out = records_out.activate();
                input.for_each_stamp(|cap, data| {
                    let mut session = records_out.session(&cap);
                    for batch in data {
                        session.give_iterator(batch.drain(..).map(|(_, x)| x));
                    }
                });
            }
        });
        self.graph.output(done);
        records
    }

    /// Remembers this stream's batches in `slices` for [`Slices::slice`], for the context's
    /// `remember` duration (default [`DEFAULT_REMEMBER`]). An output operation.
    pub fn remember_into(&self, slices: &Slices<T>) {
        let shared = slices.shared.clone();
        let keep = self
            .graph
            .remember()
            .unwrap_or(DEFAULT_REMEMBER.as_millis() as Time)
            .max(self.slide);
        {
            let mut remembered = shared.lock().unwrap_or_else(|e| e.into_inner());
            remembered.slide = Some(self.slide);
            remembered.keep = keep;
        }
        self.foreach_rdd(move |batch| {
            let mut remembered = shared.lock().unwrap_or_else(|e| e.into_inner());
            let t = batch.time();
            remembered.batches.insert(t, batch);
            let keep = remembered.keep;
            remembered.batches.retain(|&time, _| time + keep > t);
        });
    }

    /// Spark's `print()`: the first ten elements of every batch.
    pub fn print(&self)
    where
        T: Show,
    {
        self.print_n(10)
    }

    /// Spark's `print(num)`: the first `num` elements of every batch, on the driver, once per
    /// batch and in batch order.
    ///
    /// As Spark's `take(num + 1)`, only what can be shown travels to the driver: each worker
    /// sends at most `num + 1` elements of each partition it holds (one more than shown, so the
    /// driver knows whether to print `...`), not the whole batch.
    pub fn print_n(&self, num: usize)
    where
        T: Show,
    {
        let shown = self.each_batch("PrintTake", Pipeline, move |_, records, out| {
            let mut taken: Vec<usize> = Vec::new();
            for (p, x) in records {
                let part = p as usize;
                if part >= taken.len() {
                    taken.resize(part + 1, 0);
                }
                if taken[part] <= num {
                    taken[part] += 1;
                    out.push((p, x));
                }
            }
        });
        self.with_records(shown).foreach_rdd(move |batch| {
            let text = format_batch(batch.time(), batch.iter(), num);
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
        });
    }

    /// Spark's `saveAsTextFiles(prefix, suffix)`: each batch as a directory of text part files,
    /// one element per line.
    pub fn save_as_text_files(&self, prefix: &str, suffix: &str)
    where
        T: Show,
    {
        self.save_files(prefix, suffix, |x| x.show());
    }

    /// Spark's `saveAsObjectFiles(prefix, suffix)`: each batch as a directory of part files of
    /// serialized elements (one JSON document per line; read back with [`read_object_files`]).
    pub fn save_as_object_files(&self, prefix: &str, suffix: &str) {
        self.save_files(prefix, suffix, |x| {
            serde_json::to_string(x).unwrap_or_else(|e| format!("{{\"unserializable\":\"{e}\"}}"))
        });
    }

    fn save_files(&self, prefix: &str, suffix: &str, encode: impl Fn(&T) -> String + 'static) {
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        let target = move |t: Time| PathBuf::from(batch_file_name(&prefix, &suffix, t));
        let written_to = target.clone();
        let (presence, job) = (self.presence.clone(), self.graph.job().clone());
        let (partitions, homes) = (self.num_partitions(), self.homes.clone());
        let me = self.graph.scope().index();
        let written = self.each_batch(
            "WriteParts",
            Pipeline,
            move |t, records, _: &mut Vec<()>| {
                if !acts_at(&presence, &job, t) {
                    return;
                }
                let batch = Batch::from_tagged(t, records, partitions);
                let staging = staging_dir(&written_to(t));
                for (p, part) in batch.partitions().iter().enumerate() {
                    if homes[p] == me {
                        let path = staging.join(format!("part-{p:05}"));
                        if let Err(error) = write_lines(&path, part.iter().map(&encode)) {
                            job.fail(error);
                        }
                    }
                }
            },
        );
        let (presence, job) = (self.presence.clone(), self.graph.job().clone());
        let driver = self.is_driver();
        let done = each_batch_of(
            "CommitFiles",
            self.graph.ticks(),
            (written, Exchange::new(|_: &()| 0)),
            move |t, _, _: &mut Vec<()>| {
                if driver && !job.is_aborted() && presence.at(t) == Ok(true) {
                    if let Err(error) = commit(&target(t)) {
                        job.fail(error);
                    }
                }
            },
        );
        self.graph.output(done);
    }
}

/// How long remembered batches are kept when the context sets no `remember` duration.
pub const DEFAULT_REMEMBER: Duration = Duration::from_secs(60);

/// The remembered batches of a stream, queried from outside the job with Spark's `slice`.
///
/// Create it before the context starts, register it with
/// [`remember_into`](DStream::remember_into) in the definition, and slice it while (or after)
/// the job runs. Cheap to clone (a handle).
pub struct Slices<T> {
    shared: Arc<Mutex<Remembered<T>>>,
}

struct Remembered<T> {
    slide: Option<Time>,
    keep: Time,
    batches: BTreeMap<Time, Batch<T>>,
}

impl<T> Clone for Slices<T> {
    fn clone(&self) -> Self {
        Slices {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Default for Slices<T> {
    fn default() -> Self {
        Slices {
            shared: Arc::new(Mutex::new(Remembered {
                slide: None,
                keep: 0,
                batches: BTreeMap::new(),
            })),
        }
    }
}

impl<T: Clone> Slices<T> {
    /// A handle no stream remembers into yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spark's `slice(from, to)`: the remembered batches at every time in `[from, to]`, each
    /// end first floored to a multiple of the stream's slide. Fails, as Spark does, if the
    /// stream has not been initialized (its context has not started).
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Batch<T>>> {
        let remembered = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let Some(slide) = remembered.slide else {
            return Err(Error::IllegalState(
                "DStream has not been initialized".into(),
            ));
        };
        let (from, to) = (from / slide * slide, to / slide * slide);
        Ok(remembered
            .batches
            .range(from.max(1)..=to)
            .map(|(_, b)| b.clone())
            .collect())
    }
}

/// Where a batch's part files are written before the commit.
fn staging_dir(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push("._temporary");
    target.with_file_name(name)
}

/// Writes a part file into the staging directory (synced when the batch is committed).
fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<(), EngineError> {
    let failed = |source| EngineError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(failed)?);
    for line in lines {
        writeln!(file, "{line}").map_err(failed)?;
    }
    file.flush().map_err(failed)
}

/// Moves a batch's staging directory into place, durably, replacing an earlier write of the
/// batch; a batch with no parts still commits (an empty directory).
fn commit(target: &Path) -> Result<(), EngineError> {
    durable::commit_dir(&staging_dir(target), target).map_err(|e| EngineError::Write {
        path: target.to_path_buf(),
        source: e.source,
    })
}

/// Reads back what [`save_as_object_files`](DStream::save_as_object_files) wrote for one batch.
pub fn read_object_files<T: for<'de> serde::Deserialize<'de>>(
    dir: &Path,
) -> Result<Vec<T>, EngineError> {
    let unreadable = |source| EngineError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .collect();
    parts.sort();
    let mut out = Vec::new();
    for part in parts {
        let text = std::fs::read_to_string(&part).map_err(|source| EngineError::Read {
            path: part.clone(),
            source,
        })?;
        for (n, line) in text.lines().enumerate() {
            let value = serde_json::from_str(line).map_err(|e| {
                EngineError::Operator(format!("{}: line {}: {e}", part.display(), n + 1))
            })?;
            out.push(value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_spark() {
        assert_eq!(batch_file_name("out", "txt", 1000), "out-1000.txt");
        assert_eq!(batch_file_name("out", "", 1000), "out-1000");
        assert_eq!(batch_file_name("", "", 1000), "1000");
    }

    #[test]
    fn print_format_matches_spark() {
        let rule = "-".repeat(43);
        let items: Vec<u64> = (1..=3).collect();
        assert_eq!(
            format_batch(2000, items.iter(), 2),
            format!("{rule}\nTime: 2000 ms\n{rule}\n1\n2\n...\n\n")
        );
        assert_eq!(
            format_batch(2000, items.iter(), 0),
            format!("{rule}\nTime: 2000 ms\n{rule}\n...\n\n")
        );
        let none: Vec<u64> = Vec::new();
        assert_eq!(
            format_batch(1000, none.iter(), 10),
            format!("{rule}\nTime: 1000 ms\n{rule}\n\n")
        );
    }
}
