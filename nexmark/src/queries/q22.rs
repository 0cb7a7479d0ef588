//! q22, get URL directories: every bid with the first three directories of its URL
//! (`SPLIT_INDEX(url, '/', i)`: the `i`-th piece, from 0, of the URL split on `/`, empty
//! pieces kept; NULL when there are fewer) — string functions.
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel,
//!     SPLIT_INDEX(url, '/', 3) as dir1,
//!     SPLIT_INDEX(url, '/', 4) as dir2,
//!     SPLIT_INDEX(url, '/', 5) as dir3 FROM bid;
//! ```
//!
//! ```
//! use sluice_nexmark::queries::q22::split_index;
//! let url = "https://www.nexmark.com/ab/c_d/e/item.htm?query=1";
//! assert_eq!(split_index(url, 3), Some("ab"));
//! assert_eq!(split_index(url, 1), Some(""));
//! assert_eq!(split_index(url, 7), None);
//! ```

use sluice_engine::prelude::*;

use super::{bids, Params, Query};
use crate::model::{Channel, Event};
use crate::table::Change;

crate::row! {
    /// A bid with its URL's directories.
    pub struct Q22Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        channel: Channel = "channel",
        dir1: Option<String> = "dir1",
        dir2: Option<String> = "dir2",
        dir3: Option<String> = "dir3",
    }
}

/// q22.
#[derive(Clone, Debug, Default)]
pub struct Q22;

/// `SPLIT_INDEX(text, '/', index)`.
pub fn split_index(text: &str, index: usize) -> Option<&str> {
    text.split('/').nth(index)
}

fn row(event: Event) -> Option<Change<Q22Row>> {
    let bid = bids(event)?;
    let dir = |i| split_index(bid.url(), i).map(str::to_string);
    Some((
        Q22Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            dir1: dir(3),
            dir2: dir(4),
            dir3: dir(5),
        },
        1,
    ))
}

impl Query for Q22 {
    const NAME: &'static str = "q22";
    type Row = Q22Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q22Row>> {
        events.flat_map(row)
    }
}
