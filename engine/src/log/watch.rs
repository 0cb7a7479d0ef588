//! Waiting for a log to grow, for the readers that follow it (tail-follow).
//!
//! A follower at the end of the log has nothing to do until the writer appends. Asking the
//! log again every millisecond costs a busy core a few percent per follower even when nothing
//! happens; sleeping longer between looks makes every record that much staler. Instead a
//! [`LogWatcher`] asks the kernel to report changes in the log's directory (inotify on Linux):
//! an append modifies the newest segment, a roll creates a new one, and both are changes of
//! entries of that directory, so watching the directory (not one file) sees both. A follower
//! then sleeps until a change is reported, and reads again at once.
//!
//! Notification is a wake-up, never the data: a change reported that is not an append (an
//! index written, a lock taken) costs one empty read, and a follower always reads the log
//! itself. Changes are queued from the moment the watcher exists, so a follower makes its
//! watcher *before* it first reads and cannot miss an append that lands between its last empty
//! read and its wait. Where notification cannot be set up (another OS, no inotify instances
//! left, a directory that vanished), or in case a change is never reported (some network file
//! systems), a follower still looks again every [`FALLBACK_POLL`].
//!
//! [`LogWatcher::wait_for_append`] is for a follower that may block (`sluice log tail
//! --follow`); [`wake_on_append`] runs the wait on a thread of its own and calls back, for a
//! follower that must not block (a dataflow source, which is woken through its activator).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a follower looks at the log when no change has been reported: the staleness of a
/// follower that cannot be notified, and its only cost while the log is idle.
pub const FALLBACK_POLL: Duration = Duration::from_millis(100);

/// Reports changes in a log's directory; see the module docs.
pub struct LogWatcher {
    #[cfg(target_os = "linux")]
    inotify: Option<inotify::Inotify>,
}

impl LogWatcher {
    /// Watches the log in `dir` from now on. Never fails: if notification cannot be set up, the
    /// watcher only waits out its timeouts ([`is_notified`](Self::is_notified) says which).
    pub fn new(dir: &Path) -> LogWatcher {
        #[cfg(target_os = "linux")]
        {
            use inotify::{Inotify, WatchMask};
            // A write to a segment or index, a new segment (created, or renamed into place).
            let mask = WatchMask::MODIFY | WatchMask::CREATE | WatchMask::MOVED_TO;
            let inotify = Inotify::init().and_then(|inotify| {
                inotify.watches().add(dir, mask)?;
                Ok(inotify)
            });
            LogWatcher {
                inotify: inotify.ok(),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            LogWatcher {}
        }
    }

    /// Whether changes are reported (else waits last their whole timeout).
    pub fn is_notified(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.inotify.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Blocks until the log's directory has changed since the watcher was made or last
    /// returned `true` (a record appended, a segment rolled), or until `timeout` has passed.
    /// Returns whether a change was reported; either way the caller reads the log again.
    pub fn wait_for_append(&mut self, timeout: Duration) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(inotify) = self.inotify.as_mut() {
            return wait(inotify, timeout);
        }
        std::thread::sleep(timeout);
        false
    }
}

/// Waits up to `timeout` for events on `inotify` and drains them; whether there were any.
#[cfg(target_os = "linux")]
fn wait(inotify: &mut inotify::Inotify, timeout: Duration) -> bool {
    use std::os::fd::AsRawFd;
    // What is queued already was reported since the last wait: no need to sleep.
    if drain(inotify) {
        return true;
    }
    let mut fd = libc::pollfd {
        fd: inotify.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fd` is one valid pollfd, and the inotify descriptor stays open during the call.
    let ready = unsafe { libc::poll(&mut fd, 1, ms) };
    // Timed out (0), or interrupted by a signal (-1): the caller looks at the log anyway.
    // Otherwise drain the events, so that the next wait sleeps until the next change.
    ready > 0 && drain(inotify)
}

/// Reads every queued event (without blocking); whether there was any.
#[cfg(target_os = "linux")]
fn drain(inotify: &mut inotify::Inotify) -> bool {
    let mut buffer = [0u8; 4096];
    let mut any = false;
    loop {
        match inotify
            .read_events(&mut buffer)
            .map(|events| events.count())
        {
            Ok(n) if n > 0 => any = true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => return any, // nothing more queued (WouldBlock), or the descriptor failed
        }
    }
}

/// Calls `wake` from a thread of its own whenever the log in `dir` changes, until the returned
/// handle is dropped or `wake` returns `false` (its receiver is gone). `None` if changes
/// cannot be reported: the caller then polls every [`FALLBACK_POLL`].
pub fn wake_on_append(
    dir: &Path,
    mut wake: impl FnMut() -> bool + Send + 'static,
) -> Option<WakeOnAppend> {
    let mut watcher = LogWatcher::new(dir);
    if !watcher.is_notified() {
        return None;
    }
    let stopped = Arc::new(AtomicBool::new(false));
    let stop = stopped.clone();
    std::thread::Builder::new()
        .name("sluice-log-watch".into())
        .spawn(move || {
            // The timeout only bounds how long the thread outlives its handle.
            while !stop.load(Ordering::Relaxed) {
                if watcher.wait_for_append(FALLBACK_POLL * 5) && !wake() {
                    break;
                }
            }
        })
        .ok()?;
    Some(WakeOnAppend { stopped })
}

/// Keeps a [`wake_on_append`] thread running; dropping it stops the thread (within a second).
pub struct WakeOnAppend {
    stopped: Arc<AtomicBool>,
}

impl Drop for WakeOnAppend {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{EventLog, Fsync, LogConfig, LogReader};
    use std::sync::mpsc;

    /// Waits long enough that only a notification (or a broken watcher) ends the wait early.
    const LONG: Duration = Duration::from_secs(60);

    fn log(dir: &Path, segment_bytes: u64) -> EventLog {
        let config = LogConfig::default()
            .fsync(Fsync::Never)
            .segment_bytes(segment_bytes);
        EventLog::open_with(dir, config).unwrap()
    }

    /// A follower blocked at the end of the log wakes on each append and then reads it; with
    /// one-record segments, each append is to a segment the writer has just rolled to.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_blocked_follower_wakes_on_an_append_to_a_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = log(dir.path(), 1);
        writer.append(1, b"first").unwrap();
        let mut reader = LogReader::open(dir.path()).unwrap();
        let mut watcher = LogWatcher::new(dir.path());
        assert!(watcher.is_notified());
        assert_eq!(reader.read().unwrap().unwrap().text(), Some("first"));
        assert!(reader.read().unwrap().is_none());
        let texts = ["second", "third"];
        let (go, appends) = mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            for (t, text) in texts.iter().enumerate() {
                appends.recv().unwrap();
                writer.append(t as u64 + 2, text.as_bytes()).unwrap();
            }
        });
        for expected in texts {
            go.send(()).unwrap(); // the append comes while the follower waits, or before
            let mut record = None;
            while record.is_none() {
                assert!(watcher.wait_for_append(LONG), "the wait timed out");
                record = reader.read().unwrap();
            }
            assert_eq!(record.unwrap().text(), Some(expected));
        }
        writer.join().unwrap();
        assert_eq!(crate::log::segment::list(dir.path()).unwrap().len(), 3);
    }

    /// Without a change, a wait times out and says so.
    #[test]
    fn an_idle_log_reports_no_change() {
        let dir = tempfile::tempdir().unwrap();
        log(dir.path(), 1 << 20).append(1, b"only").unwrap();
        let mut watcher = LogWatcher::new(dir.path());
        assert!(!watcher.wait_for_append(Duration::from_millis(20)));
    }

    /// The thread of `wake_on_append` calls back on an append, and stops once its receiver is gone.
    #[test]
    #[cfg(target_os = "linux")]
    fn wake_on_append_calls_back_on_an_append() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = log(dir.path(), 1 << 20);
        writer.append(1, b"before").unwrap();
        let (woken, wakes) = mpsc::channel::<()>();
        let handle = wake_on_append(dir.path(), move || woken.send(()).is_ok()).unwrap();
        writer.append(2, b"after").unwrap();
        wakes.recv_timeout(LONG).expect("woken by the append");
        drop(handle);
    }
}
