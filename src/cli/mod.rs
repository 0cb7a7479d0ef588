//! The `sluice` command: arguments (clap derive) and what each subcommand does.
//!
//! Flag names are contracts that scripts rely on: keep them stable.

mod bench;
mod bench_nexmark;
mod broker;
mod checkpoint;
mod cluster;
mod compare;
mod conformance;
mod corpus;
mod demo;
mod flags;
mod hashtags;
mod loadgen;
mod log;
mod mode;
mod nexmark;
mod out;
mod overload;
mod run;
mod savepoint;
mod serve;
mod signals;
mod status;
mod ui;
mod windowcount;

use clap::{Parser, Subcommand};

/// Sluice: native streaming and micro-batches on one timely dataflow.
#[derive(Parser, Debug)]
#[command(name = "sluice", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a job (e.g. `sluice run wordcount --input FILE`).
    Run {
        #[command(subcommand)]
        job: run::Job,
    },
    /// Generate benchmark inputs (e.g. `sluice gen corpus 1000`).
    Gen {
        #[command(subcommand)]
        what: corpus::GenCommand,
    },
    /// The comparative benchmark: native vs micro-batch, max throughput and latency at fixed rates.
    Bench(bench::BenchArgs),
    /// Run Spark-derived DStream conformance cases (minibatch/tests/data format).
    Conformance(conformance::ConformanceArgs),
    /// Watch native and micro-batch word count side by side on a slow input (the teaching view).
    Demo(demo::DemoArgs),
    /// Inspect a checkpoint directory (e.g. `sluice checkpoint inspect DIR`).
    Checkpoint {
        #[command(subcommand)]
        command: checkpoint::CheckpointCommand,
    },
    /// Savepoints of a running job: `sluice savepoint create --pid PID --checkpoint-dir DIR`.
    Savepoint {
        #[command(subcommand)]
        command: savepoint::SavepointCommand,
    },
    /// The durable event log: `sluice log append|tail|info|repair DIR`.
    Log {
        #[command(subcommand)]
        command: log::LogCommand,
    },
    /// Compare architectures: `sluice compare lambda-kappa`.
    Compare {
        #[command(subcommand)]
        command: compare::CompareCommand,
    },
    /// The kappa architecture live: a word-count view over an event log, served over HTTP.
    Serve(serve::ServeArgs),
    /// A broker's stream from the shell: `sluice broker push|tail URL`.
    Broker {
        #[command(subcommand)]
        command: broker::BrokerCommand,
    },
    /// Serve open-loop load over TCP: `<scheduled unix nanos> <line>` lines on a fixed schedule.
    Loadgen(loadgen::LoadgenArgs),
    /// Word count fed twice its capacity: micro-batch without and with rate control, and
    /// native, side by side (scheduling delay and memory curves).
    Overload(overload::OverloadArgs),
}

/// Parses the command line. Every subcommand takes negative numbers as values, so that
/// `--workers -1` is refused as a bad value of `--workers`, not as an unknown flag `-1`.
pub fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    fn negative_numbers(command: clap::Command) -> clap::Command {
        command
            .allow_negative_numbers(true)
            .mut_subcommands(negative_numbers)
    }
    let matches = negative_numbers(Cli::command()).try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// Reports a command-line error in one line, `sluice: error: …` naming the flag (clap's own
/// report spreads over several, with a usage block), and exits with clap's status 2; help and
/// version requests print as usual.
pub fn usage_error(error: clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty() && !line.starts_with("tip:"))
        .collect();
    let message = message.join(" ");
    eprintln!(
        "sluice: error: {}",
        message.strip_prefix("error: ").unwrap_or(&message)
    );
    std::process::ExitCode::from(2)
}

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Run { job } => run::run_job(job),
        Command::Gen { what } => corpus::gen(what),
        // A replot of any run (a Nexmark run's too) measures nothing: `bench` draws it.
        Command::Bench(args) if args.workload == "nexmark" && args.replot.is_none() => {
            bench_nexmark::bench(args)
        }
        Command::Bench(args) => bench::bench(args),
        Command::Conformance(args) => conformance::conformance(args),
        Command::Loadgen(args) => loadgen::loadgen(args),
        Command::Demo(args) => demo::demo(args),
        Command::Checkpoint { command } => checkpoint::checkpoint(command),
        Command::Log { command } => log::log(command),
        Command::Savepoint { command } => savepoint::savepoint(command),
        Command::Serve(args) => serve::serve(args),
        Command::Compare { command } => compare::run(command),
        Command::Broker { command } => broker::broker(command),
        Command::Overload(args) => overload::overload(args),
    }
}
