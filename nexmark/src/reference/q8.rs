use std::collections::BTreeSet;

use crate::model::Event;
use crate::queries::q8::Q8Row;

/// For each 10 s tumbling window: the distinct (id, name) of the persons in it whose id is the
/// seller of an auction in the same window.
pub fn answer(events: &[Event]) -> Vec<Q8Row> {
    let starts: BTreeSet<i64> = events
        .iter()
        .map(|e| e.date_time().div_euclid(10_000) * 10_000)
        .collect();
    let mut rows = Vec::new();
    for start in starts {
        let within = |t: i64| start <= t && t < start + 10_000;
        let mut people = BTreeSet::new();
        let mut sellers = BTreeSet::new();
        for e in events {
            match e {
                Event::Person(p) if within(p.date_time) => {
                    people.insert((p.id, p.name.clone()));
                }
                Event::Auction(a) if within(a.date_time) => {
                    sellers.insert(a.seller);
                }
                _ => {}
            }
        }
        for (id, name) in people {
            if sellers.contains(&id) {
                rows.push(Q8Row {
                    id,
                    name,
                    stime: start,
                });
            }
        }
    }
    rows
}
