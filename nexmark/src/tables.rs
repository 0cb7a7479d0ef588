//! The generator's fixed tables, made once per process from the reference's fixed seeds: the
//! 1 MiB text pool that every event's `extra` is cut from (seed 1) and the 10,004 bid channels
//! with their URLs (seed 2).
//!
//! Events refer into these tables ([`Extra`], [`Channel`]) instead of copying text, so that a
//! bid is a few words and generating one allocates nothing; the text is the reference's.
//!
//! ```
//! use sluice_nexmark::tables::Channel;
//! assert_eq!(Channel::hot(0).name(), "Google");
//! assert_eq!(Channel::table(1).name(), "channel-1");
//! assert!(Channel::table(1).url().starts_with("https://www.nexmark.com/"));
//! ```

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::random::SplittableRandom;

/// Length of the text pool.
pub const POOL_LEN: usize = 1024 * 1024;
/// The hot channels, drawn half of the time.
pub const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
/// Channels of the table, drawn the other half.
pub const TABLE_CHANNELS: usize = 10_000;

/// The text pool: 1 MiB of `H`…`z` made by the reference's `nextExactString(random(1), 2^20)`.
pub fn pool() -> &'static str {
    static POOL: OnceLock<String> = OnceLock::new();
    POOL.get_or_init(|| exact_string(&mut SplittableRandom::new(1), POOL_LEN))
}

/// The reference's `nextExactString` without a pool: six letters per `nextInt()`, from Java's
/// signed remainder (so negative draws give the characters below `a`).
pub fn exact_string(random: &mut SplittableRandom, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let (mut rnd, mut left) = (0i32, 0);
    for _ in 0..len {
        if left == 0 {
            rnd = random.next_int();
            left = 6;
        }
        out.push(char::from((b'a' as i32 + rnd % 26) as u8));
        rnd /= 26;
        left -= 1;
    }
    out
}

/// The reference's `nextString(maxLength, special)`: 3 to `max - 1` characters, each a letter
/// or (one in 13) `special`, trimmed of spaces.
pub fn next_string(random: &mut SplittableRandom, max: i32, special: char) -> String {
    let len = 3 + random.next_int_below(max - 3);
    let mut out = String::with_capacity(len as usize);
    for _ in 0..len {
        if random.next_int_below(13) == 0 {
            out.push(special);
        } else {
            out.push(char::from(b'a' + random.next_int_below(26) as u8));
        }
    }
    let trimmed = out.trim_matches(' ');
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

/// A slice of the text pool: an event's `extra`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Extra {
    offset: u32,
    len: u32,
}

impl Extra {
    /// The pool's `[offset, offset + len)`; both must lie in the pool.
    pub fn new(offset: usize, len: usize) -> Self {
        assert!(offset + len <= POOL_LEN, "extra outside the text pool");
        Extra {
            offset: offset as u32,
            len: len as u32,
        }
    }
    /// The text.
    pub fn as_str(&self) -> &'static str {
        &pool()[self.offset as usize..(self.offset + self.len) as usize]
    }
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bid's channel: one of the four hot ones or one of the table's 10,000, with its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Channel(u16);

impl Channel {
    /// Hot channel `i` (0–3: Google, Facebook, Baidu, Apple).
    pub fn hot(i: usize) -> Self {
        assert!(i < HOT_CHANNELS.len());
        Channel(i as u16)
    }
    /// Channel `i` of the table (`channel-i`).
    pub fn table(i: usize) -> Self {
        assert!(i < TABLE_CHANNELS);
        Channel((HOT_CHANNELS.len() + i) as u16)
    }
    /// Its name.
    pub fn name(self) -> &'static str {
        &channels()[self.0 as usize].0
    }
    /// Its URL.
    pub fn url(self) -> &'static str {
        &channels()[self.0 as usize].1
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// (name, URL) of the hot channels then the table's, from the reference's `random(2)`.
fn channels() -> &'static [(String, String)] {
    static CHANNELS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    CHANNELS.get_or_init(|| {
        let mut random = SplittableRandom::new(2);
        let url = |random: &mut SplittableRandom| {
            let mut dirs = (0..3).map(|_| next_string(random, 5, '_'));
            let (a, b, c) = (
                dirs.next().unwrap(),
                dirs.next().unwrap(),
                dirs.next().unwrap(),
            );
            format!("https://www.nexmark.com/{a}/{b}/{c}/item.htm?query=1")
        };
        let mut table: Vec<(String, String)> = HOT_CHANNELS
            .iter()
            .map(|name| (name.to_string(), url(&mut random)))
            .collect();
        for i in 0..TABLE_CHANNELS {
            let mut address = url(&mut random);
            if random.next_int_below(10) > 0 {
                let id = (i as i32).reverse_bits().wrapping_abs();
                address.push_str(&format!("&channel_id={id}"));
            }
            table.push((format!("channel-{i}"), address));
        }
        table
    })
}
