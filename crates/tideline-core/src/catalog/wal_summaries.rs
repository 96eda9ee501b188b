//! The catalog's copy of the repository's per-segment WAL summaries, so the timeline asks an
//! index, not the WAL.

use super::Catalog;
use crate::error::{Error, Result};
use crate::wal::summary::{EndedTransaction, SegmentSummary};
use std::collections::{BTreeMap, HashSet};

impl Catalog {
    pub fn summarised_segments(&self, system_identifier: &str) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT segment FROM wal_summaries WHERE system_identifier = ?1")?;
        let rows = stmt.query_map([system_identifier], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records summaries in one transaction.
    pub fn record_wal_summaries(&self, system_identifier: &str, summaries: &[SegmentSummary]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for s in summaries {
            self.record_wal_summary(system_identifier, s)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a summary once (its commits, row changes and ended transactions are added only
    /// the first time the segment is seen).
    pub fn record_wal_summary(&self, system_identifier: &str, s: &SegmentSummary) -> Result<()> {
        let json = serde_json::to_string(s).map_err(|e| Error::internal(e.to_string()))?;
        if !self.has_wal_summary(system_identifier, &s.segment)? {
            for (minute, n) in &s.commits_per_minute {
                self.conn.execute(
                    "INSERT INTO wal_commit_minutes (system_identifier, minute, commits) VALUES (?1, ?2, ?3)
                     ON CONFLICT (system_identifier, minute) DO UPDATE SET commits = commits + excluded.commits",
                    rusqlite::params![system_identifier, minute, n],
                )?;
            }
            for c in &s.changes {
                self.conn.execute(
                    "INSERT INTO wal_changes (system_identifier, timeline, xid, file, inserted, updated, deleted)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (system_identifier, timeline, xid, file) DO UPDATE SET
                       inserted = inserted + excluded.inserted, updated = updated + excluded.updated,
                       deleted = deleted + excluded.deleted",
                    rusqlite::params![
                        system_identifier,
                        s.timeline,
                        c.xid.parse::<u32>().unwrap_or(0),
                        c.file,
                        c.inserted,
                        c.updated,
                        c.deleted
                    ],
                )?;
            }
            for t in &s.ended {
                let detail = serde_json::to_string(t).map_err(|e| Error::internal(e.to_string()))?;
                self.conn.execute(
                    "INSERT OR REPLACE INTO wal_transactions (system_identifier, timeline, xid, lsn, time, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        system_identifier,
                        s.timeline,
                        t.xid.parse::<u32>().unwrap_or(0),
                        t.lsn,
                        t.time,
                        detail
                    ],
                )?;
            }
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO wal_summaries (system_identifier, segment, timeline, first_commit_time, last_commit_time, commits, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                system_identifier,
                s.segment,
                s.timeline,
                s.first_commit.as_ref().map(|c| &c.time),
                s.last_commit.as_ref().map(|c| &c.time),
                s.commits,
                json
            ],
        )?;
        Ok(())
    }

    /// The newest commit time at or before segment `upto` on `timeline`, from the summaries.
    pub fn last_commit_time(&self, system_identifier: &str, timeline: u32, upto: &str) -> Result<Option<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT last_commit_time FROM wal_summaries
             WHERE system_identifier = ?1 AND timeline = ?2 AND segment <= ?3 AND last_commit_time IS NOT NULL
             ORDER BY segment DESC LIMIT 1",
        )?;
        let mut rows =
            stmt.query_map(rusqlite::params![system_identifier, timeline, upto], |r| r.get::<_, String>(0))?;
        Ok(rows.next().transpose()?)
    }

    /// Commits per minute (`2026-11-24T14:29Z`), oldest first.
    pub fn commit_minutes(&self, system_identifier: &str) -> Result<Vec<(String, u32)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT minute, commits FROM wal_commit_minutes WHERE system_identifier = ?1 ORDER BY minute")?;
        let rows = stmt.query_map([system_identifier], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every remembered commit (big row changes or dropped files), oldest first, with its
    /// timeline.
    pub fn ended_transactions(&self, system_identifier: &str) -> Result<Vec<(u32, EndedTransaction)>> {
        let mut stmt = self.conn.prepare(
            "SELECT timeline, detail FROM wal_transactions WHERE system_identifier = ?1 ORDER BY time, timeline",
        )?;
        let rows = stmt.query_map([system_identifier], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (tli, detail) = row?;
            if let Ok(t) = serde_json::from_str(&detail) {
                out.push((tli, t));
            }
        }
        Ok(out)
    }

    /// Rows changed per relation file by these transactions (a top-level xid and its
    /// subtransactions) on `timeline`: file → [inserted, updated, deleted].
    pub fn transaction_changes(
        &self,
        system_identifier: &str,
        timeline: u32,
        xids: &[u32],
    ) -> Result<BTreeMap<String, [u64; 3]>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT file, inserted, updated, deleted FROM wal_changes
             WHERE system_identifier = ?1 AND timeline = ?2 AND xid = ?3",
        )?;
        let mut out: BTreeMap<String, [u64; 3]> = BTreeMap::new();
        for xid in xids {
            let rows = stmt.query_map(rusqlite::params![system_identifier, timeline, xid], |r| {
                Ok((r.get::<_, String>(0)?, [r.get::<_, u64>(1)?, r.get::<_, u64>(2)?, r.get::<_, u64>(3)?]))
            })?;
            for row in rows {
                let (file, c) = row?;
                let e = out.entry(file).or_default();
                for (total, n) in e.iter_mut().zip(c) {
                    *total += n;
                }
            }
        }
        Ok(out)
    }

    /// Whether segment `segment` has a summary (the timeline falls back to reading WAL if not).
    pub fn has_wal_summary(&self, system_identifier: &str, segment: &str) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM wal_summaries WHERE system_identifier = ?1 AND segment = ?2",
            rusqlite::params![system_identifier, segment],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// The summaries of segments named from `first` to `last` (names of one timeline sort by
    /// number), oldest first; summaries that no longer parse are left out.
    pub fn wal_summaries_between(
        &self,
        system_identifier: &str,
        first: &str,
        last: &str,
    ) -> Result<Vec<SegmentSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT summary FROM wal_summaries WHERE system_identifier = ?1 AND segment BETWEEN ?2 AND ?3
             ORDER BY segment",
        )?;
        let rows = stmt.query_map(rusqlite::params![system_identifier, first, last], |r| r.get::<_, String>(0))?;
        let texts: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(texts.iter().filter_map(|t| serde_json::from_str(t).ok()).collect())
    }
}
