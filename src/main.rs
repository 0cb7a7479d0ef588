//! The `sluice` command line.

mod cli;

use std::process::ExitCode;

/// Streaming allocates and frees many small strings across threads, which glibc's allocator
/// handles poorly (consolidation and lock traffic showed up as a fifth of word count's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(args) => args,
        Err(error) => return cli::usage_error(error),
    };
    match cli::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice: error: {error}");
            ExitCode::FAILURE
        }
    }
}
