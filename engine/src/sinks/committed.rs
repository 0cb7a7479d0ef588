//! Exactly-once output to a system that cannot take anything back — a broker: each epoch's
//! records are published only once a checkpoint holding them is committed.
//!
//! This is Flink's two-phase commit sink (and Spark's advice to make output idempotent) on
//! Sluice's checkpoints. When an epoch is complete, the sink *stages* its records: they become
//! part of the sink's state, saved with the checkpoint of the epoch's end. Once that checkpoint
//! (or a later one) is committed, a publisher thread hands them to the [`Publish`]er and lets
//! go of them. A crash before the commit loses nothing: the restored job recomputes the epoch.
//! A crash after it restores the staged records and publishes them again, and the publisher
//! drops what it has already published of that epoch, since an epoch's records are fixed once
//! committed. So every record reaches the broker once, whatever the sources replay and at
//! whatever times — the price is latency: output appears when its checkpoint is committed.
//!
//! Without checkpoints there is nothing to wait for: each epoch (of `every` ms) is published
//! when complete, and a failed job's output is what it published (at most once per run).
//!
//! The records of one time keep the order they were emitted in, so a key's updates reach the
//! broker in order and its last message is its last value.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use timely::dataflow::channels::pact::Pipeline;

use super::epochs::{write_per_epoch, EpochWriter};
use crate::checkpoint::Coordinator;
use crate::error::Error;
use crate::job::JobContext;
use crate::stream::Stream;
use crate::time::Time;

/// How often the publisher thread looks for a new commit.
const POLL: Duration = Duration::from_millis(5);
/// How long, once the job has ended, the publisher waits for the commit of what it staged
/// (another process may commit the last checkpoint a little later).
const FINAL_COMMIT_WAIT: Duration = Duration::from_secs(30);

/// Where committed output goes: one per worker, made on that worker and used from its
/// publisher thread.
pub trait Publish: Send + 'static {
    /// Publishes the lines of `epoch` from `writer` (the worker's index), in order, so that
    /// each reaches its destination once: a second call for an epoch this writer has already
    /// published — after a restore — must publish nothing new (a deduplication id per epoch
    /// and line, a transaction guarded by the epoch, ...). Epochs come in increasing order.
    fn publish(&mut self, writer: usize, epoch: Time, lines: &[String]) -> Result<(), Error>;
}

/// Publishes `stream` through one `Publish`er per worker from `make`, exactly once with
/// checkpoints (see the module docs); `every` is the epoch without them.
pub(super) fn publish_committed<D, P>(
    stream: Stream<'_, D>,
    name: &str,
    every: Time,
    make: impl FnOnce(usize) -> Result<P, Error>,
) where
    D: Display + 'static,
    P: Publish,
{
    let job = JobContext::of(stream.scope());
    write_per_epoch(stream, name, Pipeline, every, move |worker| {
        let publisher = make(worker)?;
        Ok(Some(Staged::start(publisher, worker, job)?))
    })
}

/// One worker's staged epochs, shared with its publisher thread.
struct Staged {
    shared: Arc<Shared>,
}

struct Shared {
    /// Epochs complete but not yet published, by their end.
    epochs: Mutex<BTreeMap<Time, Vec<String>>>,
    /// Set once the job has ended: publish what is committed, then stop.
    ended: AtomicBool,
}

impl Staged {
    fn start<P: Publish>(publisher: P, writer: usize, job: JobContext) -> Result<Staged, Error> {
        let shared = Arc::new(Shared {
            epochs: Mutex::new(BTreeMap::new()),
            ended: AtomicBool::new(false),
        });
        let thread = {
            let (shared, job) = (shared.clone(), job.clone());
            std::thread::Builder::new()
                .name(format!("sluice-publish-{writer}"))
                .spawn(move || publish_loop(publisher, writer, &shared, &job))
                .map_err(|e| Error::Startup(format!("cannot start a publisher thread: {e}")))?
        };
        let ended = shared.clone();
        let thread = Mutex::new(Some(thread));
        job.after_job(move || {
            ended.ended.store(true, Ordering::SeqCst);
            let thread: Option<JoinHandle<Result<(), Error>>> =
                thread.lock().unwrap_or_else(|e| e.into_inner()).take();
            match thread.map(JoinHandle::join) {
                Some(Ok(result)) => result,
                Some(Err(_)) => Err(Error::Operator("a publisher thread panicked".into())),
                None => Ok(()),
            }
        });
        Ok(Staged { shared })
    }

    fn epochs(&self) -> std::sync::MutexGuard<'_, BTreeMap<Time, Vec<String>>> {
        self.shared.epochs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EpochWriter for Staged {
    type State = BTreeMap<Time, Vec<String>>;
    const KEEPS_ORDER: bool = true;

    fn write(&mut self, end: Time, records: Vec<(Time, String)>) -> Result<(), Error> {
        let lines = records.into_iter().map(|(_, line)| line).collect();
        self.epochs().insert(end, lines);
        Ok(())
    }

    fn state(&self) -> Self::State {
        self.epochs().clone()
    }

    /// The staged epochs of the restored checkpoint: committed (it is), so published anew
    /// — whatever of them was published before the crash, the publisher drops.
    fn restore(&mut self, staged: Self::State) -> Result<(), Error> {
        *self.epochs() = staged;
        Ok(())
    }
}

/// Publishes each staged epoch once it is committed, until the job has ended and everything
/// committed is out; an error fails the job (and ends the thread).
fn publish_loop<P: Publish>(
    mut publisher: P,
    writer: usize,
    shared: &Shared,
    job: &JobContext,
) -> Result<(), Error> {
    let coordinator = job.checkpoints();
    let mut ended_at: Option<Instant> = None;
    loop {
        let ended = shared.ended.load(Ordering::SeqCst);
        if ended && ended_at.is_none() {
            ended_at = Some(Instant::now());
        }
        // The checkpoint directory is read only while something waits for a commit.
        let staged = !shared
            .epochs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        let committed = match staged.then(|| committed(coordinator.as_deref())) {
            None => 0,
            Some(Ok(committed)) => committed,
            Some(Err(error)) => {
                job.fail(error);
                return Ok(());
            }
        };
        loop {
            let next = {
                let epochs = shared.epochs.lock().unwrap_or_else(|e| e.into_inner());
                epochs
                    .first_key_value()
                    .filter(|(end, _)| **end <= committed)
                    .map(|(end, lines)| (*end, lines.clone()))
            };
            let Some((end, lines)) = next else { break };
            if let Err(error) = publisher.publish(writer, end, &lines) {
                job.fail(error);
                return Ok(());
            }
            let mut epochs = shared.epochs.lock().unwrap_or_else(|e| e.into_inner());
            epochs.remove(&end);
        }
        let left = shared
            .epochs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        let waited_long = ended_at.is_some_and(|at| at.elapsed() > FINAL_COMMIT_WAIT);
        if ended && (left == 0 || job.is_aborted() || waited_long) {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// Up to which epoch staged output may be published: the newest committed checkpoint's, or
/// everything when the job does not checkpoint.
fn committed(coordinator: Option<&Coordinator>) -> Result<Time, Error> {
    match coordinator {
        Some(coordinator) => Ok(coordinator.committed_epoch()?.unwrap_or(0)),
        None => Ok(Time::MAX),
    }
}
