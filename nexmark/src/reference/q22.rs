use crate::model::Event;
use crate::queries::q22::Q22Row;

/// SPLIT_INDEX(s, '/', n): the text between the n-th and (n+1)-th '/', from 0.
fn split_index(s: &str, n: usize) -> Option<String> {
    let mut piece = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '/' {
            if piece == n {
                return Some(s[start..i].to_string());
            }
            piece += 1;
            start = i + 1;
        }
    }
    (piece == n).then(|| s[start..].to_string())
}

pub fn answer(events: &[Event]) -> Vec<Q22Row> {
    let mut rows = Vec::new();
    for b in super::bids(events) {
        rows.push(Q22Row {
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            channel: b.channel,
            dir1: split_index(b.url(), 3),
            dir2: split_index(b.url(), 4),
            dir3: split_index(b.url(), 5),
        });
    }
    rows
}
