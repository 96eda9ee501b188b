//! Snapshots of which relation file holds which table (`relfilenode` → `schema.table`), taken
//! whenever Tideline is connected, so WAL events can be named. Files are never forgotten: an
//! old file keeps the name it had, which is the name its events happened under.

use super::Catalog;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One relation file as a snapshot saw it. Toast files are named after the table they serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RelationFile {
    /// `tablespace/database/relfilenode`, as the WAL names it.
    pub file: String,
    /// The table's oid (the owning table's, for a toast file).
    #[ts(type = "number")]
    pub relation_oid: u32,
    pub database: String,
    pub schema: String,
    pub name: String,
    /// `table`, `toast` or `matview`.
    pub kind: String,
    /// The table's row count estimate when last seen.
    #[ts(type = "number")]
    pub rows_estimate: i64,
    pub first_seen: String,
    pub last_seen: String,
}

impl Catalog {
    /// Records one snapshot taken at `taken_at` (every file in it is marked seen then).
    pub fn record_relation_snapshot(
        &self,
        system_identifier: &str,
        taken_at: &str,
        files: &[RelationFile],
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for f in files {
            tx.execute(
                "INSERT INTO relation_files (system_identifier, file, relation_oid, database, schema, name, kind,
                   rows_estimate, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT (system_identifier, file, relation_oid) DO UPDATE SET
                   database = excluded.database, schema = excluded.schema, name = excluded.name,
                   kind = excluded.kind, rows_estimate = excluded.rows_estimate, last_seen = excluded.last_seen",
                rusqlite::params![
                    system_identifier,
                    f.file,
                    f.relation_oid,
                    f.database,
                    f.schema,
                    f.name,
                    f.kind,
                    f.rows_estimate,
                    taken_at
                ],
            )?;
        }
        tx.execute(
            "INSERT OR IGNORE INTO relation_snapshots (system_identifier, taken_at) VALUES (?1, ?2)",
            rusqlite::params![system_identifier, taken_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every file ever seen, the most recently seen mapping of a file first.
    pub fn relation_files(&self, system_identifier: &str) -> Result<Vec<RelationFile>> {
        let mut stmt = self.conn.prepare(
            "SELECT file, relation_oid, database, schema, name, kind, rows_estimate, first_seen, last_seen
             FROM relation_files WHERE system_identifier = ?1 ORDER BY file, last_seen DESC",
        )?;
        let rows = stmt.query_map([system_identifier], |r| {
            Ok(RelationFile {
                file: r.get(0)?,
                relation_oid: r.get(1)?,
                database: r.get(2)?,
                schema: r.get(3)?,
                name: r.get(4)?,
                kind: r.get(5)?,
                rows_estimate: r.get(6)?,
                first_seen: r.get(7)?,
                last_seen: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When snapshots were taken, oldest first.
    pub fn relation_snapshots(&self, system_identifier: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT taken_at FROM relation_snapshots WHERE system_identifier = ?1 ORDER BY taken_at")?;
        let rows = stmt.query_map([system_identifier], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
