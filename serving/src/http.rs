//! `GET /views/NAME/KEY` over HTTP, answered from a serving store (tokio, axum).
//!
//! 200 with `{"view", "key", "value", "version"}` when the key is in the published version;
//! 404 with `{"error"}` when the view has no published version or the key is not in it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::ServingStore;
use sluice_engine::Error;

/// A running HTTP server; it stops when dropped.
pub struct Server {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `store` at `address` (`HOST:PORT`; port 0 picks a free one) on a thread of its own.
pub fn serve(store: Arc<dyn ServingStore>, address: &str) -> Result<Server, Error> {
    let app = Router::new()
        .route("/views/{view}/{key}", get(lookup))
        .with_state(store);
    start(app, address, "sluice-serve")
}

/// Serves `app` on `address` from a thread named `name` until the returned [`Server`] is
/// dropped: the one way Sluice runs an HTTP server (the serving layer's views, the web UI).
/// An address that cannot be bound is an error naming it.
pub fn start(app: Router, address: &str, name: &str) -> Result<Server, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Startup(format!("cannot start the HTTP server: {e}")))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(address))
        .map_err(|e| Error::Config(format!("cannot listen on {address}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("cannot listen on {address}: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            runtime.block_on(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            })
        })
        .map_err(|e| Error::Startup(format!("cannot start the HTTP server: {e}")))?;
    Ok(Server {
        address: bound,
        stop: Some(stop),
        thread: Some(thread),
    })
}

async fn lookup(
    State(store): State<Arc<dyn ServingStore>>,
    Path((view, key)): Path<(String, String)>,
) -> (StatusCode, Json<Value>) {
    let answer = tokio::task::spawn_blocking(move || {
        let version = store.published(&view)?;
        let value = store.get(&view, &key)?;
        Ok::<_, Error>((view, key, version, value))
    })
    .await;
    match answer {
        Ok(Ok((view, key, Some(version), Some(value)))) => (
            StatusCode::OK,
            Json(json!({"view": view, "key": key, "value": value, "version": version})),
        ),
        Ok(Ok((view, key, _, _))) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no key {key:?} in view {view:?}")})),
        ),
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": error.to_string()})),
        ),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": error.to_string()})),
        ),
    }
}
