//! `--ui HOST:PORT`: the live web UI and metrics endpoints of a running job (see `sluice-ui`).

use std::path::PathBuf;

use clap::Args;
use sluice::engine::{Error, Execution};
use sluice::ui::{self, Ui};

#[derive(Args, Debug, Default)]
pub struct UiArgs {
    /// Serve a live web UI of the job, with `/metrics` (Prometheus) and `/api/metrics` (JSON),
    /// at HOST:PORT, or PORT on loopback (port 0: any free port). Process i of a job of several
    /// serves on PORT + i; process 0's shows the whole job.
    #[arg(long, value_name = "[HOST:]PORT", value_parser = ui_address)]
    pub ui: Option<String>,
    /// When the job ends, write this process's metrics (as `/api/local` gives them: records per
    /// source and operator, busy and back-pressured time, batches, checkpoints) to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub metrics_out: Option<PathBuf>,
}

/// `HOST:PORT`, or a bare `PORT` on loopback (a UI is not exposed beyond the machine unless a
/// host is named).
pub fn ui_address(value: &str) -> Result<String, String> {
    let address = match value.parse::<u16>() {
        Ok(port) => format!("127.0.0.1:{port}"),
        Err(_) => value.to_string(),
    };
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(address),
        _ => Err(format!("{value:?} is not HOST:PORT or PORT")),
    }
}

impl UiArgs {
    /// Starts the UI of `execution`'s job if asked for, and says where on stderr (`sluice: UI
    /// at http://HOST:PORT/`).
    pub fn start(&self, execution: &Execution) -> Result<Option<Ui>, Error> {
        let Some(address) = &self.ui else {
            return Ok(None);
        };
        let (index, processes) = (execution.process_index(), execution.process_count());
        let addresses = match ui::process_addresses(address, processes) {
            Some(addresses) => addresses,
            None if processes == 1 => vec![address.clone()],
            None => {
                return Err(Error::Config(format!(
                    "--ui {address}: with {processes} processes, HOST:PORT with PORT + {} at most 65535",
                    processes - 1
                )))
            }
        };
        let peers = match index {
            0 => addresses[1..].to_vec(),
            _ => Vec::new(),
        };
        let ui = ui::start(&addresses[index], execution.job().clone(), peers)?;
        eprintln!("sluice: UI at http://{}/", ui.address());
        Ok(Some(ui))
    }

    /// Writes the job's final metrics to `--metrics-out`, if given.
    pub fn finish(&self, execution: &Execution) -> Result<(), Error> {
        let Some(path) = &self.metrics_out else {
            return Ok(());
        };
        let snapshot = execution.job().snapshot();
        let json =
            serde_json::to_string_pretty(&snapshot).map_err(|e| Error::Operator(e.to_string()))?;
        std::fs::write(path, json + "\n")
            .map_err(|e| Error::Config(format!("--metrics-out {}: {e}", path.display())))
    }
}
