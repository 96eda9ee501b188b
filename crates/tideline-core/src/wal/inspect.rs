//! `tideline wal inspect SEGMENT...`: what WAL segment files hold, read by the native reader
//! (plain or `.zst`, in the order given): records, commits and aborts with their times,
//! restore points, timeline switches, and with `--events` row changes and created files.
//! Memory stays at a few segments whatever the number of files (but for `--events`' changes).

use super::summary::{count_change, file_text, kept_changes, ChangeCounts, CreatedFile, RelationChange};
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tideline_wal::decode::RelFileLocator;
use tideline_wal::xact::Outcome;
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

/// Reads `paths` in order, as much of each record as `detail` asks. With two cores and enough
/// files, each half of them is read on its own core: the first half also reads the start of the
/// second's first file, to finish the record that runs into it (which the second half skips).
/// `--events` stays in one pass: a page image in the second half can fill a file the first
/// half saw created.
pub fn inspect(paths: &[PathBuf], check_crc: bool, detail: Detail) -> Result<InspectReport> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (report, gathered) = if cores >= 2 && paths.len() >= 4 && detail != Detail::Events {
        let mid = paths.len() / 2;
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| inspect_part(&paths[mid..], None, check_crc, detail));
            let first = inspect_part(&paths[..mid], Some(&paths[mid]), check_crc, detail);
            (first, second.join().unwrap_or_else(|_| Err(Error::internal("the second half's reader panicked"))))
        });
        merge(first?, second?)?
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

/// The second half's findings after the first's, as one pass over all files would have them.
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
    let mut reader = Reader::new(check_crc);
    let mut report = InspectReport {
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
    let mut gathered = Gathered::default();
    // The next file is read on the other core while this one is parsed (a read, not a
    // mapping: measured here, unmapping costs more than the copy); two buffers circulate.
    type Loaded = (PathBuf, std::io::Result<Vec<u8>>);
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Loaded>(1);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    for _ in 0..2 {
        let _ = empty_tx.send(Vec::new());
    }
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            for path in paths {
                let Ok(mut buf) = empty_rx.recv() else { return };
                let read = tideline_wal::segment::read_into(path, &mut buf)
                    .map(|_| buf)
                    .map_err(|e| std::io::Error::other(e.to_string()));
                if full_tx.send((path.clone(), read)).is_err() {
                    return;
                }
            }
        });
        let mut parse = || -> Result<()> {
            for (path, read) in full_rx.iter() {
                let buf = read.map_err(|e| {
                    Error::new(ErrorCode::WalInvalid, e.to_string(), "Name WAL segment files (plain or .zst).")
                })?;
                scan(&mut reader, &mut report, &mut gathered, &path, &buf, detail, None)?;
                let _ = empty_tx.send(buf);
            }
            Ok(())
        };
        let parsed = parse();
        // Stopped early: the reading thread must see closed channels, or the scope waits on it.
        drop(full_rx);
        drop(empty_tx);
        parsed
    })?;
    if let Some(path) = next {
        let unreadable = |e: tideline_wal::WalError| {
            Error::new(ErrorCode::WalInvalid, e.to_string(), "Name WAL segment files (plain or .zst).")
        };
        // Its first page says how long the unfinished record's rest is; only the pages that
        // rest spans (and one more) are read.
        let mut buf = Vec::new();
        tideline_wal::segment::read_prefix_into(path, 8192, &mut buf).map_err(unreadable)?;
        if let Some(first) = tideline_wal::page::PageHeader::parse(&buf) {
            let page = first.long.map_or(8192, |l| l.page_size as usize);
            let pages = first.rem_len as usize / (page - 40) + 2;
            tideline_wal::segment::read_prefix_into(path, (pages * page) as u64, &mut buf).map_err(unreadable)?;
            // Not a segment of this half: neither counted nor where its WAL ends.
            let (segments, end) = (report.segments, report.end_of_wal.clone());
            // A file that does not continue this one adds nothing; its own errors are the
            // second half's to report.
            let _ = scan(&mut reader, &mut report, &mut gathered, path, &buf, detail, Some(first.page_addr));
            (report.segments, report.end_of_wal) = (segments, end);
        }
    }
    Ok((report, gathered))
}

/// One file's records into the report.
fn scan(
    reader: &mut Reader,
    report: &mut InspectReport,
    gathered: &mut Gathered,
    path: &Path,
    buf: &[u8],
    detail: Detail,
    before: Option<u64>,
) -> Result<()> {
    let end = reader
        .feed_segment(buf, &mut |r| {
            // Records from `before` on belong to another reader.
            if before.is_some_and(|b| r.lsn >= b) {
                return;
            }
            report.records += 1;
            report.record_bytes += r.bytes.len() as u64;
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
    report.segments += 1;
    report.major = reader.major();
    if let SegmentEnd::EndOfWal { at } = end {
        report.end_of_wal = Some(lsn_text(at));
    }
    Ok(())
}
