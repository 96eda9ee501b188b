//! Tideline's own changes to live databases (a copy-back that replaces rows, a restore with
//! `--clean`): where the WAL stood before and after each, so the events they cause read "by
//! Tideline" and are never ranked among accidents. A change whose end was never recorded (its
//! run was killed) claims nothing.

use super::Catalog;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnChange {
    pub system_identifier: String,
    pub database: String,
    /// What Tideline did, as the event shows it: "copy-back of public.film_actor from sb-1a2b".
    pub what: String,
    /// The one transaction's id, when the change was a single transaction of Tideline's own
    /// session; None: every commit into `database` between the two LSNs.
    pub xid: Option<String>,
    pub start_lsn: String,
    pub end_lsn: Option<String>,
    pub started_at: String,
}

impl Catalog {
    /// Records a change as it begins; returns its id for `own_change_ended`.
    pub fn own_change_began(&self, change: &OwnChange) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO own_changes (system_identifier, database, what, xid, start_lsn, end_lsn, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                change.system_identifier,
                change.database,
                change.what,
                change.xid,
                change.start_lsn,
                change.end_lsn,
                change.started_at
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn own_change_ended(&self, id: i64, end_lsn: &str, xid: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE own_changes SET end_lsn = ?2, xid = COALESCE(?3, xid) WHERE id = ?1",
            rusqlite::params![id, end_lsn, xid],
        )?;
        Ok(())
    }

    /// The changes made to cluster `system_identifier`, oldest first.
    pub fn own_changes(&self, system_identifier: &str) -> Result<Vec<OwnChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT system_identifier, database, what, xid, start_lsn, end_lsn, started_at FROM own_changes
             WHERE system_identifier = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([system_identifier], |r| {
            Ok(OwnChange {
                system_identifier: r.get(0)?,
                database: r.get(1)?,
                what: r.get(2)?,
                xid: r.get(3)?,
                start_lsn: r.get(4)?,
                end_lsn: r.get(5)?,
                started_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
