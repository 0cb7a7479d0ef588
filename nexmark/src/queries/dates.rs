//! Flink SQL's `DATE_FORMAT` and `HOUR` on `TIMESTAMP(3)` values (epoch milliseconds), in UTC:
//! the day (`yyyy-MM-dd`) and minute (`HH:mm`) that q10 partitions by and q15–q17 group by,
//! and the hour q14 classifies bids with.
//!
//! ```
//! use sluice_nexmark::queries::dates::{day, hour, minute};
//! let t = 1_704_067_200_000 + 13 * 3_600_000 + 5 * 60_000; // 2024-01-01T13:05Z
//! assert_eq!(day(t), "2024-01-01");
//! assert_eq!(minute(t), "13:05");
//! assert_eq!(hour(t), 13);
//! assert_eq!(day(-1), "1969-12-31");
//! ```

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// `DATE_FORMAT(t, 'yyyy-MM-dd')`.
pub fn day(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `DATE_FORMAT(t, 'HH:mm')`.
pub fn minute(ms: i64) -> String {
    let minutes = ms.rem_euclid(MS_PER_DAY) / MS_PER_MINUTE;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
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
}
