//! q3, local item suggestion: who sells in category 10 in Oregon, Idaho or California — an
//! append-only regular join of auctions with people on the seller.
//!
//! ```sql
//! SELECT P.name, P.city, P.state, A.id
//! FROM auction AS A INNER JOIN person AS P on A.seller = P.id
//! WHERE A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
//! ```
//!
//! Native mode: both sides are filtered first, then keyed by person id (`A.seller`, `P.id`)
//! into one per-key process function. A person's id is unique, so the join's state per
//! person is the person, once seen, and the auctions that arrived before it, waiting; each
//! joined row is emitted once, when its second side arrives — inserts only, as Flink's
//! regular join of two append-only inputs. The state is kept forever, as Flink's (no TTL).
//!
//! Micro-batch mode: the same join with Spark Streaming's `updateStateByKey`, which holds
//! each person and the auctions waiting for it across batches; a key's state also carries
//! the rows it joined in the current batch, which are emitted once, in the batch where both
//! sides are known. The final table equals native's.

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{Params, Query};
use crate::model::{Auction, Event, Person};
use crate::table::Change;

crate::row! {
    /// A seller in OR, ID or CA and one of its category-10 auctions.
    pub struct Q3Row {
        name: String = "name",
        city: String = "city",
        state: String = "state",
        id: i64 = "id",
    }
}

/// q3.
#[derive(Clone, Debug, Default)]
pub struct Q3;

/// What the join needs of a person.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Seller {
    name: String,
    city: String,
    state: String,
}

impl Seller {
    fn row(&self, auction: i64) -> Q3Row {
        Q3Row {
            name: self.name.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            id: auction,
        }
    }
}

/// One side of the join, keyed by person id.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// A person in OR, ID or CA.
    Person(Seller),
    /// The id of a category-10 auction.
    Auction(i64),
}

/// A person's join state: the person once seen, and the auctions waiting for it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct State {
    seller: Option<Seller>,
    waiting: Vec<i64>,
    /// Micro-batch mode only: the rows joined in the current batch.
    joined: Vec<Q3Row>,
}

impl State {
    /// Takes in one side, handing each row it completes to `emit`.
    fn add(&mut self, side: Side, emit: &mut dyn FnMut(Q3Row)) {
        match side {
            Side::Person(seller) => {
                for auction in self.waiting.drain(..) {
                    emit(seller.row(auction));
                }
                self.seller = Some(seller);
            }
            Side::Auction(id) => match &self.seller {
                Some(seller) => emit(seller.row(id)),
                None => self.waiting.push(id),
            },
        }
    }
}

/// The event's side of the join, keyed by person id, if it passes the filters.
fn side(event: Event) -> Option<(i64, Side)> {
    match event {
        Event::Person(Person {
            id,
            name,
            city,
            state,
            ..
        }) if matches!(state.as_str(), "OR" | "ID" | "CA") => {
            Some((id, Side::Person(Seller { name, city, state })))
        }
        Event::Auction(Auction {
            id,
            seller,
            category: 10,
            ..
        }) => Some((seller, Side::Auction(id))),
        _ => None,
    }
}

impl Query for Q3 {
    const NAME: &'static str = "q3";
    const MINIBATCH: bool = true;
    const MINIBATCH_CHECKPOINT: bool = true;
    type Row = Q3Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q3Row>> {
        events
            .flat_map(side)
            .flat_map_with_state(|_, side, state: &mut Option<State>, emit| {
                state
                    .get_or_insert_with(State::default)
                    .add(side, &mut |row| emit((row, 1)));
            })
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q3Row>>> {
        Some(joined_per_batch(&events).into_stream())
    }
}

/// Micro-batch mode's join: each key's state across batches, and each batch the rows joined in
/// it.
fn joined_per_batch<'s>(events: &DStream<'s, Event>) -> DStream<'s, Change<Q3Row>> {
    events
        .flat_map(side)
        .update_state_by_key(|sides: Vec<Side>, state: Option<State>| {
            let mut state = state.unwrap_or_default();
            let mut joined = Vec::new();
            for side in sides {
                state.add(side, &mut |row| joined.push(row));
            }
            state.joined = joined;
            Some(state)
        })
        .flat_map(|(_, state)| state.joined.into_iter().map(|row| (row, 1)))
}

#[cfg(test)]
mod tests {
    use sluice_minibatch::testing::run_batches;

    use super::*;
    use crate::model::Extra;

    fn person(id: i64, state: &str) -> Event {
        Event::Person(Person {
            id,
            name: format!("p{id}"),
            email_address: String::new(),
            credit_card: String::new(),
            city: "c".into(),
            state: state.into(),
            date_time: 0,
            extra: Extra::default(),
        })
    }

    fn auction(id: i64, seller: i64, category: i64) -> Event {
        Event::Auction(Auction {
            id,
            item_name: String::new(),
            description: String::new(),
            initial_bid: 0,
            reserve: 0,
            date_time: 0,
            expires: 0,
            seller,
            category,
            extra: Extra::default(),
        })
    }

    /// Micro-batch mode emits each row once, in the batch where its second side arrives, and
    /// holds waiting auctions across batches.
    #[test]
    fn minibatch_emits_each_row_once() {
        let batches = vec![
            vec![auction(1, 7, 10), auction(2, 7, 11), auction(3, 8, 10)],
            vec![],
            vec![person(7, "OR"), person(8, "WA")],
            vec![auction(4, 7, 10)],
            vec![],
        ];
        let out = run_batches(1000, batches, |events| {
            joined_per_batch(&events).map(|(row, diff)| (row.name, row.id, diff))
        })
        .unwrap();
        let p7 = "p7".to_string();
        assert_eq!(
            out,
            vec![
                vec![],
                vec![],
                vec![(p7.clone(), 1, 1)],
                vec![(p7, 4, 1)],
                vec![]
            ]
        );
    }
}
