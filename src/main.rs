//! The `sluice` command line.

mod cli;

use std::process::ExitCode;

/// Streaming allocates and frees many small strings across threads, which glibc's allocator
/// handles poorly (consolidation and lock traffic showed up as a fifth of word count's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    without_transparent_huge_pages();
    losing_a_peer_is_an_error();
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

/// When another process of the job goes away (killed, crashed, its host gone), timely's network
/// threads panic with "timely communication error: …", and every worker thread after them: a
/// page of backtraces for what is one failure. This says it in one line and exits with 1; the
/// job resumes from its last checkpoint when it is started again.
fn losing_a_peer_is_an_error() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("timely communication error") {
            eprintln!(
                "sluice: error: lost the connection to another process of the job ({message}); \
                 started again, the job resumes from its last checkpoint"
            );
            std::process::exit(1);
        }
        default(info);
    }));
}

/// Turns transparent huge pages off for this process, before the first large heap grows.
///
/// The allocator asks the kernel for huge pages (`MADV_HUGEPAGE`), and the first touch of each
/// one zeroes 2 MiB in the page fault: a growing hash table or buffer then stalls the worker
/// that touched it. On Nexmark at 100k events/s that was the whole tail: q18's p99 went from
/// 109–145 ms to 0.37–0.40 ms with them off, and throughput of the stateful queries rose
/// (q9 1.5–1.7M → 2.7M, q18 1.2–1.6M → 2.6M events/CPU-s; q0 unchanged).
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and touches no memory of ours; on a
    // kernel without it the call fails and changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
