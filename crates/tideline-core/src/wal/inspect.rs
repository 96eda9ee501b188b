//! `tideline wal inspect SEGMENT...`: what WAL segment files hold, read by the native reader
//! (plain or `.zst`, in the order given): records, commits and aborts with their times,
//! restore points, timeline switches, and with `--events` row changes and created files.
//! Memory stays at a few segments whatever the number of files (but for `--events`' changes).

use super::summary::{count_change, file_text, kept_changes, ChangeCounts, CreatedFile, RelationChange};
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use tideline_wal::decode::RelFileLocator;
use tideline_wal::reader::Rmgrs;
use tideline_wal::xact::Outcome;
use tideline_wal::xact::RM_XACT_ID;
use tideline_wal::xlog::RM_XLOG_ID;
use tideline_wal::{lsn_text, Reader, SegmentEnd};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TransactionEnd {
    /// `commit`, `abort` or `prepare`.
    pub outcome: String,
    pub xid: String,
    pub prepared: bool,
    pub lsn: String,
    /// RFC 3339, UTC, microseconds.
    pub time: String,
    pub subxacts: Vec<String>,
    /// Relation files the commit removes (`tablespace/database/relfilenode`).
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalRestorePoint {
    pub name: String,
    pub lsn: String,
    pub time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InspectReport {
    pub major: Option<u32>,
    #[ts(type = "number")]
    pub segments: u64,
    #[ts(type = "number")]
    pub records: u64,
    #[ts(type = "number")]
    pub record_bytes: u64,
    pub transactions: Vec<TransactionEnd>,
    pub restore_points: Vec<WalRestorePoint>,
    /// Where valid WAL ended, when it ended before the last file did.
    pub end_of_wal: Option<String>,
    /// Records that began a new timeline (after a recovery).
    pub timeline_switches: Vec<TimelineStart>,
    /// With events: rows changed per transaction and relation file (from 10 updated or deleted,
    /// or 1,000 inserted, as summaries keep them) …
    pub changes: Vec<RelationChange>,
    /// … and the relation files transactions created (TRUNCATE, rewrites, new tables).
    pub created: Vec<CreatedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimelineStart {
    pub lsn: String,
    pub from: u32,
    pub to: u32,
}

/// How much `inspect` reads out of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detail {
    /// Records counted (the fastest scan).
    Count,
    /// Commits, aborts, restore points, timeline switches.
    Transactions,
    /// And row changes and created files (every heap record's block references decoded).
    Events,
}

/// Row changes and created files being gathered across files.
#[derive(Default)]
struct Gathered {
    changes: ChangeCounts,
    created: Vec<(u32, RelFileLocator, bool)>,
}

/// A PostgreSQL timestamp (microseconds since 2000-01-01 UTC) as RFC 3339, UTC, microseconds.
pub fn rfc3339(pg_micros: i64) -> String {
    let unix = pg_micros + tideline_wal::xact::PG_EPOCH_UNIX_MICROS;
    chrono::DateTime::from_timestamp_micros(unix)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// Reads `paths` in order, as much of each record as `detail` asks. With two cores or more and
/// enough files, the files are cut into runs that the cores take one after another (runs rather
/// than one half per core: one core's files can take longer to read than another's). Each run
/// also reads the start of the next run's first file, to finish the record that runs into it
/// (which the next run skips). `--events` stays in one pass: a page image in a later run can
/// fill a file an earlier one saw created.
pub fn inspect(paths: &[PathBuf], check_crc: bool, detail: Detail) -> Result<InspectReport> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (report, gathered) = if cores >= 2 && paths.len() >= 4 && detail != Detail::Events {
        let runs: Vec<&[PathBuf]> = paths.chunks(paths.len().div_ceil(cores * 4).max(2)).collect();
        let taken = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..cores.min(runs.len()))
                .map(|_| {
                    scope.spawn(|| loop {
                        let i = taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(run) = runs.get(i) else { break };
                        let next = runs.get(i + 1).map(|r| &r[0]);
                        let found = inspect_part(run, next, check_crc, detail);
                        done.lock().unwrap_or_else(|e| e.into_inner()).push((i, found));
                    })
                })
                .collect();
            // Joined here, so that a panic is a missing run below rather than this one's.
            for worker in workers {
                let _ = worker.join();
            }
        });
        let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        if done.len() != runs.len() {
            return Err(Error::internal("a WAL reader thread panicked"));
        }
        done.sort_by_key(|(i, _)| *i);
        let mut found = done.into_iter().map(|(_, f)| f);
        let first = found.next().ok_or_else(|| Error::internal("no runs of files"))??;
        found.try_fold(first, |all, run| merge(all, run?))?
    } else {
        inspect_part(paths, None, check_crc, detail)?
    };
    let mut report = report;
    report.changes = kept_changes(gathered.changes);
    report.created = gathered
        .created
        .into_iter()
        .map(|(xid, rel, written)| CreatedFile { xid: xid.to_string(), file: file_text(&rel), written })
        .collect();
    Ok(report)
}

/// A run's findings after those of the runs before it, as one pass over all files would have them.
fn merge(first: (InspectReport, Gathered), second: (InspectReport, Gathered)) -> Result<(InspectReport, Gathered)> {
    let ((mut a, mut ga), (b, gb)) = (first, second);
    if let (Some(x), Some(y)) = (a.major, b.major) {
        if x != y {
            return Err(Error::new(
                ErrorCode::WalInvalid,
                format!("the segments mix PostgreSQL {x} and {y} WAL"),
                "Give the segments in order, one cluster's.",
            ));
        }
    }
    a.major = a.major.or(b.major);
    a.segments += b.segments;
    a.records += b.records;
    a.record_bytes += b.record_bytes;
    a.transactions.extend(b.transactions);
    a.restore_points.extend(b.restore_points);
    a.timeline_switches.extend(b.timeline_switches);
    a.end_of_wal = b.end_of_wal.or(a.end_of_wal);
    for (k, v) in gb.changes {
        let c = ga.changes.entry(k).or_default();
        for i in 0..3 {
            c[i] += v[i];
        }
    }
    ga.created.extend(gb.created);
    Ok((a, ga))
}

/// Reads `paths` in order with one reader; then, given `next`, as much of that file as it takes
/// to finish the record the last one left unfinished.
fn inspect_part(
    paths: &[PathBuf],
    next: Option<&PathBuf>,
    check_crc: bool,
    detail: Detail,
) -> Result<(InspectReport, Gathered)> {
    let mut pass = Pass::new(check_crc, detail);
    let unreadable = |e: tideline_wal::WalError| {
        Error::new(ErrorCode::WalInvalid, e.to_string(), "Name WAL segment files (plain or .zst).")
    };
    for path in paths {
        let mut source = tideline_wal::segment::open(path).map_err(unreadable)?;
        pass.scan(path, &mut source, None)?;
    }
    if let Some(path) = next {
        // Its first page says how long the unfinished record's rest is; only the pages that
        // rest spans (and one more) are read.
        let mut first_page = Vec::new();
        tideline_wal::segment::read_prefix_into(path, 8192, &mut first_page).map_err(unreadable)?;
        if let Some(first) = tideline_wal::page::PageHeader::parse(&first_page) {
            let page = first.long.map_or(8192, |l| l.page_size as usize);
            let pages = first.rem_len as usize / (page - 40) + 2;
            let mut source = tideline_wal::segment::open(path).map_err(unreadable)?.take((pages * page) as u64);
            // Not a segment of this half: neither counted nor where its WAL ends.
            let (segments, end) = (pass.report.segments, pass.report.end_of_wal.clone());
            // A file that does not continue this one adds nothing; its own errors are the
            // next run's to report.
            let _ = pass.scan(path, &mut source, Some(first.page_addr));
            (pass.report.segments, pass.report.end_of_wal) = (segments, end);
        }
    }
    Ok((pass.report, pass.gathered))
}

/// One reader's way through some of the files, and what it found.
struct Pass {
    reader: Reader,
    report: InspectReport,
    gathered: Gathered,
    detail: Detail,
    /// The chunk the reader reads into, kept from file to file.
    buf: Vec<u8>,
}

impl Pass {
    fn new(check_crc: bool, detail: Detail) -> Pass {
        let mut reader = Reader::new(check_crc);
        reader.hand_over(match detail {
            Detail::Count => Rmgrs::NONE,
            Detail::Transactions => Rmgrs::of(&[RM_XLOG_ID, RM_XACT_ID]),
            Detail::Events => Rmgrs::ALL,
        });
        let report = InspectReport {
            major: None,
            segments: 0,
            records: 0,
            record_bytes: 0,
            transactions: Vec::new(),
            restore_points: Vec::new(),
            end_of_wal: None,
            timeline_switches: Vec::new(),
            changes: Vec::new(),
            created: Vec::new(),
        };
        Pass { reader, report, gathered: Gathered::default(), detail, buf: Vec::new() }
    }

    /// One file's records into the report; with `before`, only those that begin before it
    /// (the rest belong to another pass).
    fn scan(&mut self, path: &Path, source: &mut dyn Read, before: Option<u64>) -> Result<()> {
        let Pass { reader, report, gathered, detail, buf } = self;
        let detail = *detail;
        if before.is_some() {
            // Records from `before` on are handed over to be left out.
            reader.hand_over(Rmgrs::ALL);
        }
        let counted = reader.counted();
        let mut left_out = (0, 0);
        let end = reader
            .feed_read(source, buf, &mut |r| {
                if before.is_some_and(|b| r.lsn >= b) {
                    left_out.0 += 1;
                    left_out.1 += r.bytes.len() as u64;
                    return;
                }
                if detail == Detail::Count {
                    return;
                }
                if detail == Detail::Events {
                    if let Some(c) = tideline_wal::heap::row_change(r) {
                        count_change(&mut gathered.changes, &c);
                        return;
                    }
                    if let Some(c) = tideline_wal::storage::created(r) {
                        gathered.created.push((c.xid, c.rel, false));
                        return;
                    }
                    if let Some(files) = tideline_wal::storage::page_images(r) {
                        for (xid, rel, written) in gathered.created.iter_mut() {
                            *written |= *xid == r.xid() && files.contains(rel);
                        }
                        return;
                    }
                }
                if let Some(s) = tideline_wal::xlog::timeline_switch(r) {
                    report.timeline_switches.push(TimelineStart { lsn: lsn_text(s.lsn), from: s.from, to: s.to });
                } else if let Some(x) = tideline_wal::xact::parse(r) {
                    report.transactions.push(TransactionEnd {
                        outcome: match x.outcome {
                            Outcome::Commit => "commit",
                            Outcome::Abort => "abort",
                            Outcome::Prepare => "prepare",
                        }
                        .into(),
                        xid: x.xid.to_string(),
                        prepared: x.prepared,
                        lsn: lsn_text(x.lsn),
                        time: rfc3339(x.time),
                        subxacts: x.subxacts.iter().map(|s| s.to_string()).collect(),
                        dropped: x.dropped.iter().map(file_text).collect(),
                    });
                } else if let Some(p) = tideline_wal::xlog::restore_point(r) {
                    report.restore_points.push(WalRestorePoint {
                        name: p.name,
                        lsn: lsn_text(p.lsn),
                        time: rfc3339(p.time),
                    });
                }
            })
            .map_err(|e| {
                Error::new(
                    ErrorCode::WalInvalid,
                    format!("{}: {e}", path.display()),
                    "Give the segments in order, one cluster's.",
                )
            })?;
        let now = reader.counted();
        report.records += now.0 - counted.0 - left_out.0;
        report.record_bytes += now.1 - counted.1 - left_out.1;
        report.segments += 1;
        report.major = reader.major();
        if let SegmentEnd::EndOfWal { at } = end {
            report.end_of_wal = Some(lsn_text(at));
        }
        Ok(())
    }
}
