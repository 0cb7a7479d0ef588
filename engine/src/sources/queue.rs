//! An in-memory queue as a source (Spark's `queueStream`), for tests and examples.
//!
//! The program keeps a [`Queue`] handle, pushes records from any thread, and closes it to end
//! the stream. Every worker that builds a source on the same queue takes records from it, each
//! record once.
//!
//! It cannot replay: a job resuming from a checkpoint does not get back what was taken from the
//! queue after the checkpoint (Spark refuses to checkpoint a `queueStream` at all).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use timely::scheduling::SyncActivator;

use super::driver::{drive, Poll};
use super::source::{Source, Spread};
use crate::stream::{Scope, Stream};

/// A handle to push records into a running job.
pub struct Queue<T> {
    shared: Arc<Mutex<QueueState<T>>>,
}

struct QueueState<T> {
    items: VecDeque<T>,
    closed: bool,
    readers: Vec<SyncActivator>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            shared: Arc::new(Mutex::new(QueueState {
                items: VecDeque::new(),
                closed: false,
                readers: Vec::new(),
            })),
        }
    }
}

impl<T> Queue<T> {
    /// An open, empty queue.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends records and wakes the reading workers.
    pub fn push_all(&self, items: impl IntoIterator<Item = T>) {
        let mut state = self.lock();
        state.items.extend(items);
        wake(&state.readers);
    }
    /// Appends one record.
    pub fn push(&self, item: T) {
        self.push_all([item]);
    }
    /// Ends the stream once the queued records are read.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        wake(&state.readers);
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<T>> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn wake(readers: &[SyncActivator]) {
    for reader in readers {
        let _ = reader.activate(); // Err only once that worker is gone
    }
}

/// Every worker takes records from the queue, each record once.
impl<T: Send + 'static> Source for Queue<T> {
    type Item = T;

    fn spread(&self) -> Spread {
        Spread::AllWorkers
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, T> {
        build(scope, self)
    }
}

fn build<'scope, T: Send + 'static>(scope: Scope<'scope>, queue: &Queue<T>) -> Stream<'scope, T> {
    let queue = queue.clone();
    drive(scope, "QueueSource", move |waker| {
        queue.lock().readers.push(waker);
        Some(move |out: &mut Vec<T>| {
            let mut state = queue.lock();
            out.extend(state.items.drain(..));
            Ok(if state.closed { Poll::Done } else { Poll::Idle })
        })
    })
}
