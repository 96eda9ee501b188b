//! `tideline wal inspect SEGMENT...`: what WAL segment files hold, read by the native reader
//! (plain or `.zst`, in the order given): records, commits and aborts with their times,
//! restore points, timeline switches, and with `--events` row changes and created files.
//! Memory stays at two segments whatever the number of files (but for `--events`' changes).

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

/// Reads `paths` in order, as much of each record as `detail` asks.
pub fn inspect(paths: &[PathBuf], check_crc: bool, detail: Detail) -> Result<InspectReport> {
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
                scan(&mut reader, &mut report, &mut gathered, &path, &buf, detail)?;
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
    report.changes = kept_changes(gathered.changes);
    report.created = gathered
        .created
        .into_iter()
        .map(|(xid, rel, written)| CreatedFile { xid: xid.to_string(), file: file_text(&rel), written })
        .collect();
    Ok(report)
}

/// One file's records into the report.
fn scan(
    reader: &mut Reader,
    report: &mut InspectReport,
    gathered: &mut Gathered,
    path: &Path,
    buf: &[u8],
    detail: Detail,
) -> Result<()> {
    let end = reader
        .feed_segment(buf, &mut |r| {
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
