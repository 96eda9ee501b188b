//! Per-segment summaries, written beside each archived segment as `<segment>.json` when it
//! lands (by wal-push and the stream supervisor, which have no catalog) and ingested into the
//! catalog later: commit times and counts per minute, restore points, row changes per
//! transaction and relation file, and the files commits drop. The timeline reads these,
//! never the WAL itself.
//!
//! A segment's summary holds the records that *end* in it: a record cut by the segment's end is
//! completed from the next segment and counted there (the previous segment is read back from
//! the archive to find its beginning), so no record is lost between two files.

use super::archive::{read_compressed, WalArchive};
use super::inspect::rfc3339;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tideline_wal::heap::Change;
use tideline_wal::xact::Outcome;
use tideline_wal::{lsn_text, Reader, SegmentEnd};
use ts_rs::TS;

pub const SUMMARY_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CommitPoint {
    pub xid: String,
    pub lsn: String,
    pub time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RelationChange {
    pub xid: String,
    /// `tablespace/database/relfilenode`.
    pub file: String,
    pub inserted: u32,
    pub updated: u32,
    pub deleted: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DroppedFiles {
    pub xid: String,
    pub lsn: String,
    pub time: String,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SegmentSummary {
    pub format_version: u32,
    pub segment: String,
    pub timeline: u32,
    pub major: u32,
    #[ts(type = "number")]
    pub records: u64,
    pub commits: u32,
    pub aborts: u32,
    pub first_commit: Option<CommitPoint>,
    pub last_commit: Option<CommitPoint>,
    /// Commits per minute (`2026-11-24T14:29Z` → count).
    pub commits_per_minute: BTreeMap<String, u32>,
    pub restore_points: Vec<CommitPoint>,
    pub changes: Vec<RelationChange>,
    pub dropped: Vec<DroppedFiles>,
    /// Where valid WAL ended inside the segment (a `.partial`, or the end of what was written).
    pub end_of_wal: Option<String>,
    /// The segment before was not in the archive, so a record begun there is not counted.
    pub previous_missing: bool,
}

/// Summarises `content` (segment `name`); `previous` is the segment before it, when known.
pub fn summarize(name: &str, content: &[u8], previous: Option<&[u8]>) -> Result<SegmentSummary> {
    let invalid = |e: tideline_wal::WalError| {
        Error::new(crate::error::ErrorCode::WalInvalid, format!("{name}: {e}"), "The file is not a WAL segment.")
    };
    let mut reader = Reader::new(true);
    let previous_missing = match previous {
        // Only to carry the record it leaves unfinished into this one.
        Some(prev) => reader.feed_segment(prev, &mut |_| {}).map(|_| false).unwrap_or(true),
        None => true,
    };
    let timeline = u32::from_str_radix(name.get(..8).unwrap_or("0"), 16).unwrap_or(0);
    let mut s = SegmentSummary {
        format_version: SUMMARY_FORMAT,
        segment: name.to_string(),
        timeline,
        major: 0,
        records: 0,
        commits: 0,
        aborts: 0,
        first_commit: None,
        last_commit: None,
        commits_per_minute: BTreeMap::new(),
        restore_points: Vec::new(),
        changes: Vec::new(),
        dropped: Vec::new(),
        end_of_wal: None,
        previous_missing,
    };
    let mut changes: BTreeMap<(u32, tideline_wal::decode::RelFileLocator), [u32; 3]> = BTreeMap::new();
    let end = reader
        .feed_segment(content, &mut |r| {
            s.records += 1;
            if let Some(c) = tideline_wal::heap::row_change(r) {
                let counts = changes.entry((c.xid, c.rel)).or_default();
                let i = match c.change {
                    Change::Insert => 0,
                    Change::Update => 1,
                    Change::Delete => 2,
                };
                counts[i] += c.rows;
            } else if let Some(x) = tideline_wal::xact::parse(r) {
                let time = rfc3339(x.time);
                match x.outcome {
                    Outcome::Commit => {
                        s.commits += 1;
                        *s.commits_per_minute.entry(format!("{}Z", &time[..16])).or_default() += 1;
                        let point = CommitPoint { xid: x.xid.to_string(), lsn: lsn_text(x.lsn), time: time.clone() };
                        s.first_commit.get_or_insert_with(|| point.clone());
                        if !x.dropped.is_empty() {
                            s.dropped.push(DroppedFiles {
                                xid: point.xid.clone(),
                                lsn: point.lsn.clone(),
                                time: time.clone(),
                                files: x
                                    .dropped
                                    .iter()
                                    .map(|d| format!("{}/{}/{}", d.tablespace, d.database, d.relfilenode))
                                    .collect(),
                            });
                        }
                        s.last_commit = Some(point);
                    }
                    Outcome::Abort => s.aborts += 1,
                    Outcome::Prepare => {}
                }
            } else if let Some(p) = tideline_wal::xlog::restore_point(r) {
                s.restore_points.push(CommitPoint { xid: p.name, lsn: lsn_text(p.lsn), time: rfc3339(p.time) });
            }
        })
        .map_err(invalid)?;
    s.major = reader.major().unwrap_or(0);
    if let SegmentEnd::EndOfWal { at } = end {
        s.end_of_wal = Some(lsn_text(at));
    }
    s.changes = changes
        .into_iter()
        .map(|((xid, rel), [inserted, updated, deleted])| RelationChange {
            xid: xid.to_string(),
            file: format!("{}/{}/{}", rel.tablespace, rel.database, rel.relfilenode),
            inserted,
            updated,
            deleted,
        })
        .collect();
    Ok(s)
}

impl WalArchive {
    pub fn summary_path(&self, segment: &str) -> std::path::PathBuf {
        self.dir().join(format!("{segment}.json"))
    }

    /// Writes `<segment>.json` for a stored segment (temp name, fsync, rename: a reader sees
    /// a whole summary or none). The segment before it is read back when the archive has it.
    pub fn write_summary(&self, segment: &str, content: &[u8], segment_bytes: u64) -> Result<SegmentSummary> {
        let previous = super::names::segment(segment, segment_bytes)
            .filter(|s| s.number > 0)
            .map(|s| super::names::SegmentName { timeline: s.timeline, number: s.number - 1 }.file_name(segment_bytes))
            .and_then(|prev| read_compressed(&self.path_of(&prev)).ok());
        let summary = summarize(segment, content, previous.as_deref())?;
        let json = serde_json::to_vec(&summary).map_err(|e| Error::internal(e.to_string()))?;
        let target = self.summary_path(segment);
        let tmp = self.dir().join(format!(".tmp-{segment}.json.{}", std::process::id()));
        let io = |e| Error::io(format!("writing {}", target.display()), e);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o640);
        let mut file = opts.open(&tmp).map_err(io)?;
        std::io::Write::write_all(&mut file, &json).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &target).map_err(io)?;
        crate::repo::sync_dir(self.dir())?;
        Ok(summary)
    }

    pub fn read_summary(&self, segment: &str) -> Option<SegmentSummary> {
        let bytes = std::fs::read(self.summary_path(segment)).ok()?;
        serde_json::from_slice(&bytes).ok().filter(|s: &SegmentSummary| s.format_version == SUMMARY_FORMAT)
    }
}
