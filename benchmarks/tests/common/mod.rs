//! Helpers shared by the architecture tests.

use std::time::{Duration, Instant};

/// Polls `done` until it holds; fails, naming `what`, after 30 s.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A fresh event log in `dir/log` (small segments, no syncs) holding `line(i)` for `i` in
/// `0..lines`, at 10 lines per ms; with the path of its directory.
pub fn log_of(
    dir: &std::path::Path,
    lines: u64,
    line: fn(u64) -> String,
) -> (sluice_engine::log::EventLog, std::path::PathBuf) {
    use sluice_engine::log::{EventLog, Fsync, LogConfig};
    let path = dir.join("log");
    let config = LogConfig::default()
        .fsync(Fsync::Never)
        .segment_bytes(16 << 10);
    let mut log = EventLog::open_with(&path, config).unwrap();
    log.append_all((0..lines).map(|i| (i / 10, line(i))))
        .unwrap();
    (log, path)
}
