//! q13, bounded side input join: every bid joined with a static table on
//! `MOD(auction, 10000) = key` — a lookup join against a bounded table loaded up front.
//!
//! ```sql
//! CREATE TABLE side_input (
//!   key BIGINT,
//!   `value` VARCHAR
//! ) WITH (
//!   'connector.type' = 'filesystem',
//!   'connector.path' = 'file://${FLINK_HOME}/data/side_input.txt',
//!   'format.type' = 'csv'
//! );
//!
//! SELECT
//!     B.auction,
//!     B.bidder,
//!     B.price,
//!     B.`dateTime`,
//!     S.`value`
//! FROM (SELECT *, PROCTIME() as p_time FROM bid) B
//! JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
//! ON mod(B.auction, 10000) = S.key;
//! ```
//!
//! The table is [`Params::side_input`], read by [`read_side_input`] from a `key,value` CSV file;
//! the suite's generator writes `i,i` for `i` in `0..10000` ([`default_side_input`]). Each
//! worker holds the whole table (it is shared, not copied) and looks every bid up in it: an
//! inner join, so a bid whose key is missing gives no row. With an empty table (the default
//! [`Params`]) the query's result is empty.
//!
//! ```
//! use sluice_nexmark::queries::q13::default_side_input;
//! let table = default_side_input();
//! assert_eq!(table.len(), 10_000);
//! assert_eq!(table[&9_999], "9999");
//! ```

use std::path::Path;

use sluice_engine::hash::{new_map, HashMap};
use sluice_engine::prelude::*;

use super::{bids, Params, Query};
use crate::model::Event;
use crate::table::Change;

crate::row! {
    /// A bid with its side-input value.
    pub struct Q13Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        date_time: i64 = "dateTime",
        value: String = "value",
    }
}

/// q13.
#[derive(Clone, Debug, Default)]
pub struct Q13;

/// The suite's side input: `i → "i"` for `i` in `0..10000`.
pub fn default_side_input() -> HashMap<i64, String> {
    (0..10_000).map(|i| (i, i.to_string())).collect()
}

/// Reads a side-input CSV file: one `key,value` line per entry, `key` an integer, `value` the
/// rest of the line (quoted as in RFC 4180 if it holds a comma or a quote); blank lines are
/// skipped. A malformed line or a repeated key is an error naming the file and the line.
///
/// ```
/// use sluice_nexmark::queries::q13::read_side_input;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("side_input.txt");
/// std::fs::write(&path, "1,one\n2,\"a, \"\"b\"\"\"\n").unwrap();
/// let table = read_side_input(&path).unwrap();
/// assert_eq!((table[&1].as_str(), table[&2].as_str()), ("one", "a, \"b\""));
///
/// std::fs::write(&path, "1,one\ntwo,2\n").unwrap();
/// let error = read_side_input(&path).unwrap_err().to_string();
/// assert!(error.contains("side_input.txt, line 2"), "{error}");
/// ```
pub fn read_side_input(path: &Path) -> Result<HashMap<i64, String>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut table = new_map();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |why: &str| {
            Error::Config(format!(
                "side input {}, line {}: {why}: {line:?}",
                path.display(),
                n + 1
            ))
        };
        let (key, value) = line
            .split_once(',')
            .ok_or_else(|| malformed("expected `key,value`"))?;
        let key: i64 = key
            .trim()
            .parse()
            .map_err(|_| malformed("the key is not an integer"))?;
        let value = csv_field(value).ok_or_else(|| malformed("expected one value field"))?;
        if table.insert(key, value).is_some() {
            return Err(malformed("the key is repeated"));
        }
    }
    Ok(table)
}

/// One CSV field, the whole of `text`: plain (no comma, no quote) or quoted with `""` for a
/// quote.
fn csv_field(text: &str) -> Option<String> {
    let Some(quoted) = text.strip_prefix('"') else {
        return (!text.contains([',', '"'])).then(|| text.to_string());
    };
    let inner = quoted.strip_suffix('"')?;
    // Every quote inside is doubled.
    (!inner.replace("\"\"", "").contains('"')).then(|| inner.replace("\"\"", "\""))
}

impl Query for Q13 {
    const NAME: &'static str = "q13";
    type Row = Q13Row;

    fn native<'s>(&self, events: Stream<'s, Event>, params: &Params) -> Stream<'s, Change<Q13Row>> {
        let side = params.side_input.clone();
        events.flat_map(move |event| {
            let bid = bids(event)?;
            let value = side.get(&(bid.auction % 10_000))?;
            Some((
                Q13Row {
                    auction: bid.auction,
                    bidder: bid.bidder,
                    price: bid.price,
                    date_time: bid.date_time,
                    value: value.clone(),
                },
                1,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(csv_field("abc").as_deref(), Some("abc"));
        assert_eq!(csv_field("").as_deref(), Some(""));
        assert_eq!(csv_field("\"\"").as_deref(), Some(""));
        assert_eq!(csv_field("\"a\"\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(csv_field("a,b"), None);
        assert_eq!(csv_field("\"a\"b\""), None);
        assert_eq!(csv_field("\"ab"), None);
    }

    #[test]
    fn malformed_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("side.csv");
        for (text, line, why) in [
            ("1,a\nnocomma\n", 2, "expected `key,value`"),
            ("x,a\n", 1, "not an integer"),
            ("1,a\n\n1,b\n", 3, "repeated"),
            ("1,a,b\n", 1, "one value field"),
        ] {
            std::fs::write(&path, text).unwrap();
            let error = read_side_input(&path).unwrap_err().to_string();
            assert!(error.contains(&format!("side.csv, line {line}")), "{error}");
            assert!(error.contains(why), "{error}");
        }
        let missing = read_side_input(&dir.path().join("none")).unwrap_err();
        assert!(missing.to_string().contains("none"), "{missing}");
    }
}
