//! Asking another process's UI for its metrics: `GET /api/local`, HTTP/1.1 over a plain TCP
//! connection (one request, `Connection: close`, a short timeout) — all a peer on the same job
//! needs, without an HTTP client crate.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use sluice_engine::metrics::Snapshot;

/// How long a peer may take to answer before its part is left out.
const TIMEOUT: Duration = Duration::from_millis(500);
/// The largest answer read.
const MAX_ANSWER: u64 = 64 << 20;

/// The metrics of the process whose UI is at `address`, or `None` (with a line on stderr the
/// first time) if it does not answer in time or answers something else.
pub(crate) fn fetch(address: &str) -> Option<Snapshot> {
    match try_fetch(address) {
        Ok(snapshot) => Some(snapshot),
        Err(reason) => {
            eprintln!("sluice ui: no metrics from {address}: {reason}");
            None
        }
    }
}

/// The metrics of the process whose UI is at `address` (`GET /api/local`), or why not.
pub fn try_fetch(address: &str) -> Result<Snapshot, String> {
    let socket = address
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&socket, TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /api/local HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header")?;
    let (head, body) = (&answer[..split], &answer[split + 4..]);
    let status = String::from_utf8_lossy(head.split(|&b| b == b'\n').next().unwrap_or(b""));
    if !status.contains(" 200 ") {
        return Err(format!("answered {}", status.trim()));
    }
    if String::from_utf8_lossy(head)
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err("a chunked answer (not from a Sluice UI)".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("not a metrics snapshot: {e}"))
}
