//! Damage injected into event logs: nothing intact is ever lost, nothing is silently wrong.
//!
//! Every test writes a log, notes where each record lies on disk, damages bytes, and then holds
//! the writer, the readers and `repair` against that plain list of what was appended: records
//! whose bytes were not touched must all still be readable with their offsets, and no reader
//! may return a record that was not appended.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sluice_engine::log::record::{self, Decoded};
use sluice_engine::log::{repair, segment, EventLog, Fsync, LogConfig, LogReader, LogRecord};

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig::default()
        .fsync(Fsync::Never)
        .segment_bytes(segment_bytes)
        .index_interval(64)
}

/// Where one appended record lies on disk.
#[derive(Clone, Debug)]
struct Placed {
    record: LogRecord,
    file: PathBuf,
    bytes: std::ops::Range<u64>,
}

/// Appends `payloads` and returns each record with its place on disk, read back by decoding
/// the segment files independently of the reader under test.
fn write_log(dir: &Path, payloads: &[Vec<u8>], segment_bytes: u64) -> Vec<Placed> {
    let mut log = EventLog::open_with(dir, config(segment_bytes)).unwrap();
    for (i, payload) in payloads.iter().enumerate() {
        log.append(1_000 + i as u64, payload).unwrap();
    }
    drop(log);
    let mut placed = Vec::new();
    for file in segment_files(dir) {
        let bytes = std::fs::read(&file).unwrap();
        let mut at = 0;
        while at < bytes.len() {
            let Decoded::Record {
                offset,
                time,
                payload,
                len,
            } = record::decode(&bytes[at..])
            else {
                panic!("fresh log undecodable at {at} of {}", file.display())
            };
            placed.push(Placed {
                record: LogRecord {
                    offset,
                    time,
                    payload: payload.to_vec(),
                },
                file: file.clone(),
                bytes: at as u64..(at + len) as u64,
            });
            at += len;
        }
    }
    assert_eq!(placed.len(), payloads.len());
    placed
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let bases = segment::list(dir).unwrap();
    bases
        .into_iter()
        .map(|b| segment::segment_path(dir, b))
        .collect()
}

/// Every file of the log, by name, with its bytes (to check that nothing was changed).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.ends_with(".lock"))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Reads until the end or the first error.
fn read_until_error(dir: &Path) -> (Vec<LogRecord>, Option<String>) {
    let mut reader = LogReader::open(dir).unwrap();
    let mut records = Vec::new();
    loop {
        match reader.read() {
            Ok(Some(record)) => records.push(record),
            Ok(None) => return (records, None),
            Err(e) => return (records, Some(e.to_string())),
        }
    }
}

/// Overwrites bytes of `file` at `at`.
fn damage(file: &Path, at: u64, with: &[u8]) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at as usize..at as usize + with.len()].copy_from_slice(with);
    std::fs::write(file, bytes).unwrap();
}

/// The records whose bytes do not overlap `damaged` in `file`.
fn intact(placed: &[Placed], file: &Path, damaged: std::ops::Range<u64>) -> Vec<LogRecord> {
    placed
        .iter()
        .filter(|p| p.file != file || p.bytes.end <= damaged.start || damaged.end <= p.bytes.start)
        .map(|p| p.record.clone())
        .collect()
}

/// What must hold of a log with damage in `damaged` of `file`, whatever the damage is:
/// - readers return only records that were appended, in order, and every intact one before
///   the damage;
/// - opening the writer either refuses and changes nothing, or (a torn tail) loses nothing
///   intact;
/// - after `repair`, a plain reader reads every intact record with its offset, and nothing
///   else; an append after it gets an offset no record ever had.
fn check_damaged_log(dir: &Path, placed: &[Placed], file: &Path, damaged: std::ops::Range<u64>) {
    let original: Vec<LogRecord> = placed.iter().map(|p| p.record.clone()).collect();
    let intact = intact(placed, file, damaged.clone());

    let (read, _error) = read_until_error(dir);
    assert!(
        read.iter().all(|r| original.contains(r)),
        "a reader returned a record never appended"
    );
    let before_damage: Vec<_> = placed
        .iter()
        .take_while(|p| p.file != file || p.bytes.end <= damaged.start)
        .map(|p| p.record.clone())
        .collect();
    assert!(
        read.starts_with(&before_damage),
        "a reader stopped before the damage"
    );

    let before = snapshot(dir);
    let next = match EventLog::open_with(dir, config(1 << 20)) {
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("sluice log repair"), "{message}");
            assert_eq!(snapshot(dir), before, "a refusing writer changed the log");
            None
        }
        Ok(log) => Some(log.next_offset()),
    };
    if next.is_some() {
        let (read, _) = read_until_error(dir);
        for record in &intact {
            if record.offset < read.last().map_or(0, |r| r.offset + 1) {
                assert!(read.contains(record), "opening lost {}", record.offset);
            }
        }
    }

    repair::repair(dir).unwrap();
    let (read, error) = read_until_error(dir);
    assert_eq!(error, None, "the repaired log still has damage");
    assert!(
        read.windows(2).all(|w| w[0].offset < w[1].offset),
        "offsets out of order after repair"
    );
    for record in &read {
        assert!(original.contains(record), "repair made up {record:?}");
    }
    for record in &intact {
        assert!(
            read.contains(record),
            "repair lost intact record {}",
            record.offset
        );
    }
    let mut reader = LogReader::open(dir).unwrap();
    let n = original.len() as u64;
    let step = if n <= 500 { 1 } else { 97 };
    let missing = original
        .iter()
        .map(|r| r.offset)
        .filter(|o| !read.iter().any(|r| r.offset == *o));
    let targets: Vec<u64> = (0..n).step_by(step).chain(missing).collect();
    for target in targets {
        reader.seek(target).unwrap();
        let expected = read.iter().find(|r| r.offset >= target);
        assert_eq!(reader.read().unwrap().as_ref(), expected, "seek({target})");
    }
    let mut log = EventLog::open_with(dir, config(1 << 20)).unwrap();
    let offset = log.append(9, b"after").unwrap();
    if next.is_none() {
        assert!(
            offset >= original.len() as u64,
            "offset {offset} reused after repair"
        );
    }
    drop(log);
    let (read, error) = read_until_error(dir);
    assert_eq!(error, None);
    assert_eq!(read.last().unwrap().payload, b"after");
}

fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("record {i} {}", "x".repeat(i % 13)).into_bytes())
        .collect()
}

/// The reproduction: a length field in the middle of the newest segment made huge.
/// It used to pass for a torn tail: `log info` said ok and the next append cut off the half of
/// the log after it, reusing its offsets.
#[test]
fn a_huge_length_mid_segment_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let placed = write_log(dir.path(), &payloads(10_000), 1 << 30);
    let victim = &placed[5_000];
    damage(
        &victim.file,
        victim.bytes.start,
        &0x00FF_FFFFu32.to_le_bytes(),
    );
    let before = snapshot(dir.path());

    let error = EventLog::open(dir.path()).err().unwrap().to_string();
    assert!(
        error.contains("offset 5000")
            && error.contains(&format!("byte {}", victim.bytes.start))
            && error.contains("resume")
            && error.contains("sluice log repair"),
        "{error}"
    );
    assert_eq!(snapshot(dir.path()), before);
    let info = sluice_engine::log::info(dir.path()).unwrap();
    assert!(info.problem.unwrap().contains("offset 5000"));
    let (read, error) = read_until_error(dir.path());
    assert_eq!(read.len(), 5_000);
    assert!(error.unwrap().contains("offset 5000"));

    let mut skipping = LogReader::open(dir.path()).unwrap().skip_damage();
    let mut count = 0;
    while skipping.read().unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 9_999);
    assert_eq!(skipping.skipped().records, 1);
    assert_eq!(
        skipping.skipped().bytes,
        victim.bytes.end - victim.bytes.start
    );

    let report = repair::repair(dir.path()).unwrap();
    assert_eq!(report.lost, vec![5_000..5_001]);
    assert_eq!(report.salvaged, 9_999);
    let quarantined = std::fs::read(&report.quarantined[0].file).unwrap();
    assert_eq!(
        quarantined.len() as u64,
        victim.bytes.end - victim.bytes.start
    );
    check_damaged_log(dir.path(), &placed, &victim.file, victim.bytes.clone());
}

/// Damage at the head, middle and tail of a sealed and of the newest segment, in the length,
/// the checksum and the payload.
#[test]
fn damage_anywhere_in_any_field_loses_nothing_intact() {
    for segment in ["sealed", "newest"] {
        for place in ["head", "middle", "tail"] {
            for (field, at, with) in [
                ("length", 0, &[0xEE, 0xEE, 0x00][..]),
                ("length", 0, &[0x01][..]),
                ("checksum", 4, &[0x5A][..]),
                ("payload", 24, &[0x00][..]),
            ] {
                let dir = tempfile::tempdir().unwrap();
                let placed = write_log(dir.path(), &payloads(60), 600);
                let files = segment_files(dir.path());
                assert!(files.len() >= 3);
                let file = if segment == "sealed" {
                    &files[1]
                } else {
                    files.last().unwrap()
                };
                let in_file: Vec<&Placed> = placed.iter().filter(|p| &p.file == file).collect();
                let victim = match place {
                    "head" => in_file[0],
                    "middle" => in_file[in_file.len() / 2],
                    _ => in_file[in_file.len() - 1],
                };
                let start = victim.bytes.start + at;
                let mut bytes = with.to_vec();
                if field != "length" {
                    let old = std::fs::read(file).unwrap()[start as usize];
                    bytes = vec![old ^ with[0]];
                }
                damage(file, start, &bytes);
                eprintln!("{segment} {place} {field} {with:?}");
                check_damaged_log(dir.path(), &placed, file, start..start + bytes.len() as u64);
            }
        }
    }
}

/// A sealed segment cut short, and one deleted outright: readers report the gap.
#[test]
fn a_truncated_sealed_segment_is_reported_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let placed = write_log(dir.path(), &payloads(60), 600);
    let file = segment_files(dir.path())[1].clone();
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let (_, error) = read_until_error(dir.path());
    assert!(error.unwrap().contains("sealed segment"));
    check_damaged_log(dir.path(), &placed, &file, len - 10..len);

    std::fs::remove_file(&segment_files(dir.path())[2]).unwrap();
    let (_, error) = read_until_error(dir.path());
    assert!(error.unwrap().contains("missing"));
}

/// Index files are caches: damaged ones never make a reader land on the wrong record.
#[test]
fn damaged_indexes_never_misplace_a_seek() {
    let dir = tempfile::tempdir().unwrap();
    let placed = write_log(dir.path(), &payloads(200), 2_000);
    for index in std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "index"))
    {
        let mut bytes = std::fs::read(&index).unwrap();
        // Each entry's position moves a few bytes, keeping the entries in order.
        for entry in bytes.chunks_mut(24).skip(1) {
            entry[8] = entry[8].wrapping_add(3);
        }
        std::fs::write(&index, bytes).unwrap();
    }
    let mut reader = LogReader::open(dir.path()).unwrap();
    for target in [0u64, 7, 55, 120, 199] {
        reader.seek(target).unwrap();
        assert_eq!(
            reader.read().unwrap().unwrap(),
            placed[target as usize].record
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random appends, random damage at a random byte of a random segment, then the writer,
    /// the readers and repair: nothing intact lost, nothing made up, no offset reused.
    #[test]
    fn random_damage_then_repair_keeps_every_intact_record(
        lengths in prop::collection::vec(0usize..80, 1..150),
        segment_bytes in 100u64..3_000,
        file_pick in any::<prop::sample::Index>(),
        byte_pick in any::<prop::sample::Index>(),
        width in 1usize..6,
        value in any::<u8>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let payloads: Vec<Vec<u8>> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 31 + j * 7) as u8).collect())
            .collect();
        let placed = write_log(dir.path(), &payloads, segment_bytes);
        let files = segment_files(dir.path());
        let file = &files[file_pick.index(files.len())];
        let len = std::fs::metadata(file).unwrap().len();
        prop_assume!(len > 0);
        let at = byte_pick.index(len as usize) as u64;
        let width = width.min((len - at) as usize);
        let old = std::fs::read(file).unwrap();
        let with: Vec<u8> = old[at as usize..at as usize + width]
            .iter()
            .map(|&b| b ^ value.max(1))
            .collect();
        damage(file, at, &with);
        check_damaged_log(dir.path(), &placed, file, at..at + width as u64);
    }
}
