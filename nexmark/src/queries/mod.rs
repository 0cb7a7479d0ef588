//! The Nexmark queries q0–q23, one file each, as the suite's SQL defines them
//! (`nexmark-flink/src/main/resources/queries/`), written with Sluice's stream API.
//!
//! **Native mode has Flink's semantics.** The events arrive stamped with their event time
//! under the 4 s bounded-out-of-orderness watermark of the suite's DDL
//! ([`WATERMARK_MS`]); windows fire when the watermark passes their end, and non-windowed
//! aggregates, joins and top-N emit an updating result — a changelog of inserts and
//! retractions ([`Change`]) whose final table is the query's answer. When SQL leaves an order
//! open (ties in `ROW_NUMBER`), a query breaks ties by the remaining columns, so that its
//! answer never depends on arrival order; each query's docs say how.
//!
//! **Micro-batch mode** has Spark Streaming's: the queries the D-Stream API expresses run
//! over batches of arrival time, windows over arrival time. Each such query's docs say where
//! its result differs from native by design.
//!
//! A query is a type implementing [`Query`]; [`visit`] finds one by name, so that the runner,
//! the CLI and the benchmark handle every query with one generic function.

use std::path::PathBuf;
use std::sync::Arc;

use sluice_engine::hash::HashMap;
use sluice_engine::Stream;
use sluice_minibatch::DStream;

use crate::model::Event;
use crate::table::{Change, Row};

pub mod q0;
pub mod q1;
pub mod q11;
pub mod q12;
pub mod q2;
pub mod q5;
pub mod q7;
pub mod q8;

/// The suite's watermark: 4 s behind the highest event time seen (`ddl_gen.sql`).
pub const WATERMARK_MS: u64 = 4000;

/// What some queries need besides the events.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// q13's bounded side input: `key → value`.
    pub side_input: Arc<HashMap<i64, String>>,
    /// Where q10 writes its partitioned files, if anywhere.
    pub q10_dir: Option<PathBuf>,
}

/// One Nexmark query.
pub trait Query: Clone + Default + 'static {
    /// Its name: `q0` … `q23`.
    const NAME: &'static str;
    /// Whether it runs in micro-batch mode.
    const MINIBATCH: bool = false;
    /// Its result's rows.
    type Row: Row;

    /// The native dataflow over events stamped with their event time.
    fn native<'s>(
        &self,
        events: Stream<'s, Event>,
        params: &Params,
    ) -> Stream<'s, Change<Self::Row>>;

    /// The micro-batch dataflow over batches of arrival time, if the D-Stream API expresses
    /// it ([`MINIBATCH`](Query::MINIBATCH)).
    fn minibatch<'s>(
        &self,
        events: DStream<'s, Event>,
        params: &Params,
    ) -> Option<Stream<'s, Change<Self::Row>>> {
        let _ = (events, params);
        None
    }
}

/// Something done with a query whose type is only known by name.
pub trait Visitor {
    /// What it gives.
    type Output;
    /// Does it with query `Q`.
    fn visit<Q: Query>(self) -> Self::Output;
}

macro_rules! queries {
    ($($module:ident :: $query:ident),* $(,)?) => {
        /// Every query's name, in order.
        pub const NAMES: &[&str] = &[$(stringify!($module)),*];

        /// Runs `visitor` with the query named `name`, if there is one.
        pub fn visit<V: Visitor>(name: &str, visitor: V) -> Option<V::Output> {
            match name {
                $(stringify!($module) => Some(visitor.visit::<$module::$query>()),)*
                _ => None,
            }
        }
    };
}

queries!(
    q0::Q0,
    q1::Q1,
    q2::Q2,
    q5::Q5,
    q7::Q7,
    q8::Q8,
    q11::Q11,
    q12::Q12,
);

/// Bids only, for the many queries over the `bid` view.
pub(crate) fn bids(event: Event) -> Option<crate::model::Bid> {
    match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    }
}
