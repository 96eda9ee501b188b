//! Sandboxes (as JSON records: their shape grows with features, their index does not) and the
//! recovery durations each one measured, kept after the sandbox is removed for RTO estimates.
//! The records are defined here, with the index that keeps them, as backups' are.

use super::Catalog;
use crate::error::{Error, Result};
use crate::pg::recovery_target::RecoveryTarget;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The point a recovery actually stopped at, as the server and the WAL report it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Reached {
    /// The commit time of the last transaction replayed (RFC 3339).
    pub time: Option<String>,
    /// Where replay stopped (`redo done at`).
    pub lsn: Option<String>,
    /// The last transaction replayed.
    pub xid: Option<String>,
    /// The server's own words on why it stopped (`recovery stopping before commit of …`).
    pub stop: Option<String>,
    /// The new timeline the sandbox promoted onto.
    pub timeline: Option<u32>,
}

/// How a sandbox came to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SandboxKind {
    /// Point-in-time recovery from a base backup and WAL.
    #[default]
    Recovery,
    /// A new cluster a logical backup was restored into (`restore --sandbox`).
    Restore,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SandboxRecord {
    pub id: String,
    #[serde(default)]
    pub kind: SandboxKind,
    pub profile: String,
    pub system_identifier: String,
    pub root: String,
    pub major: u32,
    pub port: u16,
    /// The database the profile names, and the role it connects as: the sandbox has the
    /// source's roles and passwords as of the target.
    pub database: String,
    pub user: String,
    /// The base backup recovered from, and its incremental chain (full backup first); for a
    /// restore, the logical backup restored.
    pub backup_id: String,
    pub backup_chain: Vec<String>,
    pub target: RecoveryTarget,
    /// What it holds in words, where the target alone would read as an LSN: "Before DELETE of
    /// 2,000 of 2,000 rows from public.film_actor (100%)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub label: Option<String>,
    pub timeline: u32,
    pub reached: Reached,
    pub created_at: String,
    #[ts(type = "number")]
    pub laydown_ms: u64,
    #[ts(type = "number")]
    pub replay_ms: u64,
    /// Data page checksums read after the lay-down; absent where the cluster has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub page_checksums: Option<crate::physical::page_checksums::PageCheck>,
    /// While it is being made: the Tideline process making it (`pid:start-time`). Recorded
    /// before its server starts, so a Tideline killed meanwhile leaves a sandbox that is listed
    /// (as `unfinished`) and removed, never a hidden server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub creating: Option<String>,
}

impl SandboxRecord {
    /// A sandbox this process is about to make, recorded at `created_at`: the caller says what
    /// it is (`..SandboxRecord::being_made(…)` after its own fields); nothing is reached or
    /// measured yet.
    pub fn being_made(kind: SandboxKind, created_at: String) -> SandboxRecord {
        SandboxRecord {
            id: String::new(),
            kind,
            profile: String::new(),
            system_identifier: String::new(),
            root: String::new(),
            major: 0,
            port: 0,
            database: String::new(),
            user: String::new(),
            backup_id: String::new(),
            backup_chain: Vec::new(),
            target: RecoveryTarget {
                point: crate::pg::recovery_target::TargetPoint::Immediate,
                exclusive: false,
                timeline: None,
            },
            label: None,
            timeline: 1,
            reached: Reached::default(),
            created_at,
            laydown_ms: 0,
            replay_ms: 0,
            page_checksums: None,
            creating: Some(crate::process::this_process()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SandboxStatus {
    Running,
    Stopped,
    /// Its directory is gone (removed by hand): only `remove` applies.
    Missing,
    /// Being made by a Tideline that is running.
    Creating,
    /// Its making was cut off (Tideline killed): only `remove` applies, and the next sandbox
    /// made removes it.
    Unfinished,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Sandbox {
    #[serde(flatten)]
    pub record: SandboxRecord,
    pub status: SandboxStatus,
    pub host: String,
    /// A libpq URL without the password (the profile's password works: same roles).
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecoveryMeasurement {
    pub profile: String,
    pub sandbox_id: String,
    pub backup_id: String,
    pub measured_at: String,
    #[ts(type = "number")]
    pub backup_bytes: u64,
    #[ts(type = "number")]
    pub laydown_ms: u64,
    #[ts(type = "number")]
    pub replayed_wal_bytes: u64,
    #[ts(type = "number")]
    pub replay_ms: u64,
}

/// The record, and the name of the profile it belongs to now (a rename follows).
fn owned_record(r: &rusqlite::Row) -> rusqlite::Result<(String, String)> {
    Ok((r.get(0)?, r.get(1)?))
}

fn decode((json, owner): (String, String)) -> Result<SandboxRecord> {
    let mut record: SandboxRecord = serde_json::from_str(&json)
        .map_err(|e| Error::internal(format!("a sandbox record in the catalog is damaged: {e}")))?;
    record.profile = owner;
    Ok(record)
}

impl Catalog {
    pub fn save_sandbox(&self, s: &SandboxRecord) -> Result<()> {
        let json = serde_json::to_string(s).map_err(|e| Error::internal(e.to_string()))?;
        self.conn.execute(
            &format!(
                "INSERT OR REPLACE INTO sandboxes (id, profile, root, created_at, record, profile_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, {})",
                super::profile_id_of(2)
            ),
            rusqlite::params![s.id, s.profile, s.root, s.created_at, json],
        )?;
        Ok(())
    }

    pub fn sandboxes(&self) -> Result<Vec<SandboxRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT record, {} FROM sandboxes ORDER BY created_at",
            super::owner_name("sandboxes")
        ))?;
        let rows = stmt.query_map([], owned_record)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(decode).collect()
    }

    pub fn sandbox(&self, id: &str) -> Result<Option<SandboxRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT record, {} FROM sandboxes WHERE id = ?1", super::owner_name("sandboxes")))?;
        let mut rows = stmt.query_map([id], owned_record)?;
        rows.next().transpose()?.map(decode).transpose()
    }

    pub fn delete_sandbox(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM sandboxes WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn record_measurement(&self, m: &RecoveryMeasurement) -> Result<()> {
        self.conn.execute(
            &format!(
                "INSERT INTO recovery_measurements
                    (profile, sandbox_id, backup_id, measured_at, backup_bytes, laydown_ms, replayed_wal_bytes, replay_ms, profile_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {})",
                super::profile_id_of(1)
            ),
            rusqlite::params![
                m.profile,
                m.sandbox_id,
                m.backup_id,
                m.measured_at,
                m.backup_bytes as i64,
                m.laydown_ms as i64,
                m.replayed_wal_bytes as i64,
                m.replay_ms as i64
            ],
        )?;
        Ok(())
    }

    /// The profile's measurements, newest first.
    pub fn measurements(&self, profile: &str) -> Result<Vec<RecoveryMeasurement>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {}, sandbox_id, backup_id, measured_at, backup_bytes, laydown_ms, replayed_wal_bytes, replay_ms
             FROM recovery_measurements WHERE {} ORDER BY measured_at DESC",
            super::owner_name("recovery_measurements"),
            super::owned_by("recovery_measurements", 1)
        ))?;
        let rows = stmt.query_map([profile], |r| {
            Ok(RecoveryMeasurement {
                profile: r.get(0)?,
                sandbox_id: r.get(1)?,
                backup_id: r.get(2)?,
                measured_at: r.get(3)?,
                backup_bytes: r.get::<_, i64>(4)? as u64,
                laydown_ms: r.get::<_, i64>(5)? as u64,
                replayed_wal_bytes: r.get::<_, i64>(6)? as u64,
                replay_ms: r.get::<_, i64>(7)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(sandbox: &str, at: &str) -> RecoveryMeasurement {
        RecoveryMeasurement {
            profile: "p".into(),
            sandbox_id: sandbox.into(),
            backup_id: "b".into(),
            measured_at: at.into(),
            backup_bytes: 1 << 30,
            laydown_ms: 4_000,
            replayed_wal_bytes: 64 << 20,
            replay_ms: 900,
        }
    }

    #[test]
    fn measurements_outlive_their_sandbox_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        c.record_measurement(&measurement("sb-1", "2026-11-24T10:00:00+00:00")).unwrap();
        c.record_measurement(&measurement("sb-2", "2026-11-24T11:00:00+00:00")).unwrap();
        let got = c.measurements("p").unwrap();
        assert_eq!(got.iter().map(|m| m.sandbox_id.as_str()).collect::<Vec<_>>(), ["sb-2", "sb-1"]);
        assert_eq!(got[0], measurement("sb-2", "2026-11-24T11:00:00+00:00"));
        assert!(c.measurements("other").unwrap().is_empty());
    }
}
