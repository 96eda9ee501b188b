//! Profile rows. No password column exists: passwords live in the keychain only.

use super::Catalog;
use crate::error::{Error, ErrorCode, Result};
use crate::profile::{Profile, ProfileDraft, SslMode};
use rusqlite::{params, OptionalExtension, Row};

const COLUMNS: &str = "id, name, host, port, database, user, sslmode, sslrootcert, sslcert, sslkey,
    application_name, connect_timeout_secs, has_password, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Profile> {
    let sslmode: String = row.get(6)?;
    Ok(Profile {
        id: row.get(0)?,
        name: row.get(1)?,
        host: row.get(2)?,
        port: row.get(3)?,
        database: row.get(4)?,
        user: row.get(5)?,
        sslmode: SslMode::parse(&sslmode).unwrap_or_default(),
        sslrootcert: row.get(7)?,
        sslcert: row.get(8)?,
        sslkey: row.get(9)?,
        application_name: row.get(10)?,
        connect_timeout_secs: row.get(11)?,
        has_password: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
    })
}

pub(crate) fn missing(name: &str) -> Error {
    Error::new(
        ErrorCode::ProfileMissing,
        format!("there is no profile named '{name}'"),
        "`tideline profile list` shows the profiles there are.",
    )
}

fn exists(name: &str) -> Error {
    Error::new(
        ErrorCode::ProfileExists,
        format!("a profile named '{name}' already exists"),
        "Choose another name, or edit the existing profile.",
    )
}

impl Catalog {
    pub fn profiles(&self) -> Result<Vec<Profile>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {COLUMNS} FROM profiles ORDER BY name"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn profile(&self, name: &str) -> Result<Profile> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM profiles WHERE name = ?1"), [name], from_row)
            .optional()?
            .ok_or_else(|| missing(name))
    }

    pub fn insert_profile(&self, id: &str, draft: &ProfileDraft, has_password: bool, now: &str) -> Result<Profile> {
        if self.profile(&draft.name).is_ok() {
            return Err(exists(&draft.name));
        }
        let sql =
            format!("INSERT INTO profiles ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?14)");
        self.write_profile(&sql, id, draft, has_password, now)?;
        self.profile(&draft.name)
    }

    pub fn update_profile(&self, id: &str, draft: &ProfileDraft, has_password: bool, now: &str) -> Result<Profile> {
        if let Ok(other) = self.profile(&draft.name) {
            if other.id != id {
                return Err(exists(&draft.name));
            }
        }
        self.write_profile(
            "UPDATE profiles SET name=?2, host=?3, port=?4, database=?5, user=?6, sslmode=?7, sslrootcert=?8,
             sslcert=?9, sslkey=?10, application_name=?11, connect_timeout_secs=?12, has_password=?13,
             updated_at=?14 WHERE id=?1",
            id,
            draft,
            has_password,
            now,
        )?;
        self.profile(&draft.name)
    }

    /// Runs an INSERT or UPDATE whose parameters are ?1 id, ?2…?12 the draft, ?13 has_password, ?14 now.
    fn write_profile(&self, sql: &str, id: &str, draft: &ProfileDraft, has_password: bool, now: &str) -> Result<()> {
        self.conn.execute(
            sql,
            params![
                id,
                draft.name,
                draft.host,
                draft.port,
                draft.database,
                draft.user,
                draft.sslmode.as_str(),
                draft.sslrootcert,
                draft.sslcert,
                draft.sslkey,
                draft.application_name,
                draft.connect_timeout_secs,
                has_password,
                now
            ],
        )?;
        Ok(())
    }

    pub fn delete_profile(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM profiles WHERE id = ?1", [id])?;
        Ok(())
    }
}
