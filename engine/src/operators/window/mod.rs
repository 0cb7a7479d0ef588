//! Windows, all in one place.
//!
//! - [`WindowSpec`]: a window's length and slide, shared by every kind of window;
//! - [`by_timestamp`]: per-key counts over the windows of the records' timestamps
//!   ([`Windowed::count_by_key_and_window`]), closed by the frontier — the native counterpart of
//!   a micro-batch window;
//! - [`event`]: keyed event-time windows with allowed lateness and a late side output —
//!   tumbling and sliding aggregates, full-window functions and co-groups, sessions, count
//!   windows and top-k per window. Over
//!   [`with_processing_time`](super::event_time::EventTime::with_processing_time) they are
//!   processing-time windows.
//!
//! The micro-batch layer's windows over batches (`window`, `reduceByKeyAndWindow`, … on a
//! DStream) are in `sluice-minibatch`'s `window` module; a native window ending at `t` and a
//! micro-batch window at `t` cover the same arrivals.

pub mod by_timestamp;
pub mod event;

pub use by_timestamp::Windowed;

use std::time::Duration;

use crate::time::Time;

/// A window's length and slide, in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    length: Time,
    slide: Time,
}

impl WindowSpec {
    /// Back-to-back windows of `length`.
    pub fn tumbling(length: Duration) -> Self {
        Self::sliding(length, length)
    }

    /// Windows of `length` starting every `slide`.
    pub fn sliding(length: Duration, slide: Duration) -> Self {
        WindowSpec {
            length: (length.as_millis() as Time).max(1),
            slide: (slide.as_millis() as Time).max(1),
        }
    }

    /// The window length in ms.
    pub fn length(&self) -> Time {
        self.length
    }

    /// The slide in ms (the length, for tumbling windows).
    pub fn slide(&self) -> Time {
        self.slide
    }

    /// The ends of the windows that contain time `t`, in increasing order.
    pub fn ends_containing(&self, t: Time) -> impl Iterator<Item = Time> {
        let first = (t / self.slide + 1) * self.slide;
        let last = t + self.length;
        (first..=last).step_by(self.slide as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_belongs_to_length_over_slide_windows() {
        let spec = WindowSpec::sliding(Duration::from_millis(300), Duration::from_millis(100));
        assert_eq!(
            spec.ends_containing(250).collect::<Vec<_>>(),
            vec![300, 400, 500]
        );
        assert_eq!(
            spec.ends_containing(300).collect::<Vec<_>>(),
            vec![400, 500, 600]
        );
        let tumbling = WindowSpec::tumbling(Duration::from_millis(100));
        assert_eq!(tumbling.ends_containing(0).collect::<Vec<_>>(), vec![100]);
    }
}
