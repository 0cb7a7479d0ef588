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
//! - `GET /api/local` — this process's alone, which process 0 gathers from the others.
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

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sluice_engine::metrics::{prometheus, Snapshot};
use sluice_engine::{Error, JobContext};
use sluice_serving::http::{start as start_http, Server};

/// The page, with its script and styles.
const PAGE: &str = include_str!("../assets/index.html");

/// A running UI; stops when dropped.
pub struct Ui {
    server: Server,
}

impl Ui {
    /// Where it listens (the port chosen, when asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }
}

/// What the handlers share: this process's job, and the other processes' UIs to gather from.
struct Panel {
    job: JobContext,
    peers: Vec<String>,
}

impl Panel {
    /// The whole job's metrics: this process's and every peer's that answers.
    fn job_snapshot(&self) -> Snapshot {
        let mut parts = vec![self.job.snapshot()];
        parts.extend(self.peers.iter().filter_map(|peer| peers::fetch(peer)));
        Snapshot::merge(parts)
    }
}

/// Serves the UI of `job` on `address` (`HOST:PORT`); `peers` are the `HOST:PORT`s of the
/// other processes' UIs, whose metrics `/api/metrics` and `/metrics` include.
pub fn start(address: &str, job: JobContext, peers: Vec<String>) -> Result<Ui, Error> {
    let panel = Arc::new(Panel { job, peers });
    let app = Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/api/metrics", get(job_metrics))
        .route("/api/local", get(local_metrics))
        .with_state(panel);
    let server = start_http(app, address, "sluice-ui")
        .map_err(|e| Error::Config(format!("--ui: {e}")))?;
    Ok(Ui { server })
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
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        prometheus::render(&snapshot),
    )
}

async fn job_metrics(State(panel): State<Arc<Panel>>) -> Json<Snapshot> {
    Json(gather(panel).await)
}

async fn local_metrics(State(panel): State<Arc<Panel>>) -> Json<Snapshot> {
    Json(panel.job.snapshot())
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
