//! The SQLite catalog: an index of what Tideline knows, in the one data directory.
//! Migrations are numbered and applied in order; `PRAGMA user_version` records the last one.

pub mod backups;
pub mod hooks;
pub mod own_changes;
mod profiles;
pub mod relation_files;
pub mod repositories;
pub mod restore_points;
pub mod sandboxes;
pub mod schedules;
mod settings;
pub mod wal_checks;
pub mod wal_summaries;

use crate::error::{Error, ErrorCode, Result};
use rusqlite::Connection;
use std::path::Path;

pub struct Catalog {
    pub(crate) conn: Connection,
}

/// Append only: a shipped migration is never edited.
const MIGRATIONS: &[&str] = &[
    // 1: profiles and settings
    "CREATE TABLE profiles (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        database TEXT NOT NULL,
        user TEXT NOT NULL,
        sslmode TEXT NOT NULL,
        sslrootcert TEXT,
        sslcert TEXT,
        sslkey TEXT,
        application_name TEXT,
        connect_timeout_secs INTEGER NOT NULL,
        has_password INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2: backups, indexed from the repository's manifests
    "CREATE TABLE backups (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        profile TEXT NOT NULL,
        database TEXT NOT NULL,
        path TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        manifest TEXT NOT NULL,
        verified_at TEXT,
        verify_status TEXT,
        verify_detail TEXT
    );
    CREATE INDEX backups_by_profile ON backups (profile, started_at);",
    // 3: named restore points (`tideline mark`)
    "CREATE TABLE restore_points (
        system_identifier TEXT NOT NULL,
        name TEXT NOT NULL,
        profile TEXT NOT NULL,
        lsn TEXT NOT NULL,
        timeline INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (system_identifier, lsn)
    );",
    // 4: sandboxes (PITR results) and the recovery durations they measured (for RTO)
    "CREATE TABLE sandboxes (
        id TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        root TEXT NOT NULL,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE recovery_measurements (
        profile TEXT NOT NULL,
        sandbox_id TEXT NOT NULL,
        backup_id TEXT NOT NULL,
        measured_at TEXT NOT NULL,
        backup_bytes INTEGER NOT NULL,
        laydown_ms INTEGER NOT NULL,
        replayed_wal_bytes INTEGER NOT NULL,
        replay_ms INTEGER NOT NULL
    );
    CREATE INDEX recovery_measurements_by_profile ON recovery_measurements (profile, measured_at);",
    // 5: per-segment WAL summaries, ingested from the repository's `<segment>.json` sidecars
    "CREATE TABLE wal_summaries (
        system_identifier TEXT NOT NULL,
        segment TEXT NOT NULL,
        timeline INTEGER NOT NULL,
        first_commit_time TEXT,
        last_commit_time TEXT,
        commits INTEGER NOT NULL,
        summary TEXT NOT NULL,
        PRIMARY KEY (system_identifier, segment)
    );",
    // 6: commits per minute across a cluster's summaries (the timeline's density lane)
    "CREATE TABLE wal_commit_minutes (
        system_identifier TEXT NOT NULL,
        minute TEXT NOT NULL,
        commits INTEGER NOT NULL,
        PRIMARY KEY (system_identifier, minute)
    );",
    // 7: summaries format 2 (ended and open transactions): the old ones are ingested again
    // once `wal index` rewrites them; the row changes and commits events are built from; the
    // relfilenode → name snapshots taken whenever a connection allows
    "DELETE FROM wal_summaries;
    DELETE FROM wal_commit_minutes;
    CREATE TABLE wal_changes (
        system_identifier TEXT NOT NULL,
        timeline INTEGER NOT NULL,
        xid INTEGER NOT NULL,
        file TEXT NOT NULL,
        inserted INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        PRIMARY KEY (system_identifier, timeline, xid, file)
    );
    CREATE TABLE wal_transactions (
        system_identifier TEXT NOT NULL,
        timeline INTEGER NOT NULL,
        xid INTEGER NOT NULL,
        lsn TEXT NOT NULL,
        time TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (system_identifier, timeline, xid)
    );
    CREATE INDEX wal_transactions_by_time ON wal_transactions (system_identifier, time);
    CREATE TABLE relation_snapshots (
        system_identifier TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (system_identifier, taken_at)
    );
    CREATE TABLE relation_files (
        system_identifier TEXT NOT NULL,
        file TEXT NOT NULL,
        relation_oid INTEGER NOT NULL,
        database TEXT NOT NULL,
        schema TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        rows_estimate INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (system_identifier, file, relation_oid)
    );",
    // 8: schedules, and their runs: one row per occurrence and kind (scheduled, catch_up,
    // missed); the unique key is the lock that keeps two runners from starting the same run
    "CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        spec TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        considered_until TEXT NOT NULL
    );
    CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule_id TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        runner TEXT NOT NULL,
        pid INTEGER,
        started_at TEXT,
        heartbeat_at TEXT,
        finished_at TEXT,
        backup_id TEXT,
        error TEXT,
        UNIQUE (schedule_id, occurrence, kind)
    );
    CREATE INDEX schedule_runs_by_status ON schedule_runs (status);",
    // 9: webhooks (their URLs are in the keychain)
    "CREATE TABLE hooks (
        id TEXT PRIMARY KEY,
        hook TEXT NOT NULL
    );",
    // 10: summaries format 3 (a fork's first segment counted from the switch): everything is
    // ingested again from the sidecars, timelines after the first once `wal index` re-makes them
    "DELETE FROM wal_summaries;
    DELETE FROM wal_commit_minutes;
    DELETE FROM wal_changes;
    DELETE FROM wal_transactions;",
    // 11: what belongs to a profile is keyed by its id, which a rename keeps (the name columns
    // stay as they were written: the name to show when the profile is gone)
    "ALTER TABLE backups ADD COLUMN profile_id TEXT;
    ALTER TABLE restore_points ADD COLUMN profile_id TEXT;
    ALTER TABLE sandboxes ADD COLUMN profile_id TEXT;
    ALTER TABLE recovery_measurements ADD COLUMN profile_id TEXT;
    ALTER TABLE schedules ADD COLUMN profile_id TEXT;
    UPDATE backups SET profile_id = (SELECT id FROM profiles WHERE profiles.name = backups.profile);
    UPDATE restore_points SET profile_id = (SELECT id FROM profiles WHERE profiles.name = restore_points.profile);
    UPDATE sandboxes SET profile_id = (SELECT id FROM profiles WHERE profiles.name = sandboxes.profile);
    UPDATE recovery_measurements
        SET profile_id = (SELECT id FROM profiles WHERE profiles.name = recovery_measurements.profile);
    UPDATE schedules SET profile_id = (SELECT id FROM profiles WHERE profiles.name = schedules.profile);
    CREATE INDEX backups_by_profile_id ON backups (profile_id, started_at);",
    // 12: what reading each archived WAL file found, and the size and time it had then
    "CREATE TABLE wal_checks (
        system_identifier TEXT NOT NULL,
        name TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        modified_ns INTEGER NOT NULL,
        damage TEXT,
        checked_at TEXT NOT NULL,
        PRIMARY KEY (system_identifier, name)
    );",
    // 13: Tideline's own changes to live databases, so the WAL events they cause are known
    "CREATE TABLE own_changes (
        id INTEGER PRIMARY KEY,
        system_identifier TEXT NOT NULL,
        database TEXT NOT NULL,
        what TEXT NOT NULL,
        xid TEXT,
        start_lsn TEXT NOT NULL,
        end_lsn TEXT,
        started_at TEXT NOT NULL
    );
    CREATE INDEX own_changes_by_cluster ON own_changes (system_identifier);",
    // 14: named repositories (a directory or a bucket), as JSON records keyed by id
    "CREATE TABLE repositories (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
    );",
    // 15: a profile's second repository, and where each backup has been copied
    "CREATE TABLE profile_copies (
        profile_id TEXT PRIMARY KEY,
        repository_id TEXT NOT NULL
    );
    CREATE TABLE backup_copies (
        backup_id TEXT NOT NULL,
        repository_id TEXT NOT NULL,
        complete INTEGER NOT NULL,
        at TEXT NOT NULL,
        detail TEXT,
        PRIMARY KEY (backup_id, repository_id)
    );",
    // 16: the repository a profile keeps its backups and WAL in, when not this computer's
    "CREATE TABLE profile_repositories (
        profile_id TEXT PRIMARY KEY,
        repository_id TEXT NOT NULL
    );",
];

/// SQL for the id of the profile named by parameter `?N` (NULL when there is none).
pub(crate) fn profile_id_of(param: usize) -> String {
    format!("(SELECT id FROM profiles WHERE name = ?{param})")
}

/// SQL for the profile a row of `table` belongs to, by its name now (a renamed profile's new
/// name), or the name the row was written with when that profile is gone.
pub(crate) fn owner_name(table: &str) -> String {
    format!("COALESCE((SELECT name FROM profiles WHERE profiles.id = {table}.profile_id), {table}.profile)")
}

/// SQL that is true for rows of `table` belonging to the profile named by `?N`: by id, or by
/// name for rows written before that profile existed.
pub(crate) fn owned_by(table: &str, param: usize) -> String {
    format!(
        "({table}.profile_id = {id} OR ({table}.profile_id IS NULL AND {table}.profile = ?{param}))",
        id = profile_id_of(param)
    )
}

impl Catalog {
    pub fn open(home: &Path) -> Result<Self> {
        crate::home::ensure_private_dir(home)?;
        let conn = Connection::open(home.join("catalog.sqlite3"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut catalog = Catalog { conn };
        catalog.migrate()?;
        Ok(catalog)
    }

    fn migrate(&mut self) -> Result<()> {
        let current: usize = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > MIGRATIONS.len() {
            return Err(Error::new(
                ErrorCode::Catalog,
                format!("the catalog is at version {current}, newer than this Tideline knows ({})", MIGRATIONS.len()),
                "Upgrade Tideline, or point TIDELINE_HOME at another directory.",
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "catalog migrated");
        }
        Ok(())
    }

    pub fn schema_version(&self) -> Result<usize> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

/// A column holding one of an enum's names; another value is a damaged catalog.
pub(crate) fn named_column<T>(
    row: &rusqlite::Row<'_>,
    column: usize,
    from_name: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    from_name(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unknown value '{text}'").into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog of version 10 keyed its rows by profile name: the migration carries them to the
    /// profile's id, so they follow a rename afterwards.
    #[test]
    fn rows_written_by_name_follow_a_renamed_profile() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("catalog.sqlite3")).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..10] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 10).unwrap();
        tx.execute_batch(
            "INSERT INTO profiles VALUES ('id-1', 'old', 'h', 5432, 'd', 'u', 'prefer', NULL, NULL, NULL, NULL, 10, 0, 't', 't');
             INSERT INTO backups (id, kind, profile, database, path, status, started_at, finished_at, size_bytes, manifest)
                 VALUES ('b1', 'logical', 'old', 'd', '/x', 'complete', 't1', 't2', 1, '{}'),
                        ('b2', 'logical', 'gone', 'd', '/y', 'complete', 't1', 't2', 1, '{}');
             INSERT INTO recovery_measurements VALUES ('old', 'sb-1', 'b1', 't', 1, 1, 1, 1);",
        )
        .unwrap();
        tx.commit().unwrap();
        drop(conn);
        let c = Catalog::open(dir.path()).unwrap();
        c.conn.execute("UPDATE profiles SET name = 'new' WHERE id = 'id-1'", []).unwrap();
        let mine: Vec<_> = c.backups(Some("new")).unwrap().into_iter().map(|b| (b.id, b.profile)).collect();
        assert_eq!(mine, [("b1".to_string(), "new".to_string())]);
        assert!(c.backups(Some("old")).unwrap().is_empty());
        // A profile that no longer exists keeps the name its rows were written with.
        assert_eq!(c.backups(Some("gone")).unwrap()[0].profile, "gone");
        assert_eq!(c.measurements("new").unwrap()[0].profile, "new");
    }

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        assert_eq!(c.schema_version().unwrap(), MIGRATIONS.len());
        drop(c);
        let c = Catalog::open(dir.path()).unwrap();
        assert_eq!(c.schema_version().unwrap(), MIGRATIONS.len());
    }
}
