//! The machine a benchmark ran on, and peak memory (Linux `/proc`; absent elsewhere).

use serde::Serialize;

/// What the figures were measured on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// The CPU's model name from `/proc/cpuinfo`; `unknown` elsewhere.
    pub cpu: String,
    /// Hardware threads available to the process.
    pub cores: usize,
    /// Total memory, in GiB (0 where `/proc/meminfo` is absent).
    pub memory_gib: f64,
    /// The operating system (`linux`, `macos`, ...).
    pub os: String,
    /// The version of Sluice that measured.
    pub sluice_version: String,
    /// `release` or `debug`: debug figures are not comparable with anything.
    pub build: String,
}

impl Machine {
    /// Describes this machine.
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let memory_kib = proc_kib("/proc/meminfo", "MemTotal:").unwrap_or(0);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_kib as f64 / (1024.0 * 1024.0),
            os: std::env::consts::OS.to_string(),
            sluice_version: env!("CARGO_PKG_VERSION").to_string(),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
        }
    }
}

/// A `Name: N kB` field of a `/proc` file.
fn proc_kib(file: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Resets this process's peak resident memory, so the next reading covers only what follows.
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory in bytes since start or the last reset.
pub fn peak_memory_bytes() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM:").map(|kib| kib * 1024)
}

/// CPU time (user + system) this process has used, in seconds, from `/proc/self/stat` (whose
/// clock ticks are 1/100 s on Linux).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}
