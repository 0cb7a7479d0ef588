//! Rate control for micro-batches: Spark Streaming's back pressure
//! (`spark.streaming.backpressure.enabled`).
//!
//! A micro-batch job that receives more per interval than it processes in one falls behind for
//! ever: each batch waits longer for the one before it. Spark's answer, reproduced here, is a
//! PID controller ([`PidRateEstimator`]) that, after each batch, estimates from its size, its
//! processing time and its scheduling delay the rate the job can take, and a limit
//! ([`RateLimit`]) that the sources obey: each admits at most its share of `rate × interval`
//! records per batch and leaves the rest with its sender (in the socket, the broker).
//!
//! ```
//! use sluice_engine::rate::PidRateEstimator;
//! let mut pid = PidRateEstimator::new(1000, 100.0);
//! // The first batch only calibrates: 1000 records in 500 ms is 2000 records/s.
//! assert_eq!(pid.compute(1000, 1000, 500, 0), None);
//! // 1500 records in 1000 ms after waiting 100 ms: slow down.
//! assert_eq!(pid.compute(2000, 1500, 1000, 100), Some(1470.0));
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::time::Time;

/// Spark's PID rate estimator, with its default gains: proportional 1.0, integral 0.2,
/// derivative 0 (`spark.streaming.backpressure.pid.*`).
///
/// After each batch it compares the rate it last allowed with the rate the batch was
/// processed at (the *error*), and the records the scheduling delay stands for (the
/// *historical error*, the integral term: work queued behind the batch), and returns the new
/// rate, never below `min_rate`.
#[derive(Clone, Debug)]
pub struct PidRateEstimator {
    batch_interval_ms: f64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    /// The last batch's completion time, the rate then set and the error then seen; `None`
    /// before the first batch.
    latest: Option<(Time, f64, f64)>,
}

impl PidRateEstimator {
    /// An estimator with Spark's default gains, for batches of `batch_interval_ms`, that never
    /// goes below `min_rate` records per second (Spark's `pid.minRate`, default 100).
    pub fn new(batch_interval_ms: Time, min_rate: f64) -> Self {
        Self::with_gains(batch_interval_ms, min_rate, 1.0, 0.2, 0.0)
    }

    /// An estimator with other gains.
    pub fn with_gains(
        batch_interval_ms: Time,
        min_rate: f64,
        proportional: f64,
        integral: f64,
        derivative: f64,
    ) -> Self {
        PidRateEstimator {
            batch_interval_ms: batch_interval_ms.max(1) as f64,
            proportional,
            integral,
            derivative,
            min_rate,
            latest: None,
        }
    }

    /// The new rate (records per second) after a batch that completed at `time` ms with
    /// `records` records, `processing_ms` of processing and `scheduling_ms` of scheduling
    /// delay; `None` when there is nothing to go on (an empty or instant batch, an old one) and
    /// after the first batch, which only sets the starting point.
    pub fn compute(
        &mut self,
        time: Time,
        records: u64,
        processing_ms: Time,
        scheduling_ms: Time,
    ) -> Option<f64> {
        if records == 0 || processing_ms == 0 {
            return None;
        }
        let processing_rate = records as f64 / processing_ms as f64 * 1000.0;
        let Some((latest_time, latest_rate, latest_error)) = self.latest else {
            self.latest = Some((time, processing_rate, 0.0));
            return None;
        };
        if time <= latest_time {
            return None;
        }
        let seconds_since = (time - latest_time) as f64 / 1000.0;
        let error = latest_rate - processing_rate;
        let historical_error = scheduling_ms as f64 * processing_rate / self.batch_interval_ms;
        let d_error = (error - latest_error) / seconds_since;
        let rate = (latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        self.latest = Some((time, rate, error));
        Some(rate)
    }
}

/// The rate the sources of a process may admit, in records per second, shared by its readers;
/// unlimited until [`set`](Self::set). Cheap to clone (a handle).
#[derive(Clone, Debug)]
pub struct RateLimit {
    /// The rate's bits (`f64`), infinite when unlimited.
    rate: Arc<AtomicU64>,
    readers: Arc<AtomicUsize>,
    /// Whether rate control sets the limit (so sources must be able to hold back).
    controlled: Arc<AtomicBool>,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            rate: Arc::new(AtomicU64::new(f64::INFINITY.to_bits())),
            readers: Arc::new(AtomicUsize::new(0)),
            controlled: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl RateLimit {
    /// Rate control will set the limit: sources must be ready to hold back (see
    /// [`handoff`](crate::sources::handoff)). Before the job starts.
    pub fn control(&self) {
        self.controlled.store(true, Ordering::Relaxed);
    }

    /// Whether rate control sets the limit.
    pub fn is_controlled(&self) -> bool {
        self.controlled.load(Ordering::Relaxed)
    }

    /// Limits the sources to `rate` records per second in all.
    pub fn set(&self, rate: f64) {
        self.rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    /// The limit, if any.
    pub fn get(&self) -> Option<f64> {
        let rate = f64::from_bits(self.rate.load(Ordering::Relaxed));
        rate.is_finite().then_some(rate)
    }

    /// One more source instance reads (and shares the limit).
    pub fn add_reader(&self) {
        self.readers.fetch_add(1, Ordering::Relaxed);
    }

    /// How many records one reader may admit into a batch of `interval` ms (at least one, so
    /// that a job never stalls; `u64::MAX` when unlimited).
    pub fn per_reader_batch(&self, interval: Time) -> u64 {
        match self.get() {
            None => u64::MAX,
            Some(rate) => {
                let readers = self.readers.load(Ordering::Relaxed).max(1) as f64;
                (rate * interval as f64 / 1000.0 / readers).max(1.0) as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spark's formula, step by step, on a recorded sequence of batches (interval 1 s):
    /// the estimator must give exactly what the formula gives.
    #[test]
    fn follows_sparks_formula_on_a_recorded_sequence() {
        // (completion time, records, processing ms, scheduling ms)
        let batches = [
            (1000, 1000, 500, 0),
            (2000, 1500, 1000, 100),
            (3000, 1470, 1470, 570),
            (4100, 900, 1000, 1040),
            (5000, 0, 0, 0),
            (5500, 500, 250, 0),
        ];
        let mut pid = PidRateEstimator::new(1000, 100.0);
        let got: Vec<Option<f64>> = batches
            .iter()
            .map(|&(t, n, p, s)| pid.compute(t, n, p, s))
            .collect();
        // By hand, rate' = rate - 1.0 * (rate - processing rate)
        //                       - 0.2 * (scheduling ms * processing rate / interval):
        // 1: calibrates at 1000/0.5 = 2000/s;
        // 2: processing 1500/s, error 500, history 150: 2000 - 500 - 30 = 1470;
        // 3: processing 1000/s, error 470, history 570: 1470 - 470 - 114 = 886;
        // 4: processing 900/s, error -14, history 936: 886 + 14 - 187.2 = 712.8;
        // 5: an empty batch says nothing;
        // 6: processing 2000/s, error -1287.2, history 0: 712.8 + 1287.2 = 2000.
        let expected = [
            None,
            Some(1470.0),
            Some(886.0),
            Some(712.8),
            None,
            Some(2000.0),
        ];
        for (i, (got, expected)) in got.iter().zip(expected).enumerate() {
            match (got, expected) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "batch {}: {g} != {e}", i + 1),
                (g, e) => assert_eq!(*g, e, "batch {}", i + 1),
            }
        }
    }

    #[test]
    fn never_goes_below_the_minimum_rate() {
        let mut pid = PidRateEstimator::new(1000, 100.0);
        pid.compute(1000, 1000, 1000, 0);
        // Far behind: the formula would go negative.
        assert_eq!(pid.compute(2000, 10, 1000, 60_000), Some(100.0));
    }

    #[test]
    fn the_derivative_term_uses_the_change_in_error_per_second() {
        let mut pid = PidRateEstimator::with_gains(1000, 0.0, 0.0, 0.0, 1.0);
        pid.compute(1000, 1000, 1000, 0); // 1000/s, error 0
                                          // Two seconds later, processing 800/s: error 200, change 200 over 2 s = 100/s.
        assert_eq!(pid.compute(3000, 800, 1000, 0), Some(900.0));
    }

    #[test]
    fn a_limit_is_shared_by_the_readers() {
        let limit = RateLimit::default();
        assert_eq!(limit.per_reader_batch(1000), u64::MAX);
        limit.add_reader();
        limit.add_reader();
        limit.set(10_000.0);
        assert_eq!(limit.per_reader_batch(500), 2500);
        limit.set(0.5);
        assert_eq!(
            limit.per_reader_batch(500),
            1,
            "a reader always admits something"
        );
    }
}
