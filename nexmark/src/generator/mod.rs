//! The Nexmark event generator of Flink's Nexmark benchmark (github nexmark/nexmark, module
//! `nexmark-flink`), ported draw for draw, with the seed and the base time as options: the same
//! options give the same events, ids, times and strings as the reference.
//!
//! **One random sequence per generator.** The reference draws every field of every event from
//! one `SplittableRandom`, in order, so event `k` cannot be made without the `k` before it, and
//! the event set depends on how many generators share the work: with `P` generators (Flink's
//! source at parallelism `P`), generator `i` makes the `i`-th of `P` consecutive ranges of event
//! ids, on a timeline `P` times sparser, from its own seed ([`EventSet::generator`]). So a
//! query's input is fixed by the options, the event count and the generator count — never by
//! how many workers run the generators.
//!
//! ```
//! use sluice_nexmark::generator::EventSet;
//! use sluice_nexmark::model::Event;
//! let events: Vec<Event> = EventSet::new(Default::default(), 1, Some(100)).iter().collect();
//! assert_eq!(events.len(), 100);
//! // The first event of the default configuration is an auction (event id 2).
//! assert!(matches!(events[0], Event::Auction(_)));
//! ```

mod config;

use std::sync::Arc;

pub use crate::random::SplittableRandom;
pub use config::{unbounded_events, NexmarkOptions, OptionsError, Origin};

use crate::model::{Auction, Bid, Channel, Event, Extra, Person};
use crate::tables::{self, POOL_LEN};

const FIRST_PERSON_ID: i64 = 1000;
const FIRST_AUCTION_ID: i64 = 1000;
const FIRST_CATEGORY_ID: i64 = 10;
const HOT_RATIO: i64 = 100;
const PERSON_ID_LEAD: i64 = 10;
const AUCTION_ID_LEAD: i64 = 10;
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];

/// The events of one configuration: its options, how many generators make them, and how many
/// there are in total (`None`: endless).
#[derive(Clone, Debug, PartialEq)]
pub struct EventSet {
    options: Arc<NexmarkOptions>,
    generators: usize,
    events: Option<u64>,
}

impl EventSet {
    /// `events` events (in total) of `options`, made by `generators` generators.
    pub fn new(options: NexmarkOptions, generators: usize, events: Option<u64>) -> Self {
        assert!(generators > 0, "at least one generator");
        EventSet {
            options: Arc::new(options),
            generators,
            events,
        }
    }
    /// The options.
    pub fn options(&self) -> &NexmarkOptions {
        &self.options
    }
    /// How many generators make the events.
    pub fn generators(&self) -> usize {
        self.generators
    }
    /// How many events there are, if bounded.
    pub fn events(&self) -> Option<u64> {
        self.events
    }

    /// Generator `i` of [`generators`](Self::generators), as Flink's source subtask `i` runs
    /// it: the reference's `GeneratorConfig.split` of the event-id space, seeded with
    /// `random.seed` plus how far its range starts after the first.
    pub fn generator(&self, i: usize) -> Generator {
        let n = self.generators as i64;
        let max_events = match self.events {
            Some(events) => events as i64,
            None => unbounded_events(&self.options),
        };
        let share = max_events / n;
        let first_event_id = self.options.first_event_id + share * i as i64;
        let events = if i as i64 == n - 1 {
            max_events - share * (n - 1)
        } else {
            share
        };
        let seed = self
            .options
            .seed
            .wrapping_add(first_event_id - self.options.first_event_id);
        Generator {
            options: self.options.clone(),
            inter_event_delay_us: 1_000_000.0 / self.options.first_event_rate as f64 * n as f64,
            first_event_id,
            events,
            random: SplittableRandom::new(seed),
            made: 0,
        }
    }

    /// Every event, the generators' taken in turn (generator 0's first, generator 1's first,
    /// …): the order of their event times.
    pub fn iter(&self) -> InTurn {
        self.in_turn(0..self.generators)
    }

    /// The events of the generators `which`, taken in turn: one worker's share.
    pub fn in_turn(&self, which: impl IntoIterator<Item = usize>) -> InTurn {
        InTurn {
            generators: which.into_iter().map(|i| self.generator(i)).collect(),
            turn: 0,
        }
    }
}

/// Several generators' events, one from each in turn, until all are done.
#[derive(Clone, Debug)]
pub struct InTurn {
    generators: Vec<Generator>,
    turn: usize,
}

impl Iterator for InTurn {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let n = self.generators.len();
        for _ in 0..n {
            let generator = &mut self.generators[self.turn];
            self.turn = (self.turn + 1) % n;
            if let Some(event) = generator.next() {
                return Some(event);
            }
        }
        None
    }
}

/// One generator: its range of event ids and its random sequence.
#[derive(Clone, Debug)]
pub struct Generator {
    options: Arc<NexmarkOptions>,
    inter_event_delay_us: f64,
    first_event_id: i64,
    /// How many events it makes.
    events: i64,
    random: SplittableRandom,
    /// How many it has made.
    made: i64,
}

impl Generator {
    /// How many events it has made.
    pub fn made(&self) -> u64 {
        self.made as u64
    }
    /// How many it makes in all.
    pub fn total(&self) -> u64 {
        self.events as u64
    }

    /// The event time of event number `number` (`timestampForEvent`).
    fn timestamp(&self, number: i64) -> i64 {
        self.options.base_time + ((number as f64 * self.inter_event_delay_us) as i64) / 1000
    }

    /// The event time of the next event, if there is one: a watermark for this generator.
    pub fn next_time(&self) -> Option<i64> {
        (self.made < self.events).then(|| self.timestamp(1 + self.made))
    }

    fn last_person(&self, event_id: i64) -> i64 {
        let o = &self.options;
        let total = o.total_proportion();
        let epoch = event_id / total;
        let offset = (event_id % total).min(o.person_proportion as i64 - 1);
        epoch * o.person_proportion as i64 + offset
    }

    fn last_auction(&self, event_id: i64) -> i64 {
        let o = &self.options;
        let (persons, auctions) = (o.person_proportion as i64, o.auction_proportion as i64);
        let total = o.total_proportion();
        let mut epoch = event_id / total;
        let mut offset = event_id % total;
        if offset < persons {
            epoch -= 1;
            offset = auctions - 1;
        } else if offset >= persons + auctions {
            offset = auctions - 1;
        } else {
            offset -= persons;
        }
        epoch * auctions + offset
    }

    fn random_person(&mut self, event_id: i64) -> i64 {
        let people = self.last_person(event_id) + 1;
        let active = people.min(self.options.active_people as i64);
        people - active + self.random.next_long_below(active + PERSON_ID_LEAD)
    }

    fn random_auction(&mut self, event_id: i64) -> i64 {
        let max = self.last_auction(event_id);
        let min = (max - self.options.in_flight_auctions as i64).max(0);
        min + self.random.next_long_below(max - min + 1 + AUCTION_ID_LEAD)
    }

    fn price(&mut self) -> i64 {
        (10f64.powf(self.random.next_double() * 6.0) * 100.0).round() as i64
    }

    fn string(&mut self, max: i32) -> String {
        tables::next_string(&mut self.random, max, ' ')
    }

    /// `nextExtra`: a slice of the pool that brings the event to about `average` bytes.
    fn extra(&mut self, current: usize, average: i32) -> Extra {
        let average = average as i64;
        let current = current as i64;
        if current > average {
            return Extra::default();
        }
        let wanted = average - current;
        let delta = (wanted as f64 * 0.2).round() as i64;
        let size = wanted - delta
            + if delta == 0 {
                0
            } else {
                self.random.next_int_below(2 * delta as i32) as i64
            };
        let size = size as usize;
        debug_assert!(
            size < POOL_LEN / 2,
            "avg-size is bounded so extras fit the pool"
        );
        let offset = self.random.next_int_below((POOL_LEN - size) as i32) as usize;
        Extra::new(offset, size)
    }

    fn person(&mut self, event_id: i64, date_time: i64) -> Person {
        let id = self.last_person(event_id) + FIRST_PERSON_ID;
        let first = FIRST_NAMES[self.random.next_int_below(11) as usize];
        let last = LAST_NAMES[self.random.next_int_below(9) as usize];
        let name = format!("{first} {last}");
        let email_address = format!("{}@{}.com", self.string(7), self.string(5));
        let cards: Vec<String> = (0..4)
            .map(|_| format!("{:04}", self.random.next_int_below(10_000)))
            .collect();
        let credit_card = cards.join(" ");
        let city = CITIES[self.random.next_int_below(10) as usize];
        let state = STATES[self.random.next_int_below(6) as usize];
        let size = 8 + name.len() + email_address.len() + credit_card.len() + city.len() + 2;
        let extra = self.extra(size, self.options.person_avg_size);
        Person {
            id,
            name,
            email_address,
            credit_card,
            city: city.to_string(),
            state: state.to_string(),
            date_time,
            extra,
        }
    }

    fn auction(&mut self, number: i64, event_id: i64, date_time: i64) -> Auction {
        let id = self.last_auction(event_id) + FIRST_AUCTION_ID;
        let seller = if self.random.next_int_below(self.options.hot_sellers_ratio) > 0 {
            (self.last_person(event_id) / HOT_RATIO) * HOT_RATIO
        } else {
            self.random_person(event_id)
        } + FIRST_PERSON_ID;
        let category = FIRST_CATEGORY_ID + self.random.next_int_below(5) as i64;
        let initial_bid = self.price();
        let o = &self.options;
        let auction_events =
            (o.in_flight_auctions as i64 * o.total_proportion()) / o.auction_proportion as i64;
        let horizon = self.timestamp(number + auction_events) - date_time;
        let expires = date_time + 1 + self.random.next_long_below((horizon * 2).max(1));
        let item_name = self.string(20);
        let description = self.string(100);
        let reserve = initial_bid + self.price();
        let size = 8 + item_name.len() + description.len() + 40;
        let extra = self.extra(size, self.options.auction_avg_size);
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time,
            expires,
            seller,
            category,
            extra,
        }
    }

    fn bid(&mut self, event_id: i64, date_time: i64) -> Bid {
        let auction = if self.random.next_int_below(self.options.hot_auction_ratio) > 0 {
            (self.last_auction(event_id) / HOT_RATIO) * HOT_RATIO
        } else {
            self.random_auction(event_id)
        } + FIRST_AUCTION_ID;
        let bidder = if self.random.next_int_below(self.options.hot_bidders_ratio) > 0 {
            (self.last_person(event_id) / HOT_RATIO) * HOT_RATIO + 1
        } else {
            self.random_person(event_id)
        } + FIRST_PERSON_ID;
        let price = self.price();
        let channel = if self.random.next_int_below(2) > 0 {
            Channel::hot(self.random.next_int_below(4) as usize)
        } else {
            Channel::table(self.random.next_int_below(10_000) as usize)
        };
        // The reference adds the person-id base to bidders a second time.
        let bidder = bidder + FIRST_PERSON_ID;
        let extra = self.extra(32, self.options.bid_avg_size);
        Bid {
            auction,
            bidder,
            price,
            channel,
            date_time,
            extra,
        }
    }
}

impl Iterator for Generator {
    type Item = Event;

    /// The next event (`NexmarkGenerator.nextEvent`), or `None` after the last.
    fn next(&mut self) -> Option<Event> {
        if self.made >= self.events {
            return None;
        }
        let number = 1 + self.made;
        let date_time = self.timestamp(number);
        let event_id = self.first_event_id + number;
        let rem = event_id % self.options.total_proportion();
        let persons = self.options.person_proportion as i64;
        let event = if rem < persons {
            Event::Person(self.person(event_id, date_time))
        } else if rem < persons + self.options.auction_proportion as i64 {
            Event::Auction(self.auction(number, event_id, date_time))
        } else {
            Event::Bid(self.bid(event_id, date_time))
        };
        self.made += 1;
        Some(event)
    }
}
