//! The generator's configuration: the options of the reference's `nexmark` table source, with
//! the reference's defaults, and how one configuration splits into parallel generators.

use std::path::Path;

use thiserror::Error;

/// Where an option's value came from, for error messages.
#[derive(Clone, Debug)]
pub enum Origin {
    /// A command-line flag (`--first-event-rate`).
    Flag(String),
    /// Line `line` of an options file.
    File {
        /// The options file.
        path: std::path::PathBuf,
        /// Its 1-based line number.
        line: usize,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "--{flag}"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// A bad option.
#[derive(Debug, Error)]
pub enum OptionsError {
    /// The options file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line that is not `key = value`, an unknown key, or a bad value.
    #[error("{origin}: {message}")]
    Bad {
        /// Where.
        origin: Origin,
        /// What is wrong.
        message: String,
    },
}

/// Every option of the generator, as the reference's `NexmarkConfiguration` holds them
/// (`int`s where Java has `int`s, so that the arithmetic overflows where Java's would not be
/// asked to: values are bounded when set).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NexmarkOptions {
    /// `first-event.rate`: events per second of event time (across all generators).
    pub first_event_rate: i32,
    /// `person.proportion`.
    pub person_proportion: i32,
    /// `auction.proportion`.
    pub auction_proportion: i32,
    /// `bid.proportion`.
    pub bid_proportion: i32,
    /// `person.avg-size` in bytes.
    pub person_avg_size: i32,
    /// `auction.avg-size` in bytes.
    pub auction_avg_size: i32,
    /// `bid.avg-size` in bytes.
    pub bid_avg_size: i32,
    /// `bid.hot-ratio.auctions`.
    pub hot_auction_ratio: i32,
    /// `bid.hot-ratio.bidders`.
    pub hot_bidders_ratio: i32,
    /// `auction.hot-ratio.sellers`.
    pub hot_sellers_ratio: i32,
    /// `auction.in-flight`.
    pub in_flight_auctions: i32,
    /// `person.active`.
    pub active_people: i32,
    /// `first-event.id`.
    pub first_event_id: i64,
    /// `base-time`: the event time of event number 0, ms since the Unix epoch.
    pub base_time: i64,
    /// `random.seed`: the seed of the first generator's random.
    pub seed: i64,
}

impl Default for NexmarkOptions {
    /// The reference's defaults, with `base-time` 2024-01-01T00:00:00Z and seed 42 (the
    /// values of `public.options`; upstream takes the wall clock and an unseeded random).
    fn default() -> Self {
        NexmarkOptions {
            first_event_rate: 10_000,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            person_avg_size: 200,
            auction_avg_size: 500,
            bid_avg_size: 100,
            hot_auction_ratio: 2,
            hot_bidders_ratio: 4,
            hot_sellers_ratio: 4,
            in_flight_auctions: 100,
            active_people: 1000,
            first_event_id: 1,
            base_time: 1_704_067_200_000,
            seed: 42,
        }
    }
}

/// An option: its key in the options file (the flag is the key with `.` → `-`), the bounds
/// of its value, and where it lives in [`NexmarkOptions`].
struct Key {
    name: &'static str,
    min: i64,
    max: i64,
    field: fn(&mut NexmarkOptions) -> Field<'_>,
}

enum Field<'a> {
    Int(&'a mut i32),
    Long(&'a mut i64),
}

/// The largest proportion, size or ratio accepted: large enough for any experiment, small
/// enough that the generator's `int` arithmetic cannot overflow.
const MAX_SMALL: i64 = 1 << 20;

/// The largest average size: every `extra` (at most 1.2 × the average) then comes from the
/// text pool (the reference takes only extras under half the pool from it).
const MAX_AVG_SIZE: i64 = 400_000;

const KEYS: &[Key] = &[
    Key {
        name: "first-event.rate",
        min: 1,
        max: 1_000_000_000,
        field: |o| Field::Int(&mut o.first_event_rate),
    },
    Key {
        name: "person.proportion",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.person_proportion),
    },
    Key {
        name: "auction.proportion",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.auction_proportion),
    },
    Key {
        name: "bid.proportion",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.bid_proportion),
    },
    Key {
        name: "person.avg-size",
        min: 1,
        max: MAX_AVG_SIZE,
        field: |o| Field::Int(&mut o.person_avg_size),
    },
    Key {
        name: "auction.avg-size",
        min: 1,
        max: MAX_AVG_SIZE,
        field: |o| Field::Int(&mut o.auction_avg_size),
    },
    Key {
        name: "bid.avg-size",
        min: 1,
        max: MAX_AVG_SIZE,
        field: |o| Field::Int(&mut o.bid_avg_size),
    },
    Key {
        name: "bid.hot-ratio.auctions",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.hot_auction_ratio),
    },
    Key {
        name: "bid.hot-ratio.bidders",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.hot_bidders_ratio),
    },
    Key {
        name: "auction.hot-ratio.sellers",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.hot_sellers_ratio),
    },
    Key {
        name: "auction.in-flight",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.in_flight_auctions),
    },
    Key {
        name: "person.active",
        min: 1,
        max: MAX_SMALL,
        field: |o| Field::Int(&mut o.active_people),
    },
    Key {
        name: "first-event.id",
        min: 0,
        max: 1 << 50,
        field: |o| Field::Long(&mut o.first_event_id),
    },
    Key {
        name: "base-time",
        min: 0,
        max: 1 << 50,
        field: |o| Field::Long(&mut o.base_time),
    },
    Key {
        name: "random.seed",
        min: i64::MIN,
        max: i64::MAX,
        field: |o| Field::Long(&mut o.seed),
    },
];

/// Keys of the reference's table source that do not change the events (rates of emission,
/// run length): accepted in an options file and ignored, so that the reference's own files load.
const IGNORED_KEYS: &[&str] = &[
    "rate.shape",
    "rate.period",
    "rate.limited",
    "next-event.rate",
    "keep-alive",
    "stop-at",
    "max-emit-speed",
    "events.num",
];

impl NexmarkOptions {
    /// The option keys this generator reads, in the order of the reference's table.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        KEYS.iter().map(|k| k.name)
    }

    /// Sets option `key` (an options-file key) to `value`, checking its bounds.
    pub fn set(&mut self, key: &str, value: &str, origin: Origin) -> Result<(), OptionsError> {
        let bad = |message: String| OptionsError::Bad {
            origin: origin.clone(),
            message,
        };
        if IGNORED_KEYS.contains(&key) {
            return Ok(());
        }
        let Some(option) = KEYS.iter().find(|k| k.name == key) else {
            return Err(bad(format!(
                "unknown option {key:?} (known: {})",
                Self::keys().collect::<Vec<_>>().join(", ")
            )));
        };
        // Sizes may carry a byte unit (`200b`, `1kb`), as the reference's MemorySize does.
        let (digits, scale) = match value.trim().to_ascii_lowercase() {
            v if v.ends_with("kb") => (v.trim_end_matches("kb").trim().to_string(), 1024),
            v if v.ends_with('b') && key.ends_with("avg-size") => {
                (v.trim_end_matches('b').trim().to_string(), 1)
            }
            v => (v, 1),
        };
        let parsed: i64 = digits
            .parse::<i64>()
            .ok()
            .and_then(|v| v.checked_mul(scale))
            .ok_or_else(|| bad(format!("{key} = {value:?} is not an integer")))?;
        if !(option.min..=option.max).contains(&parsed) {
            return Err(bad(format!(
                "{key} = {parsed} is out of range [{}, {}]",
                option.min, option.max
            )));
        }
        match (option.field)(self) {
            Field::Int(slot) => *slot = parsed as i32,
            Field::Long(slot) => *slot = parsed,
        }
        Ok(())
    }

    /// Reads an options file (`key = value` lines, `#` comments) over these options.
    pub fn read_file(&mut self, path: &Path) -> Result<(), OptionsError> {
        let text = std::fs::read_to_string(path).map_err(|source| OptionsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        for (index, raw) in text.lines().enumerate() {
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: index + 1,
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(OptionsError::Bad {
                    origin,
                    message: format!("expected `key = value`, found {line:?}"),
                });
            };
            self.set(key.trim(), value.trim(), origin)?;
        }
        Ok(())
    }

    /// The sum of the three proportions: one "epoch" of event ids.
    pub fn total_proportion(&self) -> i64 {
        self.person_proportion as i64 + self.auction_proportion as i64 + self.bid_proportion as i64
    }
}

/// The reference's bound on an unbounded run's event count: `Long.MAX_VALUE` scaled down by the
/// largest average size (it only sizes the split of the event-id space between generators).
pub fn unbounded_events(options: &NexmarkOptions) -> i64 {
    let largest = options
        .person_avg_size
        .max(options.auction_avg_size)
        .max(options.bid_avg_size) as i64;
    i64::MAX / (options.total_proportion() * largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_file_sets_keys_and_names_the_line_of_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.options");
        std::fs::write(
            &path,
            "# c\nrate.shape = SQUARE\nbid.avg-size = 300b # x\nperson.active = 7\n",
        )
        .unwrap();
        let mut options = NexmarkOptions::default();
        options.read_file(&path).unwrap();
        assert_eq!((options.bid_avg_size, options.active_people), (300, 7));
        std::fs::write(&path, "\nbid.proportion = 0\n").unwrap();
        let error = options.read_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("o.options:2") && error.contains("bid.proportion"),
            "{error}"
        );
        std::fs::write(&path, "nonsense\n").unwrap();
        assert!(options
            .read_file(&path)
            .unwrap_err()
            .to_string()
            .contains(":1"));
        std::fs::write(&path, "no.such = 1\n").unwrap();
        assert!(options
            .read_file(&path)
            .unwrap_err()
            .to_string()
            .contains("unknown option"));
    }
}
