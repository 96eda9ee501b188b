//! Named repositories, as JSON records (their shape grows with features, their index does not).
//! Secrets are never here: the access key's secret and the encryption identity are in the
//! keychain under the record's id.

use super::Catalog;
use crate::error::{Error, Result};
use crate::repo::store::s3::S3Location;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a repository keeps its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum RepositoryPlace {
    Dir { path: String },
    S3 { location: S3Location, access_key_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RepositoryRecord {
    pub id: String,
    pub name: String,
    pub place: RepositoryPlace,
    /// The `age` recipient (public key) files are encrypted to; None when not encrypted.
    pub recipient: Option<String>,
    /// Whether the store refuses a conditional create over an existing object, as `repo test`
    /// last found; None until tested (writes then read back, the safe way).
    pub honours_conditional_create: Option<bool>,
    pub created_at: String,
}

impl RepositoryRecord {
    /// `s3://bucket/prefix` or the directory.
    pub fn location(&self) -> String {
        match &self.place {
            RepositoryPlace::Dir { path } => path.clone(),
            RepositoryPlace::S3 { location, .. } => location.url(),
        }
    }
}

fn decode(json: String) -> Result<RepositoryRecord> {
    serde_json::from_str(&json).map_err(|e| Error::internal(format!("a repository record is unreadable: {e}")))
}

impl Catalog {
    pub fn save_repository(&self, record: &RepositoryRecord) -> Result<()> {
        let json = serde_json::to_string(record).map_err(|e| Error::internal(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO repositories (id, name, record) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, record = excluded.record",
            rusqlite::params![record.id, record.name, json],
        )?;
        Ok(())
    }

    pub fn repository_named(&self, name: &str) -> Result<Option<RepositoryRecord>> {
        let json: Option<String> =
            self.conn.query_row("SELECT record FROM repositories WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        json.map(decode).transpose()
    }

    pub fn repositories(&self) -> Result<Vec<RepositoryRecord>> {
        let mut stmt = self.conn.prepare("SELECT record FROM repositories ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| decode(r?)).collect()
    }

    pub fn remove_repository(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM repositories WHERE id = ?1", [id])?;
        Ok(())
    }
}
