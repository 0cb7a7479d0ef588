//! The `sluice` command line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Streaming allocates and frees many small strings across threads, which glibc's allocator
/// handles poorly (consolidation and lock traffic showed up as a fifth of word count's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice: error: {error}");
            ExitCode::FAILURE
        }
    }
}
