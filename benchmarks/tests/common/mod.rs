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
