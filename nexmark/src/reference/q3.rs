use crate::model::Event;
use crate::queries::q3::Q3Row;

pub fn answer(events: &[Event]) -> Vec<Q3Row> {
    let mut rows = Vec::new();
    for a in super::auctions(events) {
        if a.category != 10 {
            continue;
        }
        for p in super::persons(events) {
            if a.seller == p.id && (p.state == "OR" || p.state == "ID" || p.state == "CA") {
                rows.push(Q3Row {
                    name: p.name.clone(),
                    city: p.city.clone(),
                    state: p.state.clone(),
                    id: a.id,
                });
            }
        }
    }
    rows
}
