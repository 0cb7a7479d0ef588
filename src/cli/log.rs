//! `sluice log append|tail|info DIR`: the event log from the shell.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use sluice::engine::log::watch::FALLBACK_POLL;
use sluice::engine::log::{info, EventLog, Fsync, LogConfig, LogReader, LogWatcher};
use sluice::engine::Time;

/// Event log commands.
#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Append the lines of standard input, one record each (time: now, or the line's first
    /// field with --timed). Prints the offsets appended.
    Append(AppendArgs),
    /// Print the records' lines from an offset or time; with --follow, keep printing new ones.
    Tail {
        dir: PathBuf,
        /// Start at this offset (default: the oldest kept).
        #[arg(long, value_name = "OFFSET", conflicts_with = "from_time")]
        from: Option<u64>,
        /// Start at the first record whose time is at least MS.
        #[arg(long, value_name = "MS")]
        from_time: Option<Time>,
        /// Keep waiting for new records (until interrupted).
        #[arg(long)]
        follow: bool,
        /// Print `offset<TAB>time<TAB>line` instead of the line.
        #[arg(long)]
        offsets: bool,
    },
    /// Segments, offsets, times, size, and whether every record checks out.
    Info {
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How `sluice log append` writes.
#[derive(Args, Debug)]
pub struct AppendArgs {
    dir: PathBuf,
    /// When to force appends to disk: `always` (each chunk of input before it is acknowledged),
    /// `never` (the OS decides), or a number of ms.
    #[arg(long, default_value = "always", value_parser = parse_fsync)]
    fsync: Fsync,
    /// Start a new segment after this many bytes.
    #[arg(long, default_value_t = 64 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    segment_bytes: u64,
    /// Delete old segments while the log is larger than this.
    #[arg(long, value_name = "BYTES")]
    retention_bytes: Option<u64>,
    /// Delete segments last written longer ago than this.
    #[arg(long, value_name = "MS")]
    retention_ms: Option<u64>,
    /// Each line starts with its event time in ms (`<ms> <rest>`); the whole line is stored.
    #[arg(long)]
    timed: bool,
}

fn parse_fsync(value: &str) -> Result<Fsync, String> {
    match value {
        "always" => Ok(Fsync::Always),
        "never" => Ok(Fsync::Never),
        ms => ms
            .parse()
            .map(|ms| Fsync::Every(Duration::from_millis(ms)))
            .map_err(|_| format!("expected always, never or a number of ms, not {ms:?}")),
    }
}

pub fn log(command: LogCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        LogCommand::Append(args) => append(args),
        LogCommand::Tail {
            dir,
            from,
            from_time,
            follow,
            offsets,
        } => tail(dir, from, from_time, follow, offsets),
        LogCommand::Info { dir, json } => show_info(dir, json),
    }
}

fn now_ms() -> Time {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Time)
}

fn append(args: AppendArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = LogConfig::default()
        .fsync(args.fsync)
        .segment_bytes(args.segment_bytes);
    if let Some(bytes) = args.retention_bytes {
        config = config.retention_bytes(bytes);
    }
    if let Some(ms) = args.retention_ms {
        config = config.retention_age(Duration::from_millis(ms));
    }
    let mut log = EventLog::open_with(&args.dir, config)?;
    if let Some(repair) = log.repaired() {
        eprintln!("sluice log: repaired {repair}");
    }
    let first = log.next_offset();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line_number = 0u64;
    // Whatever input is available is appended (and synced) as one chunk.
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let Some(end) = chunk.iter().rposition(|&b| b == b'\n').map(|i| i + 1) else {
            // A line longer than the buffer, or the last line without a newline.
            let mut line = Vec::new();
            input.read_until(b'\n', &mut line)?;
            line_number += 1;
            let (time, payload) = timed(&line, args.timed, line_number)?;
            log.append(time.unwrap_or_else(now_ms), payload)?;
            continue;
        };
        let now = now_ms();
        let mut records = Vec::new();
        for line in chunk[..end].split_inclusive(|&b| b == b'\n') {
            line_number += 1;
            let (time, payload) = timed(line, args.timed, line_number)?;
            records.push((time.unwrap_or(now), payload));
        }
        log.append_all(records)?;
        input.consume(end);
    }
    log.sync()?;
    eprintln!(
        "sluice log: appended {} records to {} (offsets {first}..{})",
        log.next_offset() - first,
        args.dir.display(),
        log.next_offset()
    );
    Ok(())
}

/// A line without its newline, and with `timed` its time (its first field).
fn timed(line: &[u8], timed: bool, number: u64) -> Result<(Option<Time>, &[u8]), String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !timed {
        return Ok((None, line));
    }
    let field = line.split(|&b| b == b' ').next().unwrap_or_default();
    std::str::from_utf8(field)
        .ok()
        .and_then(|f| f.parse().ok())
        .map(|time| (Some(time), line))
        .ok_or_else(|| {
            format!(
                "standard input, line {number}: --timed needs a time in ms first, got {:?}",
                String::from_utf8_lossy(line)
            )
        })
}

fn tail(
    dir: PathBuf,
    from: Option<u64>,
    from_time: Option<Time>,
    follow: bool,
    offsets: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut reader = LogReader::open(&dir)?;
    // Made before the first read, so an append after any read is reported (see `log::watch`).
    let mut watcher = follow.then(|| LogWatcher::new(&dir));
    if let Some(offset) = from {
        reader.seek(offset)?;
    }
    if let Some(time) = from_time {
        reader.seek_time(time)?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let printed = reader.read_with(|offset, time, payload| {
            if offsets {
                write!(out, "{offset}\t{time}\t")?;
            }
            out.write_all(payload)?;
            out.write_all(b"\n")
        })?;
        match printed {
            Some(Ok(())) => {}
            // A closed pipe (`| head`) ends the tail quietly.
            Some(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Some(Err(e)) => return Err(e.into()),
            None if follow => {
                if let Err(e) = out.flush() {
                    return if e.kind() == std::io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(e.into())
                    };
                }
                if let Some(watcher) = watcher.as_mut() {
                    watcher.wait_for_append(FALLBACK_POLL);
                }
            }
            None => break,
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn show_info(dir: PathBuf, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    let info = info(&dir)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!("log:       {}", info.dir.display());
        println!(
            "records:   {} (offsets {}..{})",
            info.next_offset - info.start_offset,
            info.start_offset,
            info.next_offset
        );
        println!(
            "bytes:     {} in {} segments",
            info.bytes,
            info.segments.len()
        );
        if let (Some(min), Some(max)) = (info.min_time, info.max_time) {
            println!("times:     {min}..={max} ms");
        }
        for segment in &info.segments {
            println!("  {}  {:>12} bytes", segment.file, segment.bytes);
        }
        println!("status:    {}", info.problem.as_deref().unwrap_or("ok"));
    }
    match info.problem {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}
