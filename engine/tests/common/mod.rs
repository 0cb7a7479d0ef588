//! Oracles and input shapes shared by the event-time property tests.

#![allow(dead_code)] // each test file uses a different part

use std::time::Duration;

use proptest::prelude::*;
use sluice_engine::prelude::*;

/// The windows (ends) of `spec` containing `t`.
pub fn ends(length: Time, slide: Time, t: Time) -> Vec<Time> {
    (0..=(t + length) / slide)
        .map(|i| i * slide)
        .filter(|end| *end > t && *end <= t + length)
        .collect()
}

pub fn spec_of((length, slide): (Time, Time)) -> WindowSpec {
    WindowSpec::sliding(Duration::from_millis(length), Duration::from_millis(slide))
}

/// Window shapes: tumbling and sliding, lengths a multiple of the slide.
pub fn shapes() -> impl Strategy<Value = (Time, Time)> {
    prop_oneof![
        (1u64..=10).prop_map(|s| (s * 100, s * 100)),
        (1u64..=5, 1u64..=4).prop_map(|(s, k)| (s * 100 * k, s * 100)),
    ]
}
