//! Backup rows: an index of the repository's manifests (rebuilt by `repo rescan`), plus what
//! verification found.

use super::Catalog;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::manifest::{BackupKind, BackupStatus, Manifest};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BackupRecord {
    pub id: String,
    pub kind: BackupKind,
    pub profile: String,
    pub database: String,
    pub path: String,
    pub status: BackupStatus,
    pub started_at: String,
    pub finished_at: String,
    #[ts(type = "number")]
    pub size_bytes: u64,
    pub format: String,
    pub verified_at: Option<String>,
    /// `passed` or `failed`, once verified.
    pub verify_status: Option<String>,
    pub verify_detail: Option<String>,
}

fn columns() -> String {
    format!(
        "id, kind, {}, database, path, status, started_at, finished_at, size_bytes, manifest,
         verified_at, verify_status, verify_detail",
        super::owner_name("backups")
    )
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<BackupRecord> {
    let manifest: String = row.get(9)?;
    let format = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()
        // A base backup's format (tar, plain) is its own; a dump's is pg_dump's.
        .and_then(|m| m["physical"]["format"].as_str().or(m["options"]["format"].as_str()).map(str::to_string))
        .unwrap_or_default();
    Ok(BackupRecord {
        id: row.get(0)?,
        kind: super::named_column(row, 1, BackupKind::from_name)?,
        profile: row.get(2)?,
        database: row.get(3)?,
        path: row.get(4)?,
        status: super::named_column(row, 5, BackupStatus::from_name)?,
        started_at: row.get(6)?,
        finished_at: row.get(7)?,
        size_bytes: row.get::<_, i64>(8)? as u64,
        format,
        verified_at: row.get(10)?,
        verify_status: row.get(11)?,
        verify_detail: row.get(12)?,
    })
}

pub(crate) fn missing(id: &str) -> Error {
    Error::new(
        ErrorCode::BackupMissing,
        format!("there is no backup '{id}'"),
        "`tideline backups list` shows the backups there are.",
    )
}

impl Catalog {
    pub fn delete_backup(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM backups WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Marks a backup as being deleted: no longer offered, and finished by the next start if
    /// the deletion is interrupted.
    pub fn mark_backup_deleting(&self, id: &str) -> Result<()> {
        self.conn
            .execute("UPDATE backups SET status = ?2 WHERE id = ?1", params![id, BackupStatus::Deleting.name()])?;
        Ok(())
    }

    pub fn backups_being_deleted(&self) -> Result<Vec<BackupRecord>> {
        self.backups_with_status(BackupStatus::Deleting)
    }

    pub fn backups_with_status(&self, status: BackupStatus) -> Result<Vec<BackupRecord>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {} FROM backups WHERE status = ?1", columns()))?;
        let rows = stmt.query_map([status.name()], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a backup about to be renamed into place as `committing` (never listed as
    /// complete); [`Catalog::set_backup_status`] completes it once it is there.
    pub fn record_committing(&self, m: &Manifest, final_path: &Path) -> Result<()> {
        let committing = Manifest { status: BackupStatus::Committing, ..m.clone() };
        self.record_backup(&committing, final_path)?;
        // The stored manifest is the one written to the repository.
        let json = serde_json::to_string(m).map_err(|e| Error::internal(e.to_string()))?;
        self.conn.execute("UPDATE backups SET manifest = ?2 WHERE id = ?1", params![m.id, json])?;
        Ok(())
    }

    pub fn set_backup_status(&self, id: &str, status: BackupStatus) -> Result<()> {
        self.conn.execute("UPDATE backups SET status = ?2 WHERE id = ?1", params![id, status.name()])?;
        Ok(())
    }

    /// Records a backup whose directory is complete (renamed into place).
    pub fn record_backup(&self, m: &Manifest, path: &Path) -> Result<BackupRecord> {
        let json = serde_json::to_string(m).map_err(|e| Error::internal(e.to_string()))?;
        self.conn.execute(
            &format!(
                "INSERT INTO backups (id, kind, profile, database, path, status, started_at, finished_at, size_bytes, manifest, profile_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, COALESCE(?11, {}))
                 ON CONFLICT(id) DO UPDATE SET path = excluded.path, manifest = excluded.manifest, status = excluded.status,
                     profile_id = COALESCE(backups.profile_id, excluded.profile_id)",
                super::profile_id_of(3)
            ),
            params![m.id, m.kind.name(), m.profile, m.database, path.display().to_string(), m.status.name(), m.started_at, m.finished_at, m.size_bytes as i64, json, m.profile_id],
        )?;
        self.backup(&m.id)
    }

    pub fn backups(&self, profile: Option<&str>) -> Result<Vec<BackupRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM backups WHERE ?1 IS NULL OR {} ORDER BY started_at DESC, id DESC",
            columns(),
            super::owned_by("backups", 1)
        ))?;
        let rows = stmt.query_map([profile], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn backup(&self, id: &str) -> Result<BackupRecord> {
        self.conn
            .query_row(&format!("SELECT {} FROM backups WHERE id = ?1", columns()), [id], from_row)
            .optional()?
            .ok_or_else(|| missing(id))
    }

    pub fn backup_manifest(&self, id: &str) -> Result<Manifest> {
        let json: String = self
            .conn
            .query_row("SELECT manifest FROM backups WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| missing(id))?;
        serde_json::from_str(&json).map_err(|e| Error::internal(format!("stored manifest of {id}: {e}")))
    }

    pub fn record_verification(&self, id: &str, at: &str, status: &str, detail: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE backups SET verified_at = ?2, verify_status = ?3, verify_detail = ?4 WHERE id = ?1",
            params![id, at, status, detail],
        )?;
        Ok(())
    }

    /// Drops rows whose directories are gone (repo rescan).
    pub fn forget_backups_except(&self, keep: &[String]) -> Result<usize> {
        let ids: Vec<String> = self.backups(None)?.into_iter().map(|b| b.id).filter(|id| !keep.contains(id)).collect();
        for id in &ids {
            self.conn.execute("DELETE FROM backups WHERE id = ?1", [id])?;
        }
        Ok(ids.len())
    }

    /// Backups whose profile is not here — another installation's, found by a rescan of a
    /// shared repository (its profile ids are its own), or a profile's since removed — go to
    /// the profile here that has the name the newest of them was made under. Moved by their
    /// old id, so a profile renamed there keeps every backup here, under either name.
    pub fn claim_unowned_backups(&self) -> Result<usize> {
        let pairs: Vec<(String, String)> = self
            .conn
            .prepare(
                "SELECT b.profile_id, p.id FROM backups b JOIN profiles p ON p.name = b.profile
                 WHERE b.profile_id NOT IN (SELECT id FROM profiles)
                   AND b.started_at = (SELECT max(started_at) FROM backups o WHERE o.profile_id = b.profile_id)",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut moved = 0;
        for (from, to) in pairs {
            moved +=
                self.conn.execute("UPDATE backups SET profile_id = ?2 WHERE profile_id = ?1", params![from, to])?;
        }
        Ok(moved)
    }
}
