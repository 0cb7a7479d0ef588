//! `sluice gen corpus`: the shared word-count corpus, byte-identical to `gencorpus.py`.

use std::io::Write;

use clap::{Args, Subcommand};
use sluice::engine::sources::corpus::{Corpus, CorpusSpec};

use super::flags;
use super::out;

#[derive(Subcommand, Debug)]
pub enum GenCommand {
    /// Print LINES lines of the word-count corpus (the same bytes as tests/data/gencorpus.py).
    Corpus {
        /// Number of lines.
        #[arg(value_parser = flags::int(0, flags::MAX_LINES))]
        lines: u64,
        #[command(flatten)]
        spec: CorpusArgs,
    },
    /// Print EVENTS Nexmark events as JSON lines (the reference generator's, bit for bit).
    Nexmark(Box<super::nexmark::GenNexmarkArgs>),
}

/// The corpus parameters, with gencorpus.py's names and defaults. They are options (the
/// defaults filled in by [`spec`](Self::spec)) so that a command can tell whether any was
/// given, and refuse them where they would do nothing.
#[derive(Args, Debug, Clone)]
pub struct CorpusArgs {
    /// Seed of the splitmix64 random stream [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of distinct words [default: 50000].
    #[arg(long, value_parser = flags::int(1, flags::MAX_VOCAB))]
    pub vocab: Option<u64>,
    /// Zipf exponent of word popularity, 0 (uniform) to 100 [default: 1].
    #[arg(long, value_parser = flags::skew, allow_hyphen_values = true)]
    pub skew: Option<f64>,
    /// Words per line [default: 10].
    #[arg(long, value_parser = flags::count(1, flags::MAX_WORDS_PER_LINE))]
    pub words: Option<usize>,
}

impl CorpusArgs {
    /// The engine's corpus description.
    pub fn spec(&self) -> CorpusSpec {
        let default = CorpusSpec::default();
        CorpusSpec {
            seed: self.seed.unwrap_or(default.seed),
            vocab: self.vocab.map_or(default.vocab, |v| v as usize),
            skew: self.skew.unwrap_or(default.skew),
            words_per_line: self.words.unwrap_or(default.words_per_line),
        }
    }

    /// Whether any corpus flag was given.
    pub fn given(&self) -> bool {
        self.seed.is_some() || self.vocab.is_some() || self.skew.is_some() || self.words.is_some()
    }
}

pub fn gen(command: GenCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        GenCommand::Corpus { lines, spec } => {
            let corpus = Corpus::new(spec.spec());
            // A closed pipe (`| head`) ends the process quietly inside out::Stdout.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, out::Stdout);
            corpus.write_to(lines, &mut out)?;
            Ok(out.flush()?)
        }
        GenCommand::Nexmark(args) => super::nexmark::gen(*args),
    }
}
