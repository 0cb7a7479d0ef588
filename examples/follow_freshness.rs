//! What following the event log costs and how fresh it is: a job follows a log (at log time,
//! as `sluice serve` does) while this process appends to it.
//!
//! - **freshness**: the time from an `append` returning to the job's sink seeing the record,
//!   over `N` appends spaced `GAP` ms apart (median, p99, max): a few ms is a live log, where
//!   the source also polls; over 100 ms, only the change notification wakes it;
//! - **idle CPU**: the process's CPU time (user + system, from /proc/self/stat) over `S`
//!   seconds in which nobody appends, while the job keeps following.
//!
//! ```sh
//! cargo run --release --example follow_freshness -- [N=500] [S=10] [GAP=3]
//! ```

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sluice::engine::log::{EventLog, Fsync, LogConfig};
use sluice::engine::sources::LogSource;
use sluice::prelude::*;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let appends: usize = args.next().map_or(500, |a| a.parse().expect("N"));
    let idle_s: u64 = args.next().map_or(10, |a| a.parse().expect("S"));
    let gap: u64 = args.next().map_or(3, |a| a.parse().expect("GAP"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = LogConfig::default().fsync(Fsync::Never);
    let mut log = EventLog::open_with(dir.path(), config)?;
    log.append(0, b"start")?;
    let source = LogSource::open(dir.path())?.follow();
    let execution = Execution::default().workers(2);
    let job = execution.job().clone();
    // The sink sends the instant each record arrives, tagged with its number.
    let (seen, arrivals) = mpsc::channel::<(usize, Instant)>();
    let seen = std::sync::Mutex::new(seen);
    let runner = std::thread::spawn(move || {
        execute(execution, move |worker| {
            let seen = seen.lock().unwrap().clone();
            worker.dataflow(|scope| {
                scope.event_log(&source).for_each(move |line: String| {
                    if let Ok(n) = line.parse() {
                        let _ = seen.send((n, Instant::now()));
                    }
                });
            });
        })
    });
    std::thread::sleep(Duration::from_millis(500)); // the job reaches the end of the log

    let mut freshness = Vec::with_capacity(appends);
    for n in 0..appends {
        log.append(n as Time + 1, n.to_string().as_bytes())?;
        let appended = Instant::now();
        let (got, at) = arrivals.recv().expect("the job is running");
        assert_eq!(got, n);
        freshness.push(at.saturating_duration_since(appended));
        std::thread::sleep(Duration::from_millis(gap));
    }
    freshness.sort();
    let at = |q: f64| freshness[((freshness.len() - 1) as f64 * q).round() as usize];
    println!(
        "freshness over {appends} appends {gap} ms apart: median {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        at(1.0)
    );

    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_s));
    let ticks = cpu_ticks() - before;
    let ticks_per_s = 100.0; // USER_HZ on Linux
    println!(
        "idle for {:.1} s: {:.2} s of CPU ({:.2}% of a core)",
        started.elapsed().as_secs_f64(),
        ticks as f64 / ticks_per_s,
        ticks as f64 / ticks_per_s / started.elapsed().as_secs_f64() * 100.0
    );
    job.stop();
    runner.join().expect("the job panicked")?;
    Ok(())
}

/// This process's user + system CPU time so far, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
