use crate::model::Event;
use crate::queries::q21::Q21Row;

/// REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2), as the `&`-separated pieces of the URL:
/// the first piece (the start, or right after an `&`) beginning with `channel_id=`.
fn channel_id(url: &str) -> Option<String> {
    for piece in url.split('&') {
        if let Some(value) = piece.strip_prefix("channel_id=") {
            return Some(value.to_string());
        }
    }
    None
}

pub fn answer(events: &[Event]) -> Vec<Q21Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        let id = match b.channel.name().to_lowercase().as_str() {
            "apple" => Some("0".to_string()),
            "google" => Some("1".to_string()),
            "facebook" => Some("2".to_string()),
            "baidu" => Some("3".to_string()),
            _ => channel_id(b.url()),
        };
        if let Some(channel_id) = id {
            rows.push(Q21Row {
                auction: b.auction,
                bidder: b.bidder,
                price: b.price,
                channel: b.channel,
                channel_id,
            });
        }
    }
    rows
}
