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

pub mod dates;

pub mod q0;
pub mod q1;
pub mod q10;
pub mod q11;
pub mod q12;
pub mod q13;
pub mod q14;
pub mod q15;
pub mod q16;
pub mod q17;
pub mod q18;
pub mod q19;
pub mod q2;
pub mod q20;
pub mod q21;
pub mod q22;
pub mod q23;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;
pub mod q9;

/// The suite's watermark: 4 s behind the highest event time seen (`ddl_gen.sql`).
pub const WATERMARK_MS: u64 = 4000;

/// What some queries need besides the events.
#[derive(Clone, Debug)]
pub struct Params {
    /// q13's bounded side input: `key → value`.
    pub side_input: Arc<HashMap<i64, String>>,
    /// Where q10 writes its partitioned files, if anywhere.
    pub q10_dir: Option<PathBuf>,
}

impl Default for Params {
    /// The suite's side input ([`q13::default_side_input`]: what its `side_input_gen.sh`
    /// writes), and no files for q10.
    fn default() -> Self {
        Params {
            side_input: Arc::new(q13::default_side_input()),
            q10_dir: None,
        }
    }
}

/// One Nexmark query.
pub trait Query: Clone + Default + 'static {
    /// Its name: `q0` … `q23`.
    const NAME: &'static str;
    /// Whether it runs in micro-batch mode.
    const MINIBATCH: bool = false;
    /// Whether its micro-batch plan keeps state across batches (`update_state_by_key`,
    /// incremental windows), which needs a checkpoint directory, as in Spark. Only then does a
    /// run checkpoint: the others have nothing to recover that their source cannot replay, and a
    /// checkpoint of a large window's batches cost q8 a third of its time.
    const MINIBATCH_CHECKPOINT: bool = false;
    /// Whether its micro-batch result depends on arrival time (windows over batches), so that
    /// it differs from the native result by design.
    const ARRIVAL_TIME: bool = false;
    /// Whether its results are window results, which fire when the watermark passes their end
    /// (so the end of a bounded input fires them early).
    const WINDOWED: bool = false;
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
    q3::Q3,
    q4::Q4,
    q5::Q5,
    q6::Q6,
    q7::Q7,
    q8::Q8,
    q9::Q9,
    q10::Q10,
    q11::Q11,
    q12::Q12,
    q13::Q13,
    q14::Q14,
    q15::Q15,
    q16::Q16,
    q17::Q17,
    q18::Q18,
    q19::Q19,
    q20::Q20,
    q21::Q21,
    q22::Q22,
    q23::Q23,
);

/// Whether the query named `name` has a micro-batch dataflow.
pub fn runs_in_minibatch(name: &str) -> bool {
    struct Minibatch;
    impl Visitor for Minibatch {
        type Output = bool;
        fn visit<Q: Query>(self) -> bool {
            Q::MINIBATCH
        }
    }
    visit(name, Minibatch).unwrap_or(false)
}

/// Whether the query named `name`, in micro-batch mode, windows over arrival time, so that its
/// result differs from native mode's by design.
pub fn arrival_time_in_minibatch(name: &str) -> bool {
    struct ArrivalTime;
    impl Visitor for ArrivalTime {
        type Output = bool;
        fn visit<Q: Query>(self) -> bool {
            Q::ARRIVAL_TIME
        }
    }
    visit(name, ArrivalTime).unwrap_or(false)
}

/// Whether the query named `name` emits window results (see [`Query::WINDOWED`]).
pub fn windowed(name: &str) -> bool {
    struct Windowed;
    impl Visitor for Windowed {
        type Output = bool;
        fn visit<Q: Query>(self) -> bool {
            Q::WINDOWED
        }
    }
    visit(name, Windowed).unwrap_or(false)
}

/// Bids only, for the many queries over the `bid` view.
pub(crate) fn bids(event: Event) -> Option<crate::model::Bid> {
    match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    }
}
