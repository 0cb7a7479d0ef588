//! q10, log to file system: every bid with its day and minute, written to CSV files
//! partitioned by both — a map, and a file sink that commits partitions by event time.
//!
//! ```sql
//! CREATE TABLE nexmark_q10 (
//!   auction  BIGINT,
//!   bidder  BIGINT,
//!   price  BIGINT,
//!   `dateTime`  TIMESTAMP(3),
//!   extra  VARCHAR,
//!   dt STRING,
//!   hm STRING
//! ) PARTITIONED BY (dt, hm) WITH (
//!   'connector' = 'filesystem',
//!   'format' = 'csv',
//!   'sink.partition-commit.trigger' = 'partition-time',
//!   'sink.partition-commit.delay' = '1 min',
//!   'sink.partition-commit.policy.kind' = 'success-file',
//!   'partition.time-extractor.timestamp-pattern' = '$dt $hm:00',
//!   ...
//! );
//!
//! INSERT INTO nexmark_q10
//! SELECT auction, bidder, price, `dateTime`, extra, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd'), DATE_FORMAT(`dateTime`, 'HH:mm')
//! FROM bid;
//! ```
//!
//! The result table is the rows with `dt` and `hm` (UTC). With [`Params::q10_dir`] set, the
//! rows are also written as the filesystem connector writes them ([`write_partitions`]):
//! `dir/dt=YYYY-MM-DD/hm=HH:mm/part-<worker>.csv`, one file per partition and worker, holding
//! the columns that are not partition columns (`auction,bidder,price,dateTime,extra`).
//!
//! **Commits.** A partition's time is its minute's start (`'$dt $hm:00'`); it is committed — an
//! empty `_SUCCESS` file, the success-file policy — once the watermark passes that time plus
//! the delay of one minute ([`COMMIT_DELAY_MS`]), that is, once the minute is complete. As in
//! Flink, the writers (one per worker) flush and sync their files of the partition first, and
//! a single committer (worker 0) writes `_SUCCESS` once every writer is done with it. At the
//! end of the input every partition is committed. A bid arriving behind the watermark after
//! its partition was committed is appended to the partition's file and the partition is
//! committed again. The files are written at least once: a restore from a checkpoint writes
//! the rows after it again (as the engine's `write_text`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sluice_engine::durable;
use sluice_engine::prelude::*;
use sluice_engine::timely::dataflow::channels::pact::{Exchange, Pipeline};
use sluice_engine::timely::dataflow::operators::{Capability, Operator};

use super::{bids, dates, Params, Query};
use crate::model::{Event, Extra};
use crate::table::{Change, Field};

crate::row! {
    /// A bid with its day and minute.
    pub struct Q10Row {
        auction: i64 = "auction",
        bidder: i64 = "bidder",
        price: i64 = "price",
        date_time: i64 = "dateTime",
        extra: Extra = "extra",
        dt: String = "dt",
        hm: String = "hm",
    }
}

/// q10.
#[derive(Clone, Debug, Default)]
pub struct Q10;

/// `sink.partition-commit.delay`.
pub const COMMIT_DELAY_MS: i64 = 60_000;

/// The watermark at which the partition of the minute starting at `start` is committed:
/// its partition time plus the delay.
///
/// ```
/// use sluice_nexmark::queries::q10::commit_time;
/// // The partition 12:34 (12:34:00.000–12:34:59.999) commits at 12:35:00.
/// let start = (12 * 60 + 34) * 60_000;
/// assert_eq!(commit_time(start), start + 60_000);
/// ```
pub fn commit_time(start: i64) -> i64 {
    start + COMMIT_DELAY_MS
}

/// The directory of the partition of the minute starting at `start`.
pub fn partition_dir(dir: &Path, start: i64) -> PathBuf {
    dir.join(format!("dt={}", dates::day(start)))
        .join(format!("hm={}", dates::minute(start)))
}

fn row(event: Event) -> Option<Q10Row> {
    let bid = bids(event)?;
    Some(Q10Row {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        date_time: bid.date_time,
        extra: bid.extra,
        dt: dates::day(bid.date_time),
        hm: dates::minute(bid.date_time),
    })
}

impl Query for Q10 {
    const NAME: &'static str = "q10";
    type Row = Q10Row;

    fn native<'s>(&self, events: Stream<'s, Event>, params: &Params) -> Stream<'s, Change<Q10Row>> {
        let rows = events.flat_map(row);
        if let Some(dir) = &params.q10_dir {
            write_partitions(rows.clone(), dir);
        }
        rows.map(|row| (row, 1))
    }
}

/// One worker's file of a partition, not yet flushed, and a capability at the time of its first
/// row, held until the file is flushed and the committer told.
struct Open {
    file: BufWriter<File>,
    path: PathBuf,
    since: Capability<Time>,
}

/// Writes `rows` to `dir` in partitions of their minute, and commits each partition once the
/// watermark passes its [`commit_time`] (see the module docs).
pub fn write_partitions(rows: Stream<'_, Q10Row>, dir: &Path) {
    let job = JobContext::of(rows.scope());
    let worker = rows.scope().index();
    let dir = dir.to_path_buf();
    let root = dir.clone();
    let fail = move |path: &Path, source: std::io::Error| {
        job.fail(Error::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    let failed = fail.clone();
    let flushed = rows.unary_frontier::<sluice_engine::timely::container::CapacityContainerBuilder<Vec<i64>>, _, _, _>(
        Pipeline,
        "Q10Files",
        move |_, _| {
            let mut open: BTreeMap<i64, Open> = BTreeMap::new();
            let mut line = String::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    for row in data.flat_map(|batch| batch.drain(..)) {
                        let start = dates::minute_start(row.date_time);
                        let partition = match open.entry(start) {
                            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                            std::collections::btree_map::Entry::Vacant(e) => {
                                let path = partition_dir(&dir, start)
                                    .join(format!("part-{worker}.csv"));
                                match create(&path) {
                                    Ok(file) => e.insert(Open {
                                        file,
                                        path,
                                        since: cap
                                            .retain_least(0)
                                            .expect("a Vec message has one time"),
                                    }),
                                    Err(error) => return fail(&path, error),
                                }
                            }
                        };
                        line.clear();
                        write_line(&row, &mut line);
                        if let Err(error) = partition.file.write_all(line.as_bytes()) {
                            return fail(&partition.path, error);
                        }
                    }
                });
                // Flush the partitions whose rows are all in, and tell the committer.
                while let Some(entry) = open.first_entry() {
                    if frontier.less_than(&(commit_time(*entry.key()) as Time)) {
                        break;
                    }
                    let (start, partition) = entry.remove_entry();
                    let Open { file, path, since } = partition;
                    if let Err(error) = flush(file, &path) {
                        return fail(&path, error);
                    }
                    output.session(&since).give(start);
                }
            }
        },
    );
    let mut pending: BTreeMap<i64, Time> = BTreeMap::new();
    flushed.sink(
        Exchange::new(|_: &i64| 0),
        "Q10Commit",
        move |(input, frontier)| {
            input.for_each_stamp(|cap, data| {
                for start in data.flat_map(|batch| batch.drain(..)) {
                    let at = pending.entry(start).or_default();
                    *at = (*at).max(*cap.least().expect("a Vec message has one time"));
                }
            });
            pending.retain(|&start, &mut at| {
                let done =
                    !frontier.less_than(&(commit_time(start) as Time)) && !frontier.less_equal(&at);
                if done {
                    let partition = partition_dir(&root, start);
                    if let Err(error) = commit(&root, &partition) {
                        failed(&partition, error);
                    }
                }
                !done
            });
        },
    );
}

/// A partition file, created or (for a bid after its partition's commit) appended to.
fn create(path: &Path) -> std::io::Result<BufWriter<File>> {
    std::fs::create_dir_all(path.parent().expect("a partition file is in a directory"))?;
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(BufWriter::with_capacity(1 << 16, file))
}

/// The CSV line of `row`'s non-partition columns.
fn write_line(row: &Q10Row, out: &mut String) {
    row.auction.write_field(out);
    out.push(',');
    row.bidder.write_field(out);
    out.push(',');
    row.price.write_field(out);
    out.push(',');
    row.date_time.write_field(out);
    out.push(',');
    row.extra.write_field(out);
    out.push('\n');
}

/// Flushes and syncs a partition file, and its directory (which now names it).
fn flush(file: BufWriter<File>, path: &Path) -> std::io::Result<()> {
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    File::open(path.parent().expect("a partition file is in a directory"))?.sync_all()
}

/// Commits a partition: `_SUCCESS`, written atomically, and the directories above it synced
/// so that the partition's own directory entries are durable too.
fn commit(root: &Path, partition: &Path) -> std::io::Result<()> {
    let io = |e: durable::DurableError| e.source;
    durable::write_atomically(&partition.join("_SUCCESS"), b"").map_err(io)?;
    let day = partition.parent().expect("a partition is in a day");
    durable::sync_dir(day).map_err(io)?;
    durable::sync_dir(root).map_err(io)
}
