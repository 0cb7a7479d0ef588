//! A query's result: a changelog of rows, and the final table it adds up to, as CSV.
//!
//! Every query emits [`Change`]s — a row and `+1` (insert) or `-1` (retract) — as Flink's
//! changelog streams do: windowed queries only insert, and updating queries (non-windowed
//! aggregates and joins, top-N) retract a result before inserting the one that replaces it.
//! The query's answer is the final table: the rows whose inserts outnumber their retractions.
//! A retraction of a row never inserted is an error in the query, not something to hide:
//! [`Table::finish`] reports it.
//!
//! The CSV is the same for every mode, worker count and process count: a header naming the
//! columns in the order of the query's SQL `SELECT`, then one row a line, sorted bytewise,
//! quoted (RFC 4180) only where a field needs it, times as epoch milliseconds.
//!
//! ```
//! use sluice_nexmark::table::{Row, Table};
//! sluice_nexmark::row! {
//!     /// (auction, price)
//!     pub struct Pair { auction: i64 = "auction", price: i64 = "price" }
//! }
//! let mut table = Table::new();
//! table.add(&Pair { auction: 1, price: 5 }, 1);
//! table.add(&Pair { auction: 1, price: 5 }, -1);
//! table.add(&Pair { auction: 2, price: 7 }, 1);
//! assert_eq!(table.finish(Pair::COLUMNS).unwrap(), "auction,price\n2,7\n");
//! ```

use std::fmt::Write;

use sluice_engine::hash::HashMap;

use crate::model::{Channel, Extra};

/// A change to a query's result table: the row, and +1 to insert it or -1 to retract it.
pub type Change<R> = (R, i64);

/// A row of a query's result.
pub trait Row: sluice_engine::stream::Data + Eq + std::hash::Hash + std::fmt::Debug {
    /// The column names, in the order of the query's `SELECT`.
    const COLUMNS: &'static [&'static str];
    /// Appends the row as one CSV line (no newline).
    fn write_csv(&self, out: &mut String);
}

/// A value that can be a CSV field.
pub trait Field {
    /// Appends the field, quoted if it must be.
    fn write_field(&self, out: &mut String);
}

impl Field for i64 {
    fn write_field(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Field for str {
    fn write_field(&self, out: &mut String) {
        if self.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&self.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(self);
        }
    }
}

impl Field for String {
    fn write_field(&self, out: &mut String) {
        self.as_str().write_field(out)
    }
}

impl Field for &'static str {
    fn write_field(&self, out: &mut String) {
        (**self).write_field(out)
    }
}

impl Field for Extra {
    fn write_field(&self, out: &mut String) {
        self.as_str().write_field(out)
    }
}

impl Field for Channel {
    fn write_field(&self, out: &mut String) {
        self.name().write_field(out)
    }
}

impl<F: Field> Field for Option<F> {
    /// SQL's NULL is an empty field.
    fn write_field(&self, out: &mut String) {
        if let Some(value) = self {
            value.write_field(out)
        }
    }
}

/// A bid's URL, as a column: its channel, written as the channel's URL (URLs come from the
/// channel table, so a row need not copy one).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Url(pub Channel);

impl Field for Url {
    fn write_field(&self, out: &mut String) {
        self.0.url().write_field(out)
    }
}

/// A `DECIMAL(_, 3)`: thousandths, written with three decimals (`0.908 * price`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Thousandths(pub i64);

impl Field for Thousandths {
    fn write_field(&self, out: &mut String) {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let _ = write!(out, "{sign}{}.{:03}", abs / 1000, abs % 1000);
    }
}

/// Defines a row struct and its [`Row`] impl: each field with its column name.
#[macro_export]
macro_rules! row {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:ident : $ty:ty = $column:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[allow(missing_docs)]
        pub struct $name { $(pub $field: $ty),* }

        impl $crate::table::Row for $name {
            const COLUMNS: &'static [&'static str] = &[$($column),*];
            fn write_csv(&self, out: &mut String) {
                let mut first = true;
                $(
                    if !std::mem::take(&mut first) {
                        out.push(',');
                    }
                    $crate::table::Field::write_field(&self.$field, out);
                )*
                let _ = first;
            }
        }
    };
}

/// The final table a changelog adds up to.
#[derive(Debug, Default)]
pub struct Table {
    counts: HashMap<String, i64>,
    changes: u64,
    /// Every change in the order applied, if kept ([`with_log`](Table::with_log)).
    log: Option<Vec<(String, i64)>>,
}

/// A changelog that does not add up to a table.
#[derive(Debug, thiserror::Error)]
#[error("the changelog retracts {count} more time(s) than it inserts the row {row}")]
pub struct Unbalanced {
    /// The row, as CSV.
    pub row: String,
    /// How many retractions are unmatched.
    pub count: i64,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty table that also keeps its changelog, in the order applied: what a test
    /// inspects or mutates.
    pub fn with_log() -> Self {
        Table {
            log: Some(Vec::new()),
            ..Self::default()
        }
    }
    /// The table of a changelog of CSV lines.
    pub fn of_changes<'a>(changes: impl IntoIterator<Item = &'a (String, i64)>) -> Self {
        let mut table = Table::new();
        for (line, diff) in changes {
            table.add_line(line.clone(), *diff);
        }
        table
    }
    /// Applies one change.
    pub fn add<R: Row>(&mut self, row: &R, diff: i64) {
        let mut line = String::new();
        row.write_csv(&mut line);
        self.add_line(line, diff);
    }
    fn add_line(&mut self, line: String, diff: i64) {
        if let Some(log) = &mut self.log {
            log.push((line.clone(), diff));
        }
        *self.counts.entry(line).or_insert(0) += diff;
        self.changes += 1;
    }
    /// The changes applied, as CSV lines and diffs, if kept.
    pub fn changelog(&self) -> Option<&[(String, i64)]> {
        self.log.as_deref()
    }
    /// Adds another table's changes (another worker's share).
    pub fn merge(&mut self, other: Table) {
        for (line, count) in other.counts {
            *self.counts.entry(line).or_insert(0) += count;
        }
        self.changes += other.changes;
    }
    /// How many changes were applied.
    pub fn changes(&self) -> u64 {
        self.changes
    }
    /// The rows with a positive count, each repeated that many times, sorted.
    pub fn rows(&self) -> Result<Vec<&str>, Unbalanced> {
        let mut rows = Vec::new();
        for (line, &count) in &self.counts {
            if count < 0 {
                return Err(Unbalanced {
                    row: line.clone(),
                    count: -count,
                });
            }
            rows.extend(std::iter::repeat_n(line.as_str(), count as usize));
        }
        rows.sort_unstable();
        Ok(rows)
    }
    /// The CSV: a header of `columns`, then the rows.
    pub fn finish(&self, columns: &[&str]) -> Result<String, Unbalanced> {
        let mut out = columns.join(",");
        out.push('\n');
        for row in self.rows()? {
            out.push_str(row);
            out.push('\n');
        }
        Ok(out)
    }
}
