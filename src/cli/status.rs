//! A periodic status line on stderr while a job runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Prints `line(elapsed)` to stderr every `every` until dropped, and once more when
/// [finished](Self::finish): the last line says where the job ended, however short it was. A
/// job that fails says so in its error instead (dropped without `finish`, nothing more).
pub struct StatusLine {
    done: Arc<AtomicBool>,
    last_line: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StatusLine {
    pub fn start(
        every: Duration,
        mut line: impl FnMut(Duration) -> String + Send + 'static,
    ) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let last_line = Arc::new(AtomicBool::new(false));
        let (finished, print_last) = (done.clone(), last_line.clone());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let tick = Duration::from_millis(20).min(every);
            let mut next = every;
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                if start.elapsed() >= next {
                    eprintln!("{}", line(start.elapsed()));
                    next += every;
                }
            }
            if print_last.load(Ordering::Relaxed) {
                eprintln!("{}", line(start.elapsed()));
            }
        });
        StatusLine {
            done,
            last_line,
            thread: Some(thread),
        }
    }

    /// Stops the status line after one last, exact line.
    pub fn finish(self) {
        self.last_line.store(true, Ordering::Relaxed);
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
