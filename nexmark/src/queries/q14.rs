//! q14, calculation: the bids worth between 1 and 50 million euros (`0.908 * price`, exact in
//! thousandths), each classified by the hour it was made (UTC) and with the number of `c`s in
//! its `extra` (the suite's `count_char` UDF) — a filter, a `CASE` and a scalar UDF.
//!
//! ```sql
//! SELECT
//!     auction,
//!     bidder,
//!     0.908 * price as price,
//!     CASE
//!         WHEN HOUR(`dateTime`) >= 8 AND HOUR(`dateTime`) <= 18 THEN 'dayTime'
//!         WHEN HOUR(`dateTime`) <= 6 OR HOUR(`dateTime`) >= 20 THEN 'nightTime'
//!         ELSE 'otherTime'
//!     END AS bidTimeType,
//!     `dateTime`,
//!     extra,
//!     count_char(extra, 'c') AS c_counts
//! FROM bid
//! WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
//! ```
//!
//! Hours 7 and 19 are `otherTime`:
//!
//! ```
//! use sluice_nexmark::queries::q14::bid_time_type;
//! let at = |hour: i64| bid_time_type(hour * 3_600_000);
//! assert_eq!([at(6), at(7), at(8), at(18), at(19), at(20)],
//!            ["nightTime", "otherTime", "dayTime", "dayTime", "otherTime", "nightTime"]);
//! ```

use sluice_engine::prelude::*;

use super::{bids, dates, Params, Query};
use crate::model::{Event, Extra};
use crate::table::{Change, Thousandths};

crate::row! {
    /// A bid in euros, classified.
    pub struct Q14Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: Thousandths = "price",
        bid_time_type: String = "bidTimeType",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
        c_counts: i64 = "c_counts",
    }
}

/// q14.
#[derive(Clone, Debug, Default)]
pub struct Q14;

/// The `CASE` on `HOUR(dateTime)` (UTC).
pub fn bid_time_type(date_time: i64) -> &'static str {
    match dates::hour(date_time) {
        8..=18 => "dayTime",
        h if h <= 6 || h >= 20 => "nightTime",
        _ => "otherTime",
    }
}

/// The suite's `count_char(text, c)`: how many times `c` occurs in `text`.
pub fn count_char(text: &str, c: char) -> i64 {
    text.chars().filter(|&x| x == c).count() as i64
}

fn row(event: Event) -> Option<Change<Q14Row>> {
    let bid = bids(event)?;
    // 0.908 * price in thousandths, compared with 1,000,000 and 50,000,000 in thousandths.
    let price = 908 * bid.price;
    if price <= 1_000_000_000 || price >= 50_000_000_000 {
        return None;
    }
    Some((
        Q14Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price: Thousandths(price),
            bid_time_type: bid_time_type(bid.date_time).to_string(),
            date_time: bid.date_time,
            extra: bid.extra,
            c_counts: count_char(bid.extra.as_str(), 'c'),
        },
        1,
    ))
}

impl Query for Q14 {
    const NAME: &'static str = "q14";
    type Row = Q14Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q14Row>> {
        events.flat_map(row)
    }
}
