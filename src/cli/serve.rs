//! `sluice serve --log DIR`: the kappa architecture, live — a word-count view over the event
//! log, kept up to date as the log grows, answered over HTTP.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sluice::bench::architectures::kappa::Kappa;
use sluice::bench::architectures::word_count_view;
use sluice::serving::{self, http};

use super::flags;
use super::out::outln;
use super::signals::on_stop_signal;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The event log to read (see `sluice log append`).
    #[arg(long, value_name = "DIR")]
    log: PathBuf,
    /// Where to answer `GET /views/NAME/KEY`.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    address: String,
    /// The serving store: `embedded`, or `redis://HOST:PORT`.
    #[arg(long, default_value = "embedded", value_name = "STORE")]
    serving: String,
    /// The view's name.
    #[arg(long, default_value = "wordcount")]
    view: String,
    /// The job's version: a new version replays the log into a new version of the view and
    /// takes over when caught up (keep the old one running until then).
    #[arg(long, default_value_t = 1)]
    version: u32,
    /// Count words lower-cased (a "code change" to reprocess with).
    #[arg(long)]
    lowercase: bool,
    /// Where the job checkpoints (default: checkpoints-NAME inside the log's directory, so
    /// each log has its own); a restart resumes there. A checkpoint of another log, or past
    /// this log's end, is refused at start.
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Start afresh from the log's start, discarding the version's checkpoint.
    #[arg(long)]
    discard_checkpoint: bool,
    #[arg(long, default_value_t = 2, value_parser = flags::workers())]
    workers: usize,
}

pub fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let store = serving::open(&args.serving)?;
    let server = http::serve(store.clone(), &args.address)?;
    let checkpoints = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| args.log.join(format!("checkpoints-{}", args.view)));
    let kappa = Kappa {
        log: args.log.clone(),
        store,
        view: args.view.clone(),
        from: 0,
        workers: args.workers,
        checkpoints,
        every: 1000,
    };
    let normalize: fn(&str) -> String = if args.lowercase {
        |w| w.to_lowercase()
    } else {
        |w| w.to_string()
    };
    let program = word_count_view(normalize);
    let run = if args.discard_checkpoint {
        kappa.start_afresh(args.version, program)?
    } else {
        kappa.start(args.version, program)?
    };
    outln!(
        "serving http://{}/views/{}/KEY (version {})",
        server.address(),
        args.view,
        args.version
    );
    let (interrupted, wait) = std::sync::mpsc::channel::<()>();
    on_stop_signal(move || {
        let _ = interrupted.send(());
    });
    let mut announced = false;
    loop {
        if !announced && run.is_published() {
            eprintln!(
                "sluice serve: version {} caught up and published",
                args.version
            );
            announced = true;
        }
        if wait.recv_timeout(Duration::from_millis(100)).is_ok() {
            break;
        }
    }
    run.stop()?;
    drop(server);
    Ok(())
}
