//! q21, add a channel id: the bids whose channel is one of the four hot ones (ids `0`–`3`) or
//! whose URL carries a `channel_id` query parameter, with that id — a `CASE`, a regular
//! expression and a filter.
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel,
//!     CASE
//!         WHEN lower(channel) = 'apple' THEN '0'
//!         WHEN lower(channel) = 'google' THEN '1'
//!         WHEN lower(channel) = 'facebook' THEN '2'
//!         WHEN lower(channel) = 'baidu' THEN '3'
//!         ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
//!         END
//!     AS channel_id FROM bid
//!     where REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) is not null or
//!           lower(channel) in ('apple', 'google', 'facebook', 'baidu');
//! ```
//!
//! The regular expression is matched by hand ([`extract_channel_id`]): its leftmost match
//! starts at the beginning of the URL or at an `&`, and its group 2 runs to the next `&`.
//! Since every row has a hot channel or a matched id, `channel_id` is never NULL.

use sluice_engine::prelude::*;

use super::{bids, Params, Query};
use crate::model::{Channel, Event};
use crate::table::Change;

crate::row! {
    /// A bid with its channel's id.
    pub struct Q21Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        channel: Channel = "channel",
        channel_id: String = "channel_id",
    }
}

/// q21.
#[derive(Clone, Debug, Default)]
pub struct Q21;

/// `REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)`: the value of the first `channel_id=`
/// that starts the URL or follows an `&`, up to the next `&`; `None` if there is none.
///
/// ```
/// use sluice_nexmark::queries::q21::extract_channel_id;
/// assert_eq!(extract_channel_id("channel_id=7&a=1"), Some("7"));
/// assert_eq!(extract_channel_id("x?q=1&channel_id=&channel_id=9"), Some(""));
/// assert_eq!(extract_channel_id("x?my_channel_id=5"), None);
/// ```
pub fn extract_channel_id(url: &str) -> Option<&str> {
    const NEEDLE: &str = "channel_id=";
    let start = if url.starts_with(NEEDLE) {
        NEEDLE.len()
    } else {
        url.match_indices("&channel_id=").next()?.0 + 1 + NEEDLE.len()
    };
    let value = &url[start..];
    Some(value.split('&').next().unwrap_or(value))
}

/// The id of a hot channel, by `lower(channel)`.
fn hot_id(channel: &str) -> Option<&'static str> {
    let lower = |name: &str| {
        channel
            .chars()
            .flat_map(char::to_lowercase)
            .eq(name.chars())
    };
    [
        ("apple", "0"),
        ("google", "1"),
        ("facebook", "2"),
        ("baidu", "3"),
    ]
    .into_iter()
    .find(|(name, _)| lower(name))
    .map(|(_, id)| id)
}

fn row(event: Event) -> Option<Change<Q21Row>> {
    let bid = bids(event)?;
    let id = hot_id(bid.channel.name()).or_else(|| extract_channel_id(bid.url()))?;
    Some((
        Q21Row {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            channel_id: id.to_string(),
        },
        1,
    ))
}

impl Query for Q21 {
    const NAME: &'static str = "q21";
    type Row = Q21Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q21Row>> {
        events.flat_map(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_follows_the_regular_expression() {
        let cases = [
            // at the start, with and without more parameters
            ("channel_id=12", Some("12")),
            ("channel_id=12&x=1", Some("12")),
            // after an &
            ("https://a/b.htm?query=1&channel_id=34", Some("34")),
            ("https://a/b.htm?query=1&channel_id=34&y=2", Some("34")),
            // empty values match
            ("channel_id=", Some("")),
            ("q=1&channel_id=&z", Some("")),
            // several: the leftmost wins
            ("channel_id=1&channel_id=2", Some("1")),
            ("q&channel_id=3&channel_id=4", Some("3")),
            // a later valid one after an invalid prefix
            ("xchannel_id=5&channel_id=6", Some("6")),
            // not after & or at the start
            ("?channel_id=7", None),
            ("a_channel_id=8", None),
            ("https://www.nexmark.com/a/b/c/item.htm?query=1", None),
            ("", None),
            ("&channel_id", None),
        ];
        for (url, expected) in cases {
            assert_eq!(extract_channel_id(url), expected, "{url:?}");
        }
    }

    #[test]
    fn hot_channels_by_lower_case_name() {
        assert_eq!(hot_id("Apple"), Some("0"));
        assert_eq!(hot_id("GOOGLE"), Some("1"));
        assert_eq!(hot_id("Facebook"), Some("2"));
        assert_eq!(hot_id("baidu"), Some("3"));
        assert_eq!(hot_id("Baidu2"), None);
        assert_eq!(hot_id("channel-1"), None);
    }
}
