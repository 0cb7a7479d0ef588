//! `sluice gen corpus`: the shared word-count corpus, byte-identical to `gencorpus.py`.

use std::io::Write;

use clap::{Args, Subcommand};
use sluice::engine::sources::corpus::{Corpus, CorpusSpec};

#[derive(Subcommand, Debug)]
pub enum GenCommand {
    /// Print LINES lines of the word-count corpus (the same bytes as shared/bench/gencorpus.py).
    Corpus {
        /// Number of lines.
        lines: u64,
        #[command(flatten)]
        spec: CorpusArgs,
    },
}

/// The corpus parameters, with gencorpus.py's names and defaults.
#[derive(Args, Debug, Clone)]
pub struct CorpusArgs {
    /// Seed of the splitmix64 random stream.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of distinct words.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub vocab: u64,
    /// Zipf exponent of word popularity.
    #[arg(long, default_value_t = 1.0)]
    pub skew: f64,
    /// Words per line.
    #[arg(long, default_value_t = 10)]
    pub words: usize,
}

impl CorpusArgs {
    /// The engine's corpus description.
    pub fn spec(&self) -> CorpusSpec {
        CorpusSpec {
            seed: self.seed,
            vocab: self.vocab as usize,
            skew: self.skew,
            words_per_line: self.words,
        }
    }
}

pub fn gen(command: GenCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        GenCommand::Corpus { lines, spec } => {
            let corpus = Corpus::new(spec.spec());
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            match corpus.write_to(lines, &mut out).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
    }
}
