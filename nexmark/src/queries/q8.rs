//! q8, monitor new users: the people who joined and opened an auction in the same 10 s window
//! — a window join of two streams.
//!
//! ```sql
//! SELECT P.id, P.name, P.starttime
//! FROM (
//!   SELECT id, name, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
//!   GROUP BY id, name, window_start, window_end
//! ) P
//! JOIN (
//!   SELECT seller, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
//!   GROUP BY seller, window_start, window_end
//! ) A
//! ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
//! ```
//!
//! Both sides are grouped before the join, so each `(id, name, window)` is one row however
//! many auctions the person opened in the window (`stime` is the window's start).
//!
//! Native: persons keyed by id and auctions keyed by seller are co-grouped per 10 s tumbling
//! event-time window ([`cogroup_by_event_window`](CoGroupWindows::cogroup_by_event_window));
//! a key whose window has both people and auctions yields its distinct names. Window state is
//! freed by the watermark; insert only.
//!
//! Micro-batch mode (Spark Streaming): 10 s tumbling windows of **arrival time**
//! (`window(10 s, 10 s)` on each side), each side made distinct with `reduce_by_key`, joined
//! per window; `stime` is the window's start in batch time (`t − 10 s` for the window at batch
//! time `t`), not in event time. A person and an auction pair when they *arrive* in the same
//! window, whatever their `dateTime`s. 10 s must be a multiple of the batch interval.

use std::time::Duration;

use sluice_engine::prelude::*;
use sluice_minibatch::DStream;

use super::{Params, Query};
use crate::model::{Auction, Event, Person};
use crate::table::Change;

crate::row! {
    /// A person who opened an auction in the window starting at `stime`.
    pub struct Q8Row {
        id: i64 = "id",
        name: String = "name",
        stime: i64 = "stime",
    }
}

/// q8.
#[derive(Clone, Debug, Default)]
pub struct Q8;

/// The window length.
const LENGTH: Duration = Duration::from_secs(10);

fn person(event: Event) -> Option<Person> {
    match event {
        Event::Person(p) => Some(p),
        _ => None,
    }
}

fn auction(event: Event) -> Option<Auction> {
    match event {
        Event::Auction(a) => Some(a),
        _ => None,
    }
}

impl Query for Q8 {
    const NAME: &'static str = "q8";
    const WINDOWED: bool = true;
    const MINIBATCH: bool = true;
    const ARRIVAL_TIME: bool = true;
    type Row = Q8Row;

    fn native<'s>(&self, events: Stream<'s, Event>, _: &Params) -> Stream<'s, Change<Q8Row>> {
        let people = events
            .clone()
            .flat_map(person)
            .map(|p| (p.id, p.date_time as Time, p.name));
        let sellers = events
            .flat_map(auction)
            .map(|a| (a.seller, a.date_time as Time, ()));
        let window = WindowSpec::tumbling(LENGTH);
        let (joined, _, _) =
            people.cogroup_by_event_window(sellers, window, 0, |_, names, sellers| {
                let mut names: Vec<String> = names.into_iter().map(|(_, name)| name).collect();
                if sellers.is_empty() {
                    names.clear();
                }
                names.sort();
                names.dedup();
                names
            });
        joined.flat_map(|w| {
            let (id, stime) = (w.key, w.start as i64);
            w.value
                .into_iter()
                .map(move |name| (Q8Row { id, name, stime }, 1))
        })
    }

    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        _: &Params,
    ) -> Option<Stream<'s, Change<Q8Row>>> {
        let people = events
            .flat_map(person)
            .window(LENGTH, LENGTH)
            .map(|p| ((p.id, p.name), ()))
            .reduce_by_key(|_, _| ())
            .map(|((id, name), ())| (id, name));
        let sellers = events
            .flat_map(auction)
            .window(LENGTH, LENGTH)
            .map(|a| (a.seller, ()))
            .reduce_by_key(|_, _| ());
        let rows = people.join(&sellers).transform(|batch| {
            let stime = batch.time() as i64 - LENGTH.as_millis() as i64;
            batch.map(move |(id, (name, ()))| (Q8Row { id, name, stime }, 1))
        });
        Some(rows.into_stream())
    }
}
