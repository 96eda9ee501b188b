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

/// Where one backup has been copied, and whether the copy is whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BackupCopy {
    pub repository: String,
    pub complete: bool,
    pub at: String,
    /// Why the copy is not complete, in the store's words.
    pub detail: Option<String>,
}

/// How a profile is tied to a named repository.
#[derive(Clone, Copy)]
enum Link {
    /// Its backups and WAL are kept there (`profile edit --repo`).
    KeptIn,
    /// Each backup is copied there too (`--second-repo`).
    SecondCopy,
}

impl Link {
    fn table(self) -> &'static str {
        match self {
            Link::KeptIn => "profile_repositories",
            Link::SecondCopy => "profile_copies",
        }
    }
}

impl Catalog {
    /// Sets (or, with None, clears) the repository `profile_id` keeps its backups and WAL in.
    pub fn set_profile_repository(&self, profile_id: &str, repository_id: Option<&str>) -> Result<()> {
        self.set_link(Link::KeptIn, profile_id, repository_id)
    }

    pub fn profile_repository(&self, profile_id: &str) -> Result<Option<RepositoryRecord>> {
        self.linked(Link::KeptIn, profile_id)
    }

    pub fn set_second_repository(&self, profile_id: &str, repository_id: Option<&str>) -> Result<()> {
        self.set_link(Link::SecondCopy, profile_id, repository_id)
    }

    pub fn second_repository(&self, profile_id: &str) -> Result<Option<RepositoryRecord>> {
        self.linked(Link::SecondCopy, profile_id)
    }

    fn set_link(&self, link: Link, profile_id: &str, repository_id: Option<&str>) -> Result<()> {
        let table = link.table();
        match repository_id {
            Some(id) => self.conn.execute(
                &format!(
                    "INSERT INTO {table} (profile_id, repository_id) VALUES (?1, ?2)
                     ON CONFLICT(profile_id) DO UPDATE SET repository_id = excluded.repository_id"
                ),
                [profile_id, id],
            )?,
            None => self.conn.execute(&format!("DELETE FROM {table} WHERE profile_id = ?1"), [profile_id])?,
        };
        Ok(())
    }

    fn linked(&self, link: Link, profile_id: &str) -> Result<Option<RepositoryRecord>> {
        let sql = format!(
            "SELECT r.record FROM {} l JOIN repositories r ON r.id = l.repository_id WHERE l.profile_id = ?1",
            link.table()
        );
        let json: Option<String> = self.conn.query_row(&sql, [profile_id], |r| r.get(0)).optional()?;
        json.map(decode).transpose()
    }

    /// The profiles that keep their backups and WAL in repository `id`, by name.
    pub fn profiles_keeping_in(&self, id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT pr.name FROM profile_repositories p JOIN profiles pr ON pr.id = p.profile_id
             WHERE p.repository_id = ?1 ORDER BY pr.name",
        )?;
        let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn record_copy(
        &self,
        backup_id: &str,
        repository_id: &str,
        complete: bool,
        at: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO backup_copies (backup_id, repository_id, complete, at, detail) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(backup_id, repository_id) DO UPDATE SET complete = excluded.complete, at = excluded.at, detail = excluded.detail",
            rusqlite::params![backup_id, repository_id, complete, at, detail],
        )?;
        Ok(())
    }

    pub fn backup_copies(&self, backup_id: &str) -> Result<Vec<BackupCopy>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.name, c.complete, c.at, c.detail FROM backup_copies c JOIN repositories r ON r.id = c.repository_id
             WHERE c.backup_id = ?1 ORDER BY r.name",
        )?;
        let rows = stmt.query_map([backup_id], |r| {
            Ok(BackupCopy { repository: r.get(0)?, complete: r.get(1)?, at: r.get(2)?, detail: r.get(3)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Every backup's copies, by backup id: what the backups list shows beside each backup.
    pub fn all_backup_copies(&self) -> Result<std::collections::BTreeMap<String, Vec<BackupCopy>>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.backup_id, r.name, c.complete, c.at, c.detail FROM backup_copies c
             JOIN repositories r ON r.id = c.repository_id ORDER BY c.backup_id, r.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                BackupCopy { repository: r.get(1)?, complete: r.get(2)?, at: r.get(3)?, detail: r.get(4)? },
            ))
        })?;
        let mut by_backup = std::collections::BTreeMap::<String, Vec<BackupCopy>>::new();
        for row in rows {
            let (id, copy) = row?;
            by_backup.entry(id).or_default().push(copy);
        }
        Ok(by_backup)
    }

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
        self.conn.execute("DELETE FROM profile_copies WHERE repository_id = ?1", [id])?;
        self.conn.execute("DELETE FROM repositories WHERE id = ?1", [id])?;
        Ok(())
    }
}
