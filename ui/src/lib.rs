//! # sluice-ui
//!
//! The instrument panel of a running job, served over HTTP when it is started with
//! `--ui HOST:PORT`:
//!
//! - `GET /` — a page that draws the job live: input and processing rates, the dataflow graph
//!   with each operator shaded by how busy it is and marked when back-pressured, watermarks and
//!   checkpoints, and in micro-batch mode Spark's Streaming-tab charts (scheduling delay,
//!   processing time and total delay per batch, the interval drawn as a line) and a table of
//!   recent batches. One HTML file with its script, embedded in the binary: nothing to build,
//!   nothing fetched from elsewhere;
//! - `GET /metrics` — the same numbers in Prometheus's text format
//!   ([`prometheus`](sluice_engine::metrics::prometheus));
//! - `GET /api/metrics` — as JSON (a [`Snapshot`]), the job's: every process's merged;
//! - `GET /api/window` — `{"now": …, "before": …}`: the job's snapshot now and one taken about
//!   [`WINDOW`] earlier, from which the page computes rates and busy shares. The UI samples
//!   the job itself, so what a share covers does not depend on how often (or how steadily) a
//!   browser asks — Flink computes `busyTimeMsPerSecond` in the task manager for the same
//!   reason;
//! - `GET /api/local` — this process's alone, which process 0 gathers from the others;
//! - `POST /api/savepoint` and `POST /api/stop-with-savepoint` — a savepoint of the running
//!   job, which goes on or stops gracefully (Flink's REST calls for the same); 202 once asked
//!   for, 409 with the reason when the job takes no checkpoints or this is not process 0.
//!
//! A job of several processes serves one UI per process, process `i` on `PORT + i` (as timely
//! numbers its processes' ports); process 0's shows the whole job.
//!
//! ```no_run
//! use sluice_engine::JobContext;
//! let job = JobContext::default();
//! let ui = sluice_ui::start("127.0.0.1:4040", job, Vec::new()).unwrap();
//! println!("the UI is at http://{}/", ui.address());
//! ```

mod peers;

pub use peers::try_fetch as fetch_local;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use sluice_engine::metrics::{prometheus, Snapshot};
use sluice_engine::{Error, JobContext};
use sluice_serving::http::{start as start_http, Server};

/// The page, with its script and styles.
const PAGE: &str = include_str!("../assets/index.html");

/// How far apart the two snapshots of `/api/window` are: rates and busy shares are averages
/// over it.
/// Long enough that an operator's long turns (a slow one runs on a chunk of lines at a time,
/// and its busy time is known when the turn ends) do not swing its share much.
pub const WINDOW: Duration = Duration::from_secs(4);
/// How often the UI samples the job.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// A running UI; stops when dropped.
pub struct Ui {
    server: Server,
    panel: Arc<Panel>,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
}

impl Drop for Ui {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}

impl Ui {
    /// Where it listens (the port chosen, when asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// Shows `job` from now on — the next run of a benchmark that runs one job after
    /// another — starting its charts afresh.
    pub fn watch(&self, job: JobContext) {
        *self.panel.job.lock().unwrap_or_else(|e| e.into_inner()) = job;
        self.panel
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// What the handlers share: this process's job, the other processes' UIs to gather from, and
/// the recent samples of the job.
struct Panel {
    /// The job shown: the one given at the start, or the last [`Ui::watch`]ed.
    job: Mutex<JobContext>,
    peers: Vec<String>,
    /// The job's snapshots of about the last [`WINDOW`], oldest first.
    samples: Mutex<VecDeque<Snapshot>>,
}

impl Panel {
    /// The whole job's metrics: this process's and every peer's that answers.
    fn job(&self) -> JobContext {
        self.job.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn job_snapshot(&self) -> Snapshot {
        let mut parts = vec![self.job().snapshot()];
        parts.extend(self.peers.iter().filter_map(|peer| peers::fetch(peer)));
        Snapshot::merge(parts)
    }

    /// Takes a sample, keeping those of the last [`WINDOW`] (and the one just before it).
    fn sample(&self) {
        let now = self.job_snapshot();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let window = WINDOW.as_secs_f64();
        while samples.len() > 1 && now.uptime_seconds - samples[1].uptime_seconds >= window {
            samples.pop_front();
        }
        samples.push_back(now);
    }

    /// The newest sample and the oldest of the window.
    fn window(&self) -> serde_json::Value {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::json!({ "now": samples.back(), "before": samples.front() })
    }
}

/// Serves the UI of `job` on `address` (`HOST:PORT`); `peers` are the `HOST:PORT`s of the
/// other processes' UIs, whose metrics `/api/metrics` and `/metrics` include.
pub fn start(address: &str, job: JobContext, peers: Vec<String>) -> Result<Ui, Error> {
    let panel = Arc::new(Panel {
        job: Mutex::new(job),
        peers,
        samples: Mutex::default(),
    });
    let app = Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/api/metrics", get(job_metrics))
        .route("/api/window", get(window))
        .route("/api/local", get(local_metrics))
        .route("/api/savepoint", post(savepoint))
        .route("/api/stop-with-savepoint", post(stop_with_savepoint))
        .with_state(panel.clone());
    let shown = panel.clone();
    let server =
        start_http(app, address, "sluice-ui").map_err(|e| Error::Config(format!("--ui: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let sampler = std::thread::Builder::new()
        .name("sluice-ui-sampler".into())
        .spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                panel.sample();
                std::thread::sleep(SAMPLE_EVERY);
            }
        })
        .map_err(|e| Error::Startup(format!("cannot start the UI's sampler: {e}")))?;
    Ok(Ui {
        server,
        panel: shown,
        stop,
        sampler: Some(sampler),
    })
}

/// The addresses of the UIs of a job's `processes` processes when process 0's is `address`:
/// `HOST:PORT + i`. `None` if `address` is not `HOST:PORT` with a port that leaves room.
pub fn process_addresses(address: &str, processes: usize) -> Option<Vec<String>> {
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    (0..processes)
        .map(|i| {
            let port = port.checked_add(u16::try_from(i).ok()?)?;
            Some(format!("{host}:{port}"))
        })
        .collect()
}

async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

async fn metrics(State(panel): State<Arc<Panel>>) -> impl IntoResponse {
    let snapshot = gather(panel).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus::render(&snapshot),
    )
}

async fn job_metrics(State(panel): State<Arc<Panel>>) -> Json<Snapshot> {
    Json(gather(panel).await)
}

async fn window(State(panel): State<Arc<Panel>>) -> Json<serde_json::Value> {
    Json(panel.window())
}

async fn local_metrics(State(panel): State<Arc<Panel>>) -> Json<Snapshot> {
    Json(panel.job().snapshot())
}

/// `POST /api/savepoint`: asks the job for a savepoint and lets it go on (Flink's
/// `POST /jobs/:id/savepoints`); the job says on stderr where it wrote it.
async fn savepoint(State(panel): State<Arc<Panel>>) -> (StatusCode, Json<serde_json::Value>) {
    request_savepoint(&panel, false)
}

/// `POST /api/stop-with-savepoint`: stops the job gracefully with a savepoint of its last
/// checkpoint (Flink's `POST /jobs/:id/stop`).
async fn stop_with_savepoint(
    State(panel): State<Arc<Panel>>,
) -> (StatusCode, Json<serde_json::Value>) {
    request_savepoint(&panel, true)
}

/// 202 once asked for (see [`JobContext::savepoint`]); 409, saying why, when the job cannot
/// take one (it does not checkpoint, or this is not process 0).
fn request_savepoint(panel: &Panel, stop: bool) -> (StatusCode, Json<serde_json::Value>) {
    match panel.job().savepoint(stop) {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "savepoint": "requested", "stop": stop })),
        ),
        Err(error) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": error.to_string() })),
        ),
    }
}

/// The job's snapshot, gathered off the server's thread (peers are asked over the network).
async fn gather(panel: Arc<Panel>) -> Snapshot {
    tokio::task::spawn_blocking(move || panel.job_snapshot())
        .await
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_are_numbered_from_the_first_port() {
        assert_eq!(
            process_addresses("127.0.0.1:4040", 3).unwrap(),
            ["127.0.0.1:4040", "127.0.0.1:4041", "127.0.0.1:4042"]
        );
        assert!(process_addresses("127.0.0.1:65535", 2).is_none());
        assert!(process_addresses("localhost", 1).is_none());
    }
}
