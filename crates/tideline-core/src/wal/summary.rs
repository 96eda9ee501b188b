//! Per-segment summaries, written beside each archived segment as `<segment>.json` when it
//! lands (by wal-push and the stream supervisor, which have no catalog) and ingested into the
//! catalog later: commit times and counts per minute, restore points, sizeable row changes per
//! transaction and relation file, and the commits that end them or drop files (with the files
//! the same transaction created, which tells TRUNCATE and rewrites from DROP). The timeline
//! and the event list read these, never the WAL itself.
//!
//! A transaction may change rows in one segment and commit in a later one: each summary lists
//! what it leaves open, and the next segment's summary starts from that list.
//!
//! A segment's summary holds the records that *end* in it: a record cut by the segment's end is
//! completed from the next segment and counted there (the previous segment is read back from
//! the archive to find its beginning), so no record is lost between two files.

use super::archive::{read_compressed, WalArchive};
use super::inspect::rfc3339;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use tideline_wal::decode::RelFileLocator;
use tideline_wal::heap::Change;
use tideline_wal::xact::Outcome;
use tideline_wal::{lsn_text, Reader, SegmentEnd};
use ts_rs::TS;

/// 3: a new timeline's first segment counts from the timeline switch on. Format 2 differs only
/// there, so its summaries of timeline 1 (which has no switch) are still read as they are.
pub const SUMMARY_FORMAT: u32 = 3;

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

/// A relation file a transaction created (a new table, or the new file TRUNCATE, VACUUM FULL
/// or a rewriting ALTER gives one), and whether the transaction filled it with page images
/// (a rewrite copies the rows; TRUNCATE leaves the heap empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CreatedFile {
    pub xid: String,
    pub file: String,
    pub written: bool,
}

/// A commit worth remembering: one whose transaction changed at least the kept number of rows
/// somewhere, or dropped relation files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EndedTransaction {
    pub xid: String,
    pub subxacts: Vec<String>,
    pub lsn: String,
    pub time: String,
    /// Relation files removed at commit (`tablespace/database/relfilenode`).
    pub dropped: Vec<String>,
    pub created: Vec<CreatedFile>,
}

/// What a segment leaves open for the next one's summary: transactions with kept row changes
/// or created files that had not ended, so their commit is still recognised there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct OpenTransactions {
    pub changed: Vec<String>,
    pub created: Vec<CreatedFile>,
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
    /// Row changes per transaction and relation file, of committed or still open transactions,
    /// kept from [`KEPT_CHANGED_ROWS`] updated or deleted rows (or [`KEPT_INSERTED_ROWS`]
    /// inserted) up: the OLTP trickle would make summaries as large as the WAL's commit list.
    pub changes: Vec<RelationChange>,
    pub ended: Vec<EndedTransaction>,
    pub open: OpenTransactions,
    /// Where valid WAL ended inside the segment (a `.partial`, or the end of what was written).
    pub end_of_wal: Option<String>,
    /// The segment before was not in the archive, so a record begun there is not counted.
    pub previous_missing: bool,
    /// The archived `.zst` as it was when summarised: a file that still has this size and
    /// modification time need not be read again to know it is whole (check.rs).
    #[serde(default)]
    pub stored: Option<StoredFile>,
    /// The lowest and highest transaction id a commit or abort in the segment ended: a
    /// recovery target xid outside every segment's range never ended in the WAL (plan.rs).
    /// Absent from summaries written before it was kept.
    #[serde(default)]
    pub ended_xids: Option<[u32; 2]>,
    /// BLAKE3 of the summary as written without this field: a changed byte is found on reading
    /// (a flipped letter inside a string would otherwise still parse). Last, so the rest
    /// serialises the same without it.
    #[serde(default)]
    pub digest: Option<String>,
}

impl SegmentSummary {
    pub(crate) fn digest_of(&self) -> String {
        let body = SegmentSummary { digest: None, ..self.clone() };
        blake3::hash(&serde_json::to_vec(&body).unwrap_or_default()).to_hex().to_string()
    }

    /// Whether the summary is as written (summaries from before digests are taken as they are).
    pub fn intact(&self) -> bool {
        self.digest.as_ref().is_none_or(|d| *d == self.digest_of())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StoredFile {
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub modified_ns: i64,
}

impl StoredFile {
    pub fn of(path: &Path) -> Option<StoredFile> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(StoredFile { bytes: meta.len(), modified_ns: modified.as_nanos() as i64 })
    }
}

pub const KEPT_CHANGED_ROWS: u32 = 10;
pub const KEPT_INSERTED_ROWS: u32 = 1000;
/// Open transactions carried from segment to segment at most (the newest are kept): one that
/// never ends (its server crashed) must not grow every later summary.
const MAX_OPEN: usize = 10_000;

pub(crate) fn file_text(rel: &RelFileLocator) -> String {
    format!("{}/{}/{}", rel.tablespace, rel.database, rel.relfilenode)
}

fn kept(counts: &[u32; 3]) -> bool {
    counts[1] + counts[2] >= KEPT_CHANGED_ROWS || counts[0] >= KEPT_INSERTED_ROWS
}

/// Rows changed per (transaction, relation file): inserted, updated, deleted.
pub(crate) type ChangeCounts = BTreeMap<(u32, RelFileLocator), [u32; 3]>;

/// Adds a heap record's rows to the counts.
pub(crate) fn count_change(counts: &mut ChangeCounts, c: &tideline_wal::heap::RowChange) {
    let i = match c.change {
        Change::Insert => 0,
        Change::Update => 1,
        Change::Delete => 2,
    };
    counts.entry((c.xid, c.rel)).or_default()[i] += c.rows;
}

/// The counts worth keeping (from [`KEPT_CHANGED_ROWS`] / [`KEPT_INSERTED_ROWS`]).
pub(crate) fn kept_changes(counts: ChangeCounts) -> Vec<RelationChange> {
    counts
        .into_iter()
        .filter(|(_, c)| kept(c))
        .map(|((xid, rel), [inserted, updated, deleted])| RelationChange {
            xid: xid.to_string(),
            file: file_text(&rel),
            inserted,
            updated,
            deleted,
        })
        .collect()
}

/// Transactions seen so far in the segment (and carried from the one before).
#[derive(Default)]
struct Transactions {
    changes: ChangeCounts,
    carried_changed: HashSet<u32>,
    created: HashMap<u32, Vec<(RelFileLocator, bool)>>,
}

impl Transactions {
    fn carry(open: &OpenTransactions) -> Transactions {
        let mut t = Transactions {
            carried_changed: open.changed.iter().filter_map(|x| x.parse().ok()).collect(),
            ..Default::default()
        };
        for c in &open.created {
            let (Ok(xid), Some(rel)) = (c.xid.parse(), parse_file(&c.file)) else { continue };
            t.created.entry(xid).or_default().push((rel, c.written));
        }
        t
    }

    fn changed(&self, xid: u32) -> bool {
        self.carried_changed.contains(&xid)
            || self.changes.range((xid, RelFileLocator::MIN)..=(xid, RelFileLocator::MAX)).any(|(_, c)| kept(c))
    }

    /// Forgets a transaction that ended; returns whether it changed kept rows, and its files.
    fn end(&mut self, xids: &[u32], committed: bool) -> (bool, Vec<CreatedFile>) {
        let changed = xids.iter().any(|&x| self.changed(x));
        let mut created = Vec::new();
        for &x in xids {
            self.carried_changed.remove(&x);
            for (rel, written) in self.created.remove(&x).unwrap_or_default() {
                created.push(CreatedFile { xid: x.to_string(), file: file_text(&rel), written });
            }
            if !committed {
                self.changes.retain(|(xid, _), _| *xid != x);
            }
        }
        (changed, created)
    }

    fn open(&self) -> OpenTransactions {
        let mut changed: Vec<u32> = self.carried_changed.iter().copied().collect();
        changed.extend(self.changes.iter().filter(|(_, c)| kept(c)).map(|((x, _), _)| *x));
        changed.sort_unstable();
        changed.dedup();
        let skip = changed.len().saturating_sub(MAX_OPEN);
        let mut created: Vec<CreatedFile> = self
            .created
            .iter()
            .flat_map(|(x, files)| {
                files.iter().map(move |(rel, written)| CreatedFile {
                    xid: x.to_string(),
                    file: file_text(rel),
                    written: *written,
                })
            })
            .collect();
        created.sort_by(|a, b| a.xid.cmp(&b.xid).then(a.file.cmp(&b.file)));
        created.truncate(MAX_OPEN);
        OpenTransactions { changed: changed[skip..].iter().map(u32::to_string).collect(), created }
    }
}

/// `tablespace/database/relfilenode` back into a locator.
pub fn parse_file(text: &str) -> Option<RelFileLocator> {
    let mut parts = text.split('/').map(|p| p.parse::<u32>().ok());
    let (tablespace, database, relfilenode) = (parts.next()??, parts.next()??, parts.next()??);
    Some(RelFileLocator { tablespace, database, relfilenode })
}

/// Summarises `content` (segment `name`); `previous` is the segment before it, when known,
/// and `carried` what the previous segment's summary left open.
pub fn summarize(
    name: &str,
    content: &[u8],
    previous: Option<&[u8]>,
    carried: Option<&OpenTransactions>,
) -> Result<SegmentSummary> {
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
    let empty = |previous_missing| SegmentSummary::empty(name, timeline, previous_missing);
    let mut s = empty(previous_missing);
    let mut tx = carried.map(Transactions::carry).unwrap_or_default();
    let end = reader
        .feed_segment(content, &mut |r| {
            s.records += 1;
            // A new timeline's first segment begins with a copy of its parent's records up to
            // the fork, which the parent's own segment already summarises: counted twice, they
            // would double every commit and event near a fork. What counts starts at the switch.
            if tideline_wal::xlog::timeline_switch(r).is_some_and(|sw| sw.to == timeline) {
                s = SegmentSummary { records: 1, ..empty(false) };
                tx = Transactions::default();
                return;
            }
            if let Some(c) = tideline_wal::heap::row_change(r) {
                count_change(&mut tx.changes, &c);
            } else if let Some(x) = tideline_wal::xact::parse(r) {
                end_transaction(&mut s, &mut tx, &x);
            } else if let Some(p) = tideline_wal::xlog::restore_point(r) {
                s.restore_points.push(CommitPoint { xid: p.name, lsn: lsn_text(p.lsn), time: rfc3339(p.time) });
            } else if let Some(c) = tideline_wal::storage::created(r) {
                tx.created.entry(c.xid).or_default().push((c.rel, false));
            } else if let Some(files) = tideline_wal::storage::page_images(r) {
                if let Some(own) = tx.created.get_mut(&r.xid()) {
                    for (rel, written) in own.iter_mut() {
                        *written |= files.contains(rel);
                    }
                }
            }
        })
        .map_err(invalid)?;
    s.major = reader.major().unwrap_or(0);
    if let SegmentEnd::EndOfWal { at } = end {
        s.end_of_wal = Some(lsn_text(at));
    }
    s.open = tx.open();
    s.changes = kept_changes(tx.changes);
    Ok(s)
}

impl SegmentSummary {
    /// Nothing read yet from segment `name`.
    fn empty(name: &str, timeline: u32, previous_missing: bool) -> SegmentSummary {
        SegmentSummary {
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
            ended: Vec::new(),
            open: OpenTransactions::default(),
            end_of_wal: None,
            previous_missing,
            stored: None,
            ended_xids: Some([u32::MAX, 0]),
            digest: None,
        }
    }
}

/// A commit or abort record: counted, and a commit that changed rows or files listed with them.
fn end_transaction(s: &mut SegmentSummary, tx: &mut Transactions, x: &tideline_wal::xact::XactEnd) {
    if matches!(x.outcome, Outcome::Commit | Outcome::Abort) {
        if let Some([lo, hi]) = s.ended_xids.as_mut() {
            (*lo, *hi) = ((*lo).min(x.xid), (*hi).max(x.xid));
        }
    }
    let mut xids = vec![x.xid];
    xids.extend(&x.subxacts);
    match x.outcome {
        Outcome::Commit => {
            let time = rfc3339(x.time);
            s.commits += 1;
            *s.commits_per_minute.entry(format!("{}Z", &time[..16])).or_default() += 1;
            let point = CommitPoint { xid: x.xid.to_string(), lsn: lsn_text(x.lsn), time: time.clone() };
            s.first_commit.get_or_insert_with(|| point.clone());
            let (changed, created) = tx.end(&xids, true);
            if changed || !x.dropped.is_empty() {
                s.ended.push(EndedTransaction {
                    xid: point.xid.clone(),
                    subxacts: x.subxacts.iter().map(u32::to_string).collect(),
                    lsn: point.lsn.clone(),
                    time,
                    dropped: x.dropped.iter().map(file_text).collect(),
                    created,
                });
            }
            s.last_commit = Some(point);
        }
        Outcome::Abort => {
            s.aborts += 1;
            tx.end(&xids, false);
        }
        Outcome::Prepare => {}
    }
}

impl WalArchive {
    pub fn summary_path(&self, segment: &str) -> std::path::PathBuf {
        self.dir().join(format!("{segment}.json"))
    }

    /// Writes `<segment>.json` for a stored segment (temp name, fsync, rename: a reader sees
    /// a whole summary or none). The segment before it is read too, to finish the record that
    /// runs into this one: from `beside` (the directory this segment came from, pg_wal for
    /// archive_command) while it is still there, else back from the archive.
    pub fn write_summary(
        &self,
        segment: &str,
        content: &[u8],
        segment_bytes: u64,
        beside: Option<&Path>,
    ) -> Result<SegmentSummary> {
        let previous_name = super::file_names::segment(segment, segment_bytes).filter(|s| s.number > 0).map(|s| {
            super::file_names::SegmentName { timeline: s.timeline, number: s.number - 1 }.file_name(segment_bytes)
        });
        let previous = previous_name.as_deref().and_then(|prev| {
            // As PostgreSQL left it, a whole segment (a later pass of a recycled file has a later
            // name, and the reader checks every page's address): no decompressing it again,
            // which was most of what summarising added to wal-push.
            beside
                .and_then(|dir| std::fs::read(dir.join(prev)).ok())
                .filter(|bytes| bytes.len() as u64 == segment_bytes)
                .or_else(|| read_compressed(&self.path_of(prev)).ok())
        });
        let carried = previous_name.as_deref().and_then(|p| self.read_summary(p)).map(|s| s.open);
        let mut summary = summarize(segment, content, previous.as_deref(), carried.as_ref())?;
        summary.stored = StoredFile::of(&self.path_of(segment));
        summary.digest = Some(summary.digest_of());
        let json = serde_json::to_vec(&summary).map_err(|e| Error::internal(e.to_string()))?;
        let target = self.summary_path(segment);
        let io = |e| Error::io(format!("writing {}", target.display()), e);
        // A random name made with O_EXCL: nothing planted under a predictable name is followed,
        // and a failed write (a full disk) removes it on drop instead of leaving an empty file.
        let mut tmp = super::temp_files::create(self.dir(), &format!("{segment}.json"))?;
        std::io::Write::write_all(&mut tmp, &json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&target).map_err(|e| io(e.error))?;
        crate::repo::sync_dir(self.dir())?;
        Ok(summary)
    }

    /// The segment's summary when it is there, intact and of a format still read.
    pub fn read_summary(&self, segment: &str) -> Option<SegmentSummary> {
        self.summary_state(segment).ok().flatten().filter(|s: &SegmentSummary| {
            s.format_version == SUMMARY_FORMAT || (s.format_version == 2 && s.timeline == 1)
        })
    }

    /// `Ok(None)` without a summary, `Err` with why one is damaged (unparsable, or not what
    /// was written).
    pub fn summary_state(&self, segment: &str) -> std::result::Result<Option<SegmentSummary>, String> {
        let path = self.summary_path(segment);
        let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
        let summary: SegmentSummary =
            serde_json::from_slice(&bytes).map_err(|e| format!("{} does not parse: {e}", path.display()))?;
        if !summary.intact() {
            return Err(format!("{} is not what was written (its digest differs)", path.display()));
        }
        Ok(Some(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Summaries written before format 3 stay good on timeline 1 only: there, nothing differs.
    #[test]
    fn older_summaries_are_read_on_timeline_one_only() {
        let repo = tempfile::tempdir().unwrap();
        let archive = WalArchive::open(repo.path(), 7);
        std::fs::create_dir_all(archive.dir()).unwrap();
        for (segment, timeline, format, readable) in [
            ("000000010000000000000003", 1, 2, true),
            ("000000020000000000000003", 2, 2, false),
            ("000000020000000000000004", 2, SUMMARY_FORMAT, true),
            ("000000010000000000000005", 1, 1, false),
        ] {
            let s = SegmentSummary {
                format_version: format,
                segment: segment.into(),
                timeline,
                major: 17,
                records: 1,
                commits: 0,
                aborts: 0,
                first_commit: None,
                last_commit: None,
                commits_per_minute: BTreeMap::new(),
                restore_points: vec![],
                changes: vec![],
                ended: vec![],
                open: OpenTransactions::default(),
                end_of_wal: None,
                previous_missing: false,
                stored: None,
                ended_xids: None,
                digest: None,
            };
            std::fs::write(archive.summary_path(segment), serde_json::to_vec(&s).unwrap()).unwrap();
            assert_eq!(archive.read_summary(segment).is_some(), readable, "{segment} in format {format}");
        }
        // With a digest, a changed letter that still parses is found.
        let segment = "000000010000000000000006";
        let mut s = archive.read_summary("000000010000000000000003").unwrap();
        s.segment = segment.into();
        s.end_of_wal = Some("0/6000000".into());
        s.digest = Some(s.digest_of());
        let json = serde_json::to_string(&s).unwrap();
        std::fs::write(archive.summary_path(segment), &json).unwrap();
        assert!(archive.read_summary(segment).is_some());
        std::fs::write(archive.summary_path(segment), json.replace("0/6000000", "0/7000000")).unwrap();
        assert!(archive.read_summary(segment).is_none());
        assert!(archive.summary_state(segment).unwrap_err().contains("digest differs"));
    }
}
