//! DATE_FORMAT and HOUR in UTC, counted the slow way (year by year, month by month), apart
//! from the crate's.

use crate::queries::dates::{Day, Minute};

const DAY_MS: i64 = 86_400_000;

fn leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// `DATE_FORMAT(t, 'yyyy-MM-dd')`.
pub fn day(ms: i64) -> String {
    let mut days = ms.div_euclid(DAY_MS);
    let mut year = 1970;
    loop {
        let in_year = if leap(year) { 366 } else { 365 };
        if days < 0 {
            year -= 1;
            days += if leap(year) { 366 } else { 365 };
        } else if days >= in_year {
            days -= in_year;
            year += 1;
        } else {
            break;
        }
    }
    let february = if leap(year) { 29 } else { 28 };
    let lengths = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while days >= lengths[month] {
        days -= lengths[month];
        month += 1;
    }
    format!("{year:04}-{:02}-{:02}", month + 1, days + 1)
}

/// `DATE_FORMAT(t, 'HH:mm')`.
pub fn minute(ms: i64) -> String {
    let in_day = ms.rem_euclid(DAY_MS);
    format!("{:02}:{:02}", in_day / 3_600_000, in_day / 60_000 % 60)
}

/// `HOUR(t)`.
pub fn hour(ms: i64) -> i64 {
    ms.rem_euclid(DAY_MS) / 3_600_000
}

/// The queries' [`Day`] column for a group keyed here by its text `day`, made from `ms`, one of
/// the group's times: the reference groups by its own text, and a row that would not write as
/// that text fails the comparison here rather than hiding in both sides of it.
pub fn day_column(day: &str, ms: i64) -> Day {
    let column = Day::of(ms);
    assert_eq!(column.to_string(), day, "the Day column of {ms} ms");
    column
}

/// The queries' [`Minute`] column for the text `minute`, made from `ms` (as [`day_column`]).
pub fn minute_column(minute: &str, ms: i64) -> Minute {
    let column = Minute::of(ms);
    assert_eq!(column.to_string(), minute, "the Minute column of {ms} ms");
    column
}
