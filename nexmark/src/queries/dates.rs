//! Flink SQL's `DATE_FORMAT` and `HOUR` on `TIMESTAMP(3)` values (epoch milliseconds), in UTC:
//! the day (`yyyy-MM-dd`) and minute (`HH:mm`) that q10 partitions by and q15–q17 group by,
//! and the hour q14 classifies bids with.
//!
//! The grouping queries key on [`Day`] and [`Minute`]: the number, written as the SQL formats
//! it only when a row is written, so a key hashes and compares as an integer and a row copies
//! no string.
//!
//! ```
//! use sluice_nexmark::queries::dates::{day, hour, minute, Day, Minute};
//! let t = 1_704_067_200_000 + 13 * 3_600_000 + 5 * 60_000; // 2024-01-01T13:05Z
//! assert_eq!(day(t), "2024-01-01");
//! assert_eq!(minute(t), "13:05");
//! assert_eq!(hour(t), 13);
//! assert_eq!(day(-1), "1969-12-31");
//! assert_eq!(Day::of(t).to_string(), "2024-01-01");
//! assert_eq!(Minute::of(t).to_string(), "13:05");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::table::Field;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// `DATE_FORMAT(t, 'yyyy-MM-dd')`.
pub fn day(ms: i64) -> String {
    Day::of(ms).to_string()
}

/// `DATE_FORMAT(t, 'HH:mm')`.
pub fn minute(ms: i64) -> String {
    Minute::of(ms).to_string()
}

/// A `DATE_FORMAT(t, 'yyyy-MM-dd')` value, as its day number since 1970-01-01. Days of years
/// 0–9999 order as their text does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Day(i64);

impl Day {
    /// The day of `ms` (epoch milliseconds, UTC).
    pub fn of(ms: i64) -> Day {
        Day(ms.div_euclid(MS_PER_DAY))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Field for Day {
    fn write_field(&self, out: &mut String) {
        let _ = fmt::Write::write_fmt(out, format_args!("{self}"));
    }
}

/// A `DATE_FORMAT(t, 'HH:mm')` value, as the minute of the day (0–1439), which orders as
/// its text does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Minute(i64);

impl Minute {
    /// The minute of the day of `ms` (epoch milliseconds, UTC).
    pub fn of(ms: i64) -> Minute {
        Minute(ms.rem_euclid(MS_PER_DAY) / MS_PER_MINUTE)
    }
}

impl fmt::Display for Minute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Field for Minute {
    fn write_field(&self, out: &mut String) {
        let _ = fmt::Write::write_fmt(out, format_args!("{self}"));
    }
}

/// `HOUR(t)`: 0–23.
pub fn hour(ms: i64) -> i64 {
    ms.rem_euclid(MS_PER_DAY) / 3_600_000
}

/// The start of `t`'s minute, ms.
pub fn minute_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(MS_PER_MINUTE)
}

/// (year, month, day) of a day number since 1970-01-01, in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_across_leap_years_and_centuries() {
        let at = |days: i64| day(days * MS_PER_DAY);
        assert_eq!(at(0), "1970-01-01");
        assert_eq!(at(59), "1970-03-01");
        assert_eq!(at(11_016), "2000-02-29");
        assert_eq!(at(11_017), "2000-03-01");
        assert_eq!(at(19_723), "2024-01-01");
        assert_eq!(at(19_782), "2024-02-29");
        assert_eq!(at(47_541), "2100-03-01");
        assert_eq!(minute(MS_PER_DAY - 1), "23:59");
        assert_eq!(minute_start(-1), -MS_PER_MINUTE);
    }

    #[test]
    fn days_and_minutes_order_as_their_text() {
        let times = [
            -1,
            0,
            59_999,
            60_000,
            3_599_999,
            86_399_999,
            951_782_400_000,
        ];
        for a in times {
            for b in times {
                assert_eq!(Day::of(a).cmp(&Day::of(b)), day(a).cmp(&day(b)), "{a} {b}");
                assert_eq!(
                    Minute::of(a).cmp(&Minute::of(b)),
                    minute(a).cmp(&minute(b)),
                    "{a} {b}"
                );
            }
        }
    }
}
