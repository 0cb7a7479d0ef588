//! A broker server of the benchmark's own: `nats-server` (JetStream on) or `redis-server`,
//! started on a free loopback port with its data in a temporary directory, stopped when
//! dropped — so that `sluice bench --load nats|redis` needs nothing running beforehand, and
//! the broker's own CPU time can be read from its process.
//!
//! ```no_run
//! use sluice_bench::broker_server::{BrokerKind, BrokerServer};
//! let server = BrokerServer::start(BrokerKind::Redis).unwrap();
//! println!("{} (CPU so far: {:.2} s)", server.url("load"), server.cpu_seconds());
//! ```

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Servers started by this process, for their directories' names.
static SERVERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Which broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerKind {
    /// NATS JetStream (`nats-server -js`).
    Nats,
    /// Redis Streams (`redis-server`).
    Redis,
}

impl BrokerKind {
    /// `nats` or `redis`.
    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Nats => "nats",
            BrokerKind::Redis => "redis",
        }
    }
}

/// A running server; see the module docs.
pub struct BrokerServer {
    kind: BrokerKind,
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl BrokerServer {
    /// Starts a server of `kind` on a free port; fails, naming the program, if it is not
    /// installed or does not answer within 10 s.
    pub fn start(kind: BrokerKind) -> Result<BrokerServer, String> {
        let dir = std::env::temp_dir().join(format!(
            "sluice-bench-{}-{}-{}",
            kind.name(),
            std::process::id(),
            SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let mut command = match kind {
            BrokerKind::Nats => {
                let program = if Command::new("nats-server")
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .is_ok()
                {
                    "nats-server"
                } else {
                    "/usr/sbin/nats-server"
                };
                let mut command = Command::new(program);
                command
                    .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
                    .arg(&dir);
                command
            }
            BrokerKind::Redis => {
                let mut command = Command::new("redis-server");
                command
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--appendonly", "no", "--dir"])
                    .arg(&dir);
                command
            }
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {}-server: {e} (apt-get install {}-server)",
                    kind.name(),
                    kind.name()
                )
            })?;
        let mut server = BrokerServer {
            kind,
            child,
            port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("{}-server exited at start ({status})", kind.name()));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Give JetStream its moment to come up after the port opens.
                std::thread::sleep(Duration::from_millis(100));
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(server);
        Err(format!("{}-server did not answer within 10 s", kind.name()))
    }

    /// The URL of `name` on this server: a Redis key, or a NATS stream of that name
    /// (upper-cased, as streams are by convention).
    pub fn url(&self, name: &str) -> String {
        match self.kind {
            BrokerKind::Redis => format!("redis://127.0.0.1:{}/{name}", self.port),
            BrokerKind::Nats => format!("nats://127.0.0.1:{}/{}", self.port, name.to_uppercase()),
        }
    }

    /// `HOST:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Which broker it is.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id())
    }
}

/// CPU seconds (user + system) process `pid` has used so far, from `/proc` (0 where there is
/// none).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command (which is in parentheses and may hold spaces).
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the command.
    (ticks(11) + ticks(12)) / clock_ticks_per_second()
}

/// The unit of `/proc`'s CPU times, USER_HZ: 100 per second on Linux, whatever the kernel's
/// own tick rate (it is part of the kernel's ABI).
fn clock_ticks_per_second() -> f64 {
    100.0
}

impl Drop for BrokerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
