//! Fraud detection with an event-time interval join: a card payment is suspicious when the
//! card holder's phone reported a location in another city within five minutes of it.
//!
//! Both streams carry event times and may arrive out of order (up to `DISORDER_MS`); the join
//! keeps each record only as long as a partner could still arrive, as the watermarks say.
//!
//! ```sh
//! cargo run --release --example fraud_detection
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sluice::engine::operators::join::IntervalJoin;
use sluice::prelude::*;

/// How far apart (ms) a payment and a phone location may be to be compared.
pub const WITHIN_MS: i64 = 5 * 60 * 1000;
/// How much out of order events may arrive (the watermarks' bound).
pub const DISORDER_MS: Time = 30_000;

/// A card payment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Payment {
    pub card: u32,
    pub at_ms: Time,
    pub city: String,
    pub cents: u64,
}

/// Where a card holder's phone was.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub card: u32,
    pub at_ms: Time,
    pub city: String,
}

/// The suspicious payments: each with a phone location in another city within [`WITHIN_MS`],
/// once per such location.
pub fn alerts<'s>(
    payments: Stream<'s, Payment>,
    locations: Stream<'s, Location>,
) -> Stream<'s, (Payment, Location)> {
    let watermarks = Watermarks::bounded_out_of_orderness(DISORDER_MS);
    let payments = payments
        .with_event_time(|p: &Payment| p.at_ms, watermarks)
        .map(|p| (p.card, p.at_ms, p));
    let locations = locations
        .with_event_time(|l: &Location| l.at_ms, watermarks)
        .map(|l| (l.card, l.at_ms, l));
    payments
        .interval_join(locations, -WITHIN_MS, WITHIN_MS, false, |_, p, l| {
            (p.clone(), l.cloned())
        })
        .flat_map(|(p, l)| l.filter(|l| l.city != p.city).map(|l| (p, l)))
}

/// A small day of activity: cards pay and phones report every few minutes, mostly in the
/// same city; card 8's payment in Lyon happens while its phone is in Paris.
pub fn sample() -> (Vec<Payment>, Vec<Location>) {
    let minute = 60_000;
    let mut payments = Vec::new();
    let mut locations = Vec::new();
    for card in 1..=10u32 {
        let home = if card % 2 == 0 { "Paris" } else { "Lyon" };
        for k in 0..20u64 {
            let at = k * 7 * minute + card as u64 * 1000;
            locations.push(Location {
                card,
                at_ms: at,
                city: home.into(),
            });
            payments.push(Payment {
                card,
                at_ms: at + 2 * minute,
                city: home.into(),
                cents: 1000 + k,
            });
        }
    }
    payments.push(Payment {
        card: 8,
        at_ms: 60 * minute,
        city: "Lyon".into(),
        cents: 99_900,
    });
    (payments, locations)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (payments, locations) = sample();
    let (payments, locations) = (Arc::new(payments), Arc::new(locations));
    let found = Collector::new();
    let sink = found.clone();
    execute(Execution::default().workers(2), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let share = |n: usize| (0..n).filter(move |i| i % peers == index);
        let mine_p: Vec<Payment> = share(payments.len()).map(|i| payments[i].clone()).collect();
        let mine_l: Vec<Location> = share(locations.len())
            .map(|i| locations[i].clone())
            .collect();
        worker.dataflow(|scope| {
            alerts(scope.iterator_source(mine_p), scope.iterator_source(mine_l))
                .collect_into(&sink);
        });
    })?;
    let mut found = found.take();
    found.sort();
    for (payment, location) in found {
        println!(
            "card {}: {:.2} paid in {} at {} min, phone in {} at {} min",
            payment.card,
            payment.cents as f64 / 100.0,
            payment.city,
            payment.at_ms / 60_000,
            location.city,
            location.at_ms / 60_000
        );
    }
    Ok(())
}
