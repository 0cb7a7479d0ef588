//! The event log against a plain vector of what was appended: reading back, seeking by offset
//! and by time, torn tails, damage, retention, and a reader following a writer.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use sluice_engine::log::{EventLog, Fsync, LogConfig, LogReader, LogRecord};

fn small() -> LogConfig {
    LogConfig::default()
        .fsync(Fsync::Never)
        .segment_bytes(300)
        .index_interval(64)
}

fn payload(i: usize) -> Vec<u8> {
    format!("record {i} {}", "x".repeat(i % 17)).into_bytes()
}

fn read_all(dir: &Path) -> Vec<LogRecord> {
    let mut reader = LogReader::open(dir).unwrap();
    std::iter::from_fn(|| reader.read().unwrap()).collect()
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Times in any order: reading returns exactly what was appended; seeking to an offset or
    /// a time lands where a plain search of the appended vector says.
    #[test]
    fn reads_and_seeks_agree_with_a_plain_search(
        times in proptest::collection::vec(0u64..1_000, 1..200),
        probes in proptest::collection::vec(0u64..1_100, 1..10),
    ) {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = EventLog::open_with(dir.path(), small()).unwrap();
            // In a few calls, so that appends and rolls interleave.
            for (chunk, part) in times.chunks(7).enumerate() {
                let records = part.iter().enumerate().map(|(i, &t)| (t, payload(chunk * 7 + i)));
                log.append_all(records).unwrap();
            }
        }
        prop_assert!(segment_files(dir.path()).len() > 1 || times.len() < 10);
        let all = read_all(dir.path());
        prop_assert_eq!(all.len(), times.len());
        for (i, record) in all.iter().enumerate() {
            prop_assert_eq!(record.offset, i as u64);
            prop_assert_eq!(record.time, times[i]);
            prop_assert_eq!(&record.payload, &payload(i));
        }
        let mut reader = LogReader::open(dir.path()).unwrap();
        for &probe in &probes {
            let offset = probe as usize % times.len();
            reader.seek(offset as u64).unwrap();
            prop_assert_eq!(reader.read().unwrap().unwrap().offset, offset as u64);
            reader.seek_time(probe).unwrap();
            let expected = times.iter().position(|&t| t >= probe);
            let got = reader.read().unwrap().map(|r| r.offset as usize);
            prop_assert_eq!(got, expected, "seek_time({})", probe);
        }
    }

    /// A crash can cut the newest segment at any byte: reopening keeps exactly the whole
    /// records before the cut, and appending continues at the next offset.
    #[test]
    fn a_log_cut_anywhere_reopens_with_its_whole_records(cut_fraction in 0.0f64..1.0) {
        let dir = tempfile::tempdir().unwrap();
        let config = small().segment_bytes(1 << 20);
        let mut ends = Vec::new();
        {
            let mut log = EventLog::open_with(dir.path(), config.clone()).unwrap();
            for i in 0..50 {
                log.append(i, &payload(i as usize)).unwrap();
                log.sync().unwrap();
                ends.push(std::fs::metadata(&segment_files(dir.path())[0]).unwrap().len());
            }
        }
        let segment = &segment_files(dir.path())[0];
        let len = std::fs::metadata(segment).unwrap().len();
        let cut = (len as f64 * cut_fraction) as u64;
        std::fs::OpenOptions::new().write(true).open(segment).unwrap().set_len(cut).unwrap();
        let whole = ends.iter().filter(|&&end| end <= cut).count() as u64;
        let mut log = EventLog::open_with(dir.path(), config).unwrap();
        prop_assert_eq!(log.next_offset(), whole);
        prop_assert_eq!(log.repaired().is_some(), !ends.contains(&cut) && cut > 0);
        prop_assert_eq!(log.append(99, b"after").unwrap(), whole);
        drop(log);
        let all = read_all(dir.path());
        prop_assert_eq!(all.len() as u64, whole + 1);
        prop_assert_eq!(&all.last().unwrap().payload, b"after");
    }
}

#[test]
fn a_torn_record_of_zeros_is_cut_off_too() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = EventLog::open_with(dir.path(), small()).unwrap();
        log.append_all((0..3).map(|i| (i, payload(i as usize))))
            .unwrap();
    }
    // A file system may extend the file before a crash fills it.
    let segment = &segment_files(dir.path())[0];
    let len = std::fs::metadata(segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(segment)
        .unwrap()
        .set_len(len + 200)
        .unwrap();
    let log = EventLog::open_with(dir.path(), small()).unwrap();
    assert_eq!(log.next_offset(), 3);
    assert!(
        log.repaired().unwrap().contains("torn"),
        "{:?}",
        log.repaired()
    );
}

#[test]
fn damage_in_the_middle_is_reported_with_its_offset_by_writer_and_reader() {
    let dir = tempfile::tempdir().unwrap();
    let config = small().segment_bytes(1 << 20);
    {
        let mut log = EventLog::open_with(dir.path(), config.clone()).unwrap();
        log.append_all((0..20).map(|i| (i, payload(i as usize))))
            .unwrap();
    }
    let records = read_all(dir.path());
    let segment = &segment_files(dir.path())[0];
    let mut bytes = std::fs::read(segment).unwrap();
    // Record 7 starts after the first seven records.
    let at: usize = records[..7].iter().map(|r| 24 + r.payload.len()).sum();
    bytes[at + 30] ^= 0xff;
    std::fs::write(segment, bytes).unwrap();

    let error = EventLog::open_with(dir.path(), config)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("offset 7") && error.contains(&format!("byte {at}")),
        "{error}"
    );
    assert!(error.contains("00000000000000000000.log"), "{error}");

    let mut reader = LogReader::open(dir.path()).unwrap();
    for i in 0..7 {
        assert_eq!(reader.read().unwrap().unwrap().offset, i);
    }
    let error = reader.read().unwrap_err().to_string();
    assert!(
        error.contains("offset 7") && error.contains("checksum"),
        "{error}"
    );
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = EventLog::open(dir.path()).unwrap();
    let error = EventLog::open(dir.path()).err().unwrap().to_string();
    assert!(error.contains("another process is appending"), "{error}");
}

#[test]
fn retention_by_size_deletes_old_segments_and_readers_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let config = small().retention_bytes(1_000);
    let mut log = EventLog::open_with(dir.path(), config).unwrap();
    for i in 0..200 {
        log.append(i, &payload(i as usize)).unwrap();
    }
    let start = log.start_offset();
    assert!(start > 0, "nothing was deleted");
    let size: u64 = segment_files(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(size <= 1_000 + 300 + 100, "{size} bytes kept");
    let mut reader = LogReader::open(dir.path()).unwrap();
    assert_eq!(reader.read().unwrap().unwrap().offset, start);
    let error = reader.seek(0).unwrap_err().to_string();
    assert!(error.contains("removed by retention"), "{error}");
    drop(log);
    let kept = read_all(dir.path());
    assert_eq!(kept.len() as u64, 200 - start);
}

#[test]
fn retention_by_age_deletes_segments_written_long_enough_ago() {
    let dir = tempfile::tempdir().unwrap();
    let config = small().retention_age(Duration::from_millis(300));
    let mut log = EventLog::open_with(dir.path(), config).unwrap();
    for i in 0..50 {
        log.append(i, &payload(i as usize)).unwrap();
    }
    assert_eq!(log.start_offset(), 0);
    // The segment being written during the wait is fresh when sealed: it stays.
    let newest = segment_files(dir.path()).last().unwrap().clone();
    let newest: u64 = newest
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(newest > 0);
    std::thread::sleep(Duration::from_millis(400));
    for i in 50..60 {
        log.append(i, &payload(i as usize)).unwrap();
    }
    assert_eq!(log.start_offset(), newest);
}

/// A reader in another thread follows the log while a writer appends and rolls segments: it
/// sees every record once, in order, and nothing else.
#[test]
fn a_reader_follows_a_growing_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = EventLog::open_with(&path, small()).unwrap();
    log.append(0, &payload(0)).unwrap();
    let total = 3_000;
    let reader = std::thread::spawn(move || {
        let mut reader = LogReader::open(&path).unwrap();
        let mut seen = Vec::new();
        while seen.len() < total {
            match reader.read().unwrap() {
                Some(record) => seen.push(record),
                None => std::thread::sleep(Duration::from_micros(200)),
            }
        }
        assert!(reader.read().unwrap().is_none());
        seen
    });
    for i in 1..total {
        log.append(i as u64, &payload(i)).unwrap();
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let seen = reader.join().unwrap();
    for (i, record) in seen.iter().enumerate() {
        assert_eq!((record.offset, &record.payload), (i as u64, &payload(i)));
    }
    assert!(segment_files(dir.path()).len() > 100);
}
