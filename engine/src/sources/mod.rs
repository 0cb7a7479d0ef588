//! Where streams come from.
//!
//! Every source is a long-running operator that holds a capability at the current processing
//! time and is woken by an activator — by itself while it has data ready, by a reader thread when
//! bytes arrive, or by a timer — so an idle job parks its workers and uses no CPU (see
//! [`driver`]). Sources that can be split (the generator, a file) divide the work among all
//! workers of all processes; the others are read by worker 0 and can be `rebalance`d.
//!
//! A source is described by a value built *before* the job starts ([`TextFile::open`] checks the
//! path, for instance), so a bad path or address is reported once, up front, and the per-worker
//! closure only clones the description into its dataflow. Every such description is a
//! [`Source`] (see [`source`](mod@source)): one file per source, built natively with
//! [`Sources::source`] and as an input DStream by the micro-batch layer from the same value.

pub mod corpus;
pub mod directory;
pub mod driver;
pub mod file;
pub mod generator;
pub mod handoff;
pub mod line_source;
mod lines;
pub mod log;
pub mod queue;
pub mod socket;
pub mod source;
pub mod stamped;
pub mod timed;

pub use directory::Directory;
pub use file::TextFile;
pub use generator::Generator;
pub use line_source::LineSource;
pub use log::LogSource;
pub use queue::Queue;
pub use socket::Socket;
pub use source::{Source, Spread};

use std::collections::BTreeMap;

use timely::dataflow::operators::generic::operator::source;

use crate::stream::{Scope, Stream};
use crate::time::Time;
use driver::{drive, Poll};

/// Building sources in a dataflow scope.
pub trait Sources<'scope> {
    /// Emits the items of an iterator, then ends. Each worker emits its own iterator's items,
    /// so give data to one worker (or a share to each).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # let out = Collector::new();
    /// # let sink = out.clone();
    /// execute(Execution::default(), move |worker| {
    ///     worker.dataflow(|scope| scope.iterator_source("ab".chars()).collect_into(&sink));
    /// })
    /// .unwrap();
    /// assert_eq!(out.take(), vec!['a', 'b']);
    /// ```
    fn iterator_source<I>(self, items: I) -> Stream<'scope, I::Item>
    where
        I: IntoIterator + 'static;
    /// Emits each `(time, record)` at its own timestamp, then ends — a replay with given times
    /// (for tests and for replaying timestamped data). Each worker emits its own items.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # let out = Collector::new();
    /// # let sink = out.clone();
    /// // Each record at its own timestamp, whatever the order given.
    /// execute(Execution::default(), move |worker| {
    ///     worker.dataflow(|scope| {
    ///         let timed = scope.timed_source(vec![(20, 'b'), (10, 'a')]);
    ///         timed.with_processing_time().collect_into(&sink)
    ///     });
    /// })
    /// .unwrap();
    /// assert_eq!(out.take(), vec![(10, 'a'), (20, 'b')]);
    /// ```
    fn timed_source<D: 'static>(
        self,
        items: impl IntoIterator<Item = (Time, D)> + 'static,
    ) -> Stream<'scope, D>;
    /// The records of a [`Source`] (this worker's share of them): the one way every described
    /// source becomes a stream. The named methods below are conveniences for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # let out = Collector::new();
    /// # let sink = out.clone();
    /// // Any described source, here a closed queue.
    /// let queue = Queue::new();
    /// queue.push_all([1u64, 2]);
    /// queue.close();
    /// execute(Execution::default(), move |worker| {
    ///     worker.dataflow(|scope| scope.source(&queue).collect_into(&sink));
    /// })
    /// .unwrap();
    /// assert_eq!(out.take(), vec![1, 2]);
    /// ```
    fn source<S: Source>(self, source: &S) -> Stream<'scope, S::Item>;
    /// Reads records pushed into a [`Queue`] (Spark's `queueStream`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # let out = Collector::new();
    /// # let sink = out.clone();
    /// let queue = Queue::new();
    /// queue.push_all(["a", "b"].map(String::from));
    /// queue.close(); // the stream ends once the queue is drained
    /// execute(Execution::default(), move |worker| {
    ///     worker.dataflow(|scope| scope.queue(&queue).collect_into(&sink));
    /// })
    /// .unwrap();
    /// assert_eq!(out.take(), vec!["a".to_string(), "b".to_string()]);
    /// ```
    fn queue<T: Send + 'static>(self, queue: &Queue<T>) -> Stream<'scope, T>;
    /// The shared word-count corpus, split across workers, at full speed or a fixed rate.
    fn generate(self, generator: &Generator) -> Stream<'scope, String>;
    /// The lines of a text file, read once, split across workers by byte range.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sluice_engine::prelude::*;
    /// # use sluice_engine::sources::TextFile;
    /// # let out = Collector::new();
    /// # let sink = out.clone();
    /// let path =
    ///     std::env::temp_dir().join(format!("sluice-text-file-{}.txt", std::process::id()));
    /// std::fs::write(&path, "a b\nc\n").unwrap();
    /// let file = TextFile::open(&path).unwrap();
    /// execute(Execution::default().workers(2), move |worker| {
    ///     worker.dataflow(|scope| scope.text_file(&file).collect_into(&sink));
    /// })
    /// .unwrap();
    /// let mut lines = out.take();
    /// lines.sort();
    /// assert_eq!(lines, ["a b", "c"]);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    fn text_file(self, file: &TextFile) -> Stream<'scope, String>;
    /// The lines of each new file moved into a directory (Spark's `textFileStream`).
    fn text_directory(self, directory: &Directory) -> Stream<'scope, String>;
    /// The lines read from a TCP server (Spark's `socketTextStream`).
    fn socket_text(self, socket: &Socket) -> Stream<'scope, String>;
    /// The records of an event log as text lines (see [`LogSource`]): replayable, so a
    /// checkpointed job resumes at the offsets of its checkpoint.
    fn event_log(self, log: &LogSource) -> Stream<'scope, String>;
}

impl<'scope> Sources<'scope> for Scope<'scope> {
    fn iterator_source<I>(self, items: I) -> Stream<'scope, I::Item>
    where
        I: IntoIterator + 'static,
    {
        let mut items = Some(items);
        drive(self, "IteratorSource", move |_| {
            Some(move |out: &mut Vec<I::Item>| {
                out.extend(items.take().into_iter().flatten());
                Ok(Poll::Done)
            })
        })
    }

    fn timed_source<D: 'static>(
        self,
        items: impl IntoIterator<Item = (Time, D)> + 'static,
    ) -> Stream<'scope, D> {
        let mut items = Some(items);
        source(self, "TimedSource", move |capability, _| {
            let mut capability = Some(capability);
            move |output| {
                let (Some(cap), Some(items)) = (capability.take(), items.take()) else {
                    return;
                };
                let mut by_time: BTreeMap<Time, Vec<D>> = BTreeMap::new();
                for (t, d) in items {
                    by_time.entry(t).or_default().push(d);
                }
                for (t, mut records) in by_time {
                    output
                        .session(&cap.delayed(&t))
                        .give_container(&mut records);
                }
            }
        })
    }

    fn source<S: Source>(self, source: &S) -> Stream<'scope, S::Item> {
        source.stream(self)
    }

    fn queue<T: Send + 'static>(self, queue: &Queue<T>) -> Stream<'scope, T> {
        self.source(queue)
    }

    fn generate(self, generator: &Generator) -> Stream<'scope, String> {
        self.source(generator)
    }

    fn text_file(self, file: &TextFile) -> Stream<'scope, String> {
        self.source(file)
    }

    fn text_directory(self, directory: &Directory) -> Stream<'scope, String> {
        self.source(directory)
    }

    fn socket_text(self, socket: &Socket) -> Stream<'scope, String> {
        self.source(socket)
    }

    fn event_log(self, log: &LogSource) -> Stream<'scope, String> {
        self.source(log)
    }
}
