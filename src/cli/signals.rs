//! SIGINT (Ctrl-C) and SIGTERM for the long-running commands, in one place.
//!
//! The first signal asks the command to stop gracefully — sources stop, the dataflow drains,
//! outputs are written, the exit status is 0 — because a service manager's SIGTERM is as
//! routine a stop as Ctrl-C. A second signal, while that is still under way, aborts at once
//! with the shell's status for the signal (130 for SIGINT, 143 for SIGTERM): the way out of a
//! drain that takes too long.
//!
//! Used by the commands that run until stopped: `run wordcount` (its streaming sources),
//! `serve`, `demo` and `loadgen`. Commands that end by themselves (`run hashtags`,
//! `run windowcount`, `bench`, `compare`, `conformance`, …) keep the default action: the
//! signal ends them, as there is no partial result worth draining.
//!
//! SIGUSR1 and SIGUSR2 ask a checkpointing job for a savepoint ([`on_savepoint_signal`]).

use sluice::engine::JobContext;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// On the first SIGINT or SIGTERM, reports it on stderr and calls `stop`; on a second, exits at
/// once with 128 + the signal's number. The handlers are installed before this returns, so a
/// signal sent from then on is never lost to the default action.
pub fn on_stop_signal(stop: impl FnOnce() + Send + 'static) {
    let kinds = [SignalKind::interrupt(), SignalKind::terminate()];
    on_signals(
        kinds,
        "SIGINT/SIGTERM",
        "they end the process",
        |[mut interrupt, mut terminate]| async move {
            let first = next(&mut interrupt, &mut terminate).await;
            eprintln!(
                "sluice: {}: stopping gracefully (send it again to abort)",
                first.name
            );
            stop();
            let second = next(&mut interrupt, &mut terminate).await;
            eprintln!("sluice: {} again: aborting", second.name);
            std::process::exit(second.status);
        },
    );
}

/// A signal that arrived: its name and the exit status it stands for.
struct Received {
    name: &'static str,
    status: i32,
}

async fn next(interrupt: &mut Signal, terminate: &mut Signal) -> Received {
    tokio::select! {
        _ = interrupt.recv() => Received { name: "SIGINT", status: 130 },
        _ = terminate.recv() => Received { name: "SIGTERM", status: 143 },
    }
}

/// Savepoints on request, for a job that checkpoints: SIGUSR1 asks `job` for a savepoint of
/// its newest checkpoint and lets it go on; SIGUSR2 for one of its last, stopping it
/// gracefully (what `sluice savepoint create [--stop]` sends). The handlers are installed
/// before this returns.
pub fn on_savepoint_signal(job: JobContext) {
    let kinds = [SignalKind::user_defined1(), SignalKind::user_defined2()];
    on_signals(
        kinds,
        "SIGUSR1/SIGUSR2",
        "no savepoints on request",
        |[mut go_on, mut stop]| async move {
            loop {
                let stopping = tokio::select! {
                    _ = go_on.recv() => false,
                    _ = stop.recv() => true,
                };
                match job.savepoint(stopping) {
                    Ok(()) if stopping => {
                        eprintln!("sluice: savepoint asked: stopping gracefully with one");
                    }
                    Ok(()) => eprintln!("sluice: savepoint asked: of the newest checkpoint"),
                    Err(e) => eprintln!("sluice: no savepoint: {e}"),
                }
            }
        },
    );
}

/// Installs handlers for `kinds` (named `names`) before returning, and runs `handle` on their
/// streams on a thread of its own; if they cannot be installed, warns that `otherwise`.
fn on_signals<F, Fut>(kinds: [SignalKind; 2], names: &str, otherwise: &str, handle: F)
where
    F: FnOnce([Signal; 2]) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let installed = runtime.and_then(|runtime| {
        let streams = {
            let _entered = runtime.enter();
            [signal(kinds[0])?, signal(kinds[1])?]
        };
        Ok((runtime, streams))
    });
    match installed {
        Ok((runtime, streams)) => {
            std::thread::spawn(move || runtime.block_on(handle(streams)));
        }
        Err(e) => eprintln!("sluice: warning: cannot handle {names} ({e}): {otherwise}"),
    }
}
