//! `sluice log append|tail|info|repair DIR`: the event log from the shell.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};

use super::flags;
use sluice::engine::log::watch::FALLBACK_POLL;
use sluice::engine::log::{info, EventLog, Fsync, LogConfig, LogReader, LogWatcher};
use sluice::engine::Time;

use super::out::outln;

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
        /// Read past damaged records (counting them on stderr) instead of stopping at the
        /// first; `sluice log repair` is the lasting fix.
        #[arg(long)]
        skip_damaged: bool,
        /// Print every record's bytes as they are, also those that are not UTF-8 (by default
        /// these are skipped and counted, as every other reader of the log does).
        #[arg(long)]
        raw: bool,
    },
    /// Salvage a damaged log: keep every intact record (with its offset), move the damaged
    /// bytes to quarantine files, and record the offsets lost.
    Repair {
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// Start a new segment after this many bytes (1 to 1 GiB).
    #[arg(long, default_value_t = 64 << 20, value_parser = flags::int(1, 1 << 30))]
    segment_bytes: u64,
    /// Delete old segments while the log is larger than this (at least 1).
    #[arg(long, value_name = "BYTES", value_parser = flags::int(1, u64::MAX))]
    retention_bytes: Option<u64>,
    /// Delete segments last written longer ago than this (1 ms to 10 years).
    #[arg(long, value_name = "MS", value_parser = flags::int(1, 10 * 365 * 86_400_000))]
    retention_ms: Option<u64>,
    /// Each line starts with its event time in ms (`<ms> <rest>`); the whole line is stored.
    #[arg(long)]
    timed: bool,
}

fn parse_fsync(value: &str) -> Result<Fsync, String> {
    match value {
        "always" => Ok(Fsync::Always),
        "never" => Ok(Fsync::Never),
        ms => match ms.parse::<u64>() {
            Ok(ms) if (1..=flags::MAX_INTERVAL_MS).contains(&ms) => {
                Ok(Fsync::Every(Duration::from_millis(ms)))
            }
            _ => Err(format!(
                "expected always, never or a number of ms from 1 to {}, not {ms:?}",
                flags::MAX_INTERVAL_MS
            )),
        },
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
            skip_damaged,
            raw,
        } => {
            let start = TailStart { from, from_time };
            let print = TailPrint { offsets, raw };
            tail(dir, start, follow, skip_damaged, print)
        }
        LogCommand::Info { dir, json } => show_info(dir, json),
        LogCommand::Repair { dir, json } => repair(dir, json),
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

/// Where `sluice log tail` starts.
struct TailStart {
    from: Option<u64>,
    from_time: Option<Time>,
}

/// How `sluice log tail` prints a record.
struct TailPrint {
    offsets: bool,
    raw: bool,
}

fn tail(
    dir: PathBuf,
    start: TailStart,
    follow: bool,
    skip_damaged: bool,
    print: TailPrint,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut reader = LogReader::open(&dir)?;
    if skip_damaged {
        reader = reader.skip_damage();
    }
    // Made before the first read, so an append after any read is reported (see `log::watch`).
    let mut watcher = follow.then(|| LogWatcher::new(&dir));
    if let Some(offset) = start.from {
        reader.seek(offset)?;
    }
    if let Some(time) = start.from_time {
        reader.seek_time(time)?;
    }
    // A closed pipe (`| head`) ends the tail quietly, inside out::Stdout.
    let mut out = std::io::BufWriter::new(super::out::Stdout);
    let mut not_text = 0u64;
    let result = loop {
        let printed = reader.read_with(|offset, time, payload| {
            if !print.raw && std::str::from_utf8(payload).is_err() {
                not_text += 1;
                return Ok(());
            }
            if print.offsets {
                write!(out, "{offset}\t{time}\t")?;
            }
            out.write_all(payload)?;
            out.write_all(b"\n")
        });
        match printed {
            Ok(Some(written)) => written?,
            Ok(None) if follow => {
                out.flush()?;
                if let Some(watcher) = watcher.as_mut() {
                    watcher.wait_for_append(FALLBACK_POLL);
                }
            }
            Ok(None) => break out.flush().map_err(Into::into),
            Err(e) => break Err(Box::<dyn std::error::Error>::from(e)),
        }
    };
    if not_text > 0 {
        eprintln!("sluice log: {not_text} record(s) not valid UTF-8 skipped (--raw prints them)");
    }
    let skipped = reader.skipped();
    if skipped.bytes > 0 {
        eprintln!(
            "sluice log: skipped {} damaged byte(s), {} record(s)",
            skipped.bytes, skipped.records
        );
    }
    result
}

fn repair(dir: PathBuf, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    let report = sluice::engine::log::repair::repair(&dir)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if report.quarantined.is_empty() {
        outln!("{}: no damage found, nothing changed", dir.display());
        return Ok(());
    }
    for q in &report.quarantined {
        outln!(
            "quarantined {} damaged byte(s) of {} at byte {} to {}",
            q.bytes,
            q.segment,
            q.position,
            q.file.display()
        );
    }
    let lost: Vec<String> = report
        .lost
        .iter()
        .map(|r| format!("{}..{}", r.start, r.end))
        .collect();
    outln!(
        "salvaged {} intact record(s) into {}; offsets lost: {}",
        report.salvaged,
        report.rewritten.join(", "),
        if lost.is_empty() {
            "none".into()
        } else {
            lost.join(", ")
        }
    );
    Ok(())
}

fn show_info(dir: PathBuf, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    let info = info(&dir)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        outln!("log:       {}", info.dir.display());
        outln!(
            "records:   {} (offsets {}..{})",
            info.next_offset
                - info.start_offset
                - info.lost.iter().map(|r| r.end - r.start).sum::<u64>(),
            info.start_offset,
            info.next_offset
        );
        outln!(
            "bytes:     {} in {} segments",
            info.bytes,
            info.segments.len()
        );
        if let (Some(min), Some(max)) = (info.min_time, info.max_time) {
            outln!("times:     {min}..={max} ms");
        }
        for segment in &info.segments {
            outln!("  {}  {:>12} bytes", segment.file, segment.bytes);
        }
        for lost in &info.lost {
            outln!(
                "lost:      offsets {}..{} (given up by a repair)",
                lost.start,
                lost.end
            );
        }
        if let Some(bytes) = info.torn_tail_bytes {
            outln!("torn tail: {bytes} bytes (a write cut short; the next append cuts it off)");
        }
        outln!("status:    {}", info.problem.as_deref().unwrap_or("ok"));
    }
    match info.problem {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}
