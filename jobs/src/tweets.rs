//! A synthetic tweet stream for the windowed-hashtags job: hashtags with Zipf popularity, event
//! times at a steady rate, and an arrival order with bounded disorder and a fraction of tweets
//! that arrive far too late — all fixed by seeds, so a run can be repeated exactly.
//!
//! Tweet `i` happens at event time `i × 1000 / per_second` ms and carries 1 to `max_tags`
//! hashtags drawn from a Zipf distribution (the word-count corpus's sampler, with `#` in front).
//! Its *arrival* is its event time plus a delay: uniform in `[0, disorder]` ms, or, for a
//! `late_fraction` of tweets, more than `late_by` ms — beyond any window plus the allowed
//! lateness, so those tweets are too late for every window they belong to. Tweets arrive in
//! order of event time plus delay (ties by index).
//!
//! ```
//! use sluice_jobs::tweets::{Arrivals, TweetSpec};
//! let spec = TweetSpec { tweets: 100, ..TweetSpec::default() };
//! let arrivals = Arrivals { seed: 1, disorder_ms: 50, ..Arrivals::default() }.schedule(&spec);
//! assert_eq!(arrivals.len(), 100);
//! assert!(arrivals.iter().all(|(at, i)| *at >= spec.tweet(*i).event_ms));
//! let tweet = spec.tweet(7);
//! assert_eq!(tweet.event_ms, 7);
//! assert!(tweet.tags.iter().all(|t| t.starts_with('#')));
//! ```

use serde::{Deserialize, Serialize};
use sluice_engine::sources::corpus::{Corpus, CorpusSpec, SplitMix64};
use sluice_engine::Time;

/// The tweets: how many, how fast in event time, which hashtags.
#[derive(Clone, Debug)]
pub struct TweetSpec {
    /// How many tweets.
    pub tweets: u64,
    /// The seed of their hashtags and event times.
    pub seed: u64,
    /// Tweets per second of event time.
    pub per_second: f64,
    /// Distinct hashtags, and the Zipf exponent of their popularity.
    pub hashtags: usize,
    /// The Zipf exponent of the hashtags' popularity.
    pub skew: f64,
    /// Hashtags per tweet: 1 to this many.
    pub max_tags: usize,
}

impl Default for TweetSpec {
    fn default() -> Self {
        TweetSpec {
            tweets: 100_000,
            seed: 42,
            per_second: 1000.0,
            hashtags: 1000,
            skew: 1.1,
            max_tags: 3,
        }
    }
}

/// One tweet: when it happened, and its hashtags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tweet {
    /// When it happened, in ms of event time.
    pub event_ms: Time,
    /// Its hashtags.
    pub tags: Vec<String>,
}

impl TweetSpec {
    /// The hashtag sampler: build it once to make many tweets with [`tweet_in`](Self::tweet_in).
    pub fn corpus(&self) -> Corpus {
        Corpus::new(CorpusSpec {
            seed: self.seed,
            vocab: self.hashtags.max(1),
            skew: self.skew,
            words_per_line: self.max_tags.max(1),
        })
    }
    /// Tweet `i`.
    pub fn tweet(&self, i: u64) -> Tweet {
        self.tweet_in(&self.corpus(), i)
    }
    /// All tweets, in event-time order.
    pub fn all(&self) -> Vec<Tweet> {
        let corpus = self.corpus();
        (0..self.tweets)
            .map(|i| self.tweet_in(&corpus, i))
            .collect()
    }
    /// Tweet `i`, drawn from this spec's [`corpus`](Self::corpus).
    pub fn tweet_in(&self, corpus: &Corpus, i: u64) -> Tweet {
        let count =
            1 + (SplitMix64::at(self.seed ^ 0x7A65, i).next_u64() % self.max_tags.max(1) as u64);
        let tags = corpus
            .line(i)
            .split(' ')
            .take(count as usize)
            .map(|word| format!("#{word}"))
            .collect();
        Tweet {
            event_ms: (i as f64 * 1000.0 / self.per_second) as Time,
            tags,
        }
    }
}

/// How tweets arrive: disorder and lateness, fixed by a seed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Arrivals {
    /// The seed of the arrival order.
    pub seed: u64,
    /// Each on-time tweet arrives up to this many ms (of event time) after it happened.
    pub disorder_ms: Time,
    /// The fraction of tweets that arrive too late.
    pub late_fraction: f64,
    /// How much later than their event time the late tweets at least arrive, in ms.
    pub late_by_ms: Time,
}

impl Arrivals {
    /// When each tweet of `spec` arrives (ms of event time) and which it is, in arrival order.
    pub fn schedule(&self, spec: &TweetSpec) -> Vec<(Time, u64)> {
        let mut keyed: Vec<(Time, u64)> = (0..spec.tweets)
            .map(|i| {
                let mut rng = SplitMix64::at(self.seed, i.wrapping_mul(2));
                let late = rng.next_uniform() < self.late_fraction;
                let jitter = rng.next_u64() % (self.disorder_ms + 1);
                let delay = if late {
                    self.late_by_ms + 1 + jitter
                } else {
                    jitter
                };
                let event_ms = (i as f64 * 1000.0 / spec.per_second) as Time;
                (event_ms + delay, i)
            })
            .collect();
        keyed.sort_unstable();
        keyed
    }
}
