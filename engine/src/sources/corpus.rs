//! The shared word-count corpus, reimplemented from `tests/data/gencorpus.py` (`docs/corpus.md`).
//!
//! Every system Sluice is compared with reads the same bytes, so this generator is a
//! specification, not an approximation: for the same parameters it produces byte-identical lines
//! to the Python script (a test checks digests of the script's output).
//!
//! The random stream is splitmix64, whose state after `k` draws is `seed + k·γ`. That makes the
//! corpus *indexable*: line `i` can be produced without producing lines `0..i`, which is what
//! lets the generator source split one corpus across workers with no coordination.
//!
//! ```
//! use sluice_engine::sources::corpus::{Corpus, CorpusSpec};
//! let corpus = Corpus::new(CorpusSpec { words_per_line: 3, ..CorpusSpec::default() });
//! let mut line = String::new();
//! corpus.write_line(0, &mut line);
//! assert_eq!(line.split(' ').count(), 3);
//! ```

use serde::{Deserialize, Serialize};

/// splitmix64's increment, the golden-ratio constant.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// `word(r)` is the bijective base-26 spelling of `r + WORD_OFFSET`; 703 is "aaa".
const WORD_OFFSET: u64 = 703;

/// The corpus parameters, with the shared script's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusSpec {
    /// Seed of the splitmix64 stream.
    pub seed: u64,
    /// Number of distinct words (Zipf ranks).
    pub vocab: usize,
    /// Zipf exponent `s`: `weight(r) = 1 / (r + 1)^s`.
    pub skew: f64,
    /// Words per line.
    pub words_per_line: usize,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            seed: 42,
            vocab: 50_000,
            skew: 1.0,
            words_per_line: 10,
        }
    }
}

/// A ready-to-sample corpus: the Zipf CDF and the spelled vocabulary, built once.
#[derive(Clone, Debug)]
pub struct Corpus {
    spec: CorpusSpec,
    cdf: Vec<f64>,
    words: Vec<String>,
}

impl Corpus {
    /// Builds the CDF and the vocabulary (O(vocab)).
    pub fn new(spec: CorpusSpec) -> Self {
        let vocab = spec.vocab.max(1);
        let mut total = 0.0f64;
        let mut cdf = Vec::with_capacity(vocab);
        for r in 0..vocab {
            total += 1.0 / ((r + 1) as f64).powf(spec.skew);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        let words = (0..vocab as u64).map(word).collect();
        Corpus { spec, cdf, words }
    }

    /// The parameters this corpus was built from.
    pub fn spec(&self) -> &CorpusSpec {
        &self.spec
    }

    /// Appends line `index` (without its newline) to `out`.
    pub fn write_line(&self, index: u64, out: &mut String) {
        let words = self.spec.words_per_line as u64;
        let mut rng = SplitMix64::at(self.spec.seed, index.wrapping_mul(words));
        for k in 0..words {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(&self.words[self.rank(rng.next_uniform())]);
        }
    }

    /// Line `index` as a new string.
    pub fn line(&self, index: u64) -> String {
        let mut s = String::new();
        self.write_line(index, &mut s);
        s
    }

    /// Writes lines `0..lines`, each followed by `\n`, exactly as the shared script prints them.
    pub fn write_to(&self, lines: u64, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut buf = String::with_capacity(1 << 16);
        for i in 0..lines {
            self.write_line(i, &mut buf);
            buf.push('\n');
            if buf.len() >= 1 << 15 {
                out.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        out.write_all(buf.as_bytes())
    }

    /// The first rank whose CDF is ≥ u (Python's `bisect_left`), clamped to the last rank.
    fn rank(&self, u: f64) -> usize {
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// The splitmix64 random stream: indexable (its state after `k` draws is `seed + k·γ`), so any
/// generator built on it can make its `i`-th item without the ones before.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The generator for `seed` after `draws` draws.
    pub fn at(seed: u64, draws: u64) -> Self {
        SplitMix64 {
            state: seed.wrapping_add(draws.wrapping_mul(GAMMA)),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1) from the top 53 bits.
    /// The next uniform draw in [0, 1).
    pub fn next_uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The bijective base-26 spelling of `rank + 703` ("aaa" for rank 0).
fn word(rank: u64) -> String {
    let mut n = rank + WORD_OFFSET;
    let mut letters = Vec::new();
    while n > 0 {
        n -= 1;
        letters.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_bijective_base_26() {
        assert_eq!(word(0), "aaa");
        assert_eq!(word(1), "aab");
        assert_eq!(word(25), "aaz");
        assert_eq!(word(26), "aba");
        // 26^3 + 26^2 + 26 = 18278 is the last three-letter number: "zzz".
        assert_eq!(word(18278 - 703), "zzz");
        assert_eq!(word(18279 - 703), "aaaa");
    }

    #[test]
    fn splitmix_jumps_equal_stepping() {
        let mut stepped = SplitMix64::at(7, 0);
        for _ in 0..1000 {
            stepped.next_u64();
        }
        assert_eq!(stepped.next_u64(), SplitMix64::at(7, 1000).next_u64());
    }

    #[test]
    fn splitmix_matches_reference_values() {
        // First outputs of splitmix64 seeded with 0, from the algorithm's reference code.
        let mut g = SplitMix64::at(0, 0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn lines_have_the_requested_word_count() {
        let c = Corpus::new(CorpusSpec {
            vocab: 100,
            words_per_line: 4,
            ..CorpusSpec::default()
        });
        for i in 0..50 {
            assert_eq!(c.line(i).split(' ').count(), 4);
        }
    }
}
