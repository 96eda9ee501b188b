//! Snapshots of relation files → table names, taken from the profile's server (every database
//! it allows connections to): at each base backup, by `events` and by `wal index`, before each
//! change of Tideline's own, and when the app shows the timeline (at most every five minutes). Indexes and
//! toast tables are named after their table, so a DROP's many files read as one table. Each
//! file's live rows then are where the count of rows before an event starts (rows_before.rs).

use crate::catalog::relation_files::RelationFile;
use crate::engine::Engine;
use crate::error::Result;
use crate::pg::server::query_failed;

/// How old a cluster's newest snapshot may be before showing its timeline takes another: each
/// connects to every database, so not at every refresh.
pub const SNAPSHOT_EVERY_SECS: i64 = 300;

/// Every relation with storage outside the system schemas, with its table.
const RELATION_FILES: &str = "
WITH rels AS (
  SELECT c.oid, c.relkind, c.reltablespace, CASE c.relkind WHEN 'i' THEN i.indrelid ELSE c.oid END AS parent
  FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
  WHERE c.relkind IN ('r', 'm', 't', 'i') AND pg_relation_filenode(c.oid) IS NOT NULL
)
SELECT concat_ws('/', coalesce(nullif(r.reltablespace, 0), d.dattablespace), d.oid, pg_relation_filenode(r.oid)),
       o.oid::int8, n.nspname::text, o.relname::text,
       CASE r.relkind WHEN 'i' THEN 'index' WHEN 't' THEN 'toast' WHEN 'm' THEN 'matview' ELSE 'table' END,
       -- Live rows as the server counts them, which follow every commit; reltuples only
       -- follows VACUUM and ANALYZE, so a table emptied since still shows its old size there.
       CASE WHEN s.n_live_tup > 0 OR s.n_tup_ins > 0 OR s.n_tup_del > 0
                 OR s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL
            THEN s.n_live_tup ELSE greatest(o.reltuples::int8, 0) END
FROM rels r
JOIN pg_database d ON d.datname = current_database()
JOIN pg_class p ON p.oid = r.parent
LEFT JOIN pg_class toast_owner ON p.relkind = 't' AND toast_owner.reltoastrelid = p.oid
JOIN pg_class o ON o.oid = coalesce(toast_owner.oid, p.oid)
JOIN pg_namespace n ON n.oid = o.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = o.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'";

impl Engine {
    /// Takes a snapshot of the profile's cluster; returns how many files it named.
    pub async fn snapshot_relation_names(&self, profile_name: &str) -> Result<usize> {
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let client = crate::connect::connect(&profile.draft(), password.as_ref()).await?;
        let sysid = crate::pg::server::system_identifier(&client).await?;
        let databases: Vec<String> = client
            .query("SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1", &[])
            .await
            .map_err(query_failed("listing databases"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let taken_at =
            self.clock.now().with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut files = Vec::new();
        for database in databases {
            let mut draft = profile.draft();
            draft.database = database.clone();
            // A database the profile's role may not enter is left unnamed, not an error.
            let Ok(db) = crate::connect::connect(&draft, password.as_ref()).await else { continue };
            let rows = db.query(RELATION_FILES, &[]).await.map_err(query_failed("reading relation files"))?;
            for r in rows {
                files.push(RelationFile {
                    file: r.get(0),
                    relation_oid: r.get::<_, i64>(1) as u32,
                    database: database.clone(),
                    schema: r.get(2),
                    name: r.get(3),
                    kind: r.get(4),
                    rows_estimate: r.get(5),
                    first_seen: taken_at.clone(),
                    last_seen: taken_at.clone(),
                });
            }
        }
        self.catalog().record_relation_snapshot(&sysid, &taken_at, &files)?;
        Ok(files.len())
    }

    /// A snapshot when `sysid`'s newest is older than [`SNAPSHOT_EVERY_SECS`]: the app asks
    /// each time it shows the timeline, so tables created and dropped between base backups
    /// keep their names. Whether one was taken.
    pub async fn snapshot_relation_names_if_due(&self, profile_name: &str, sysid: &str) -> bool {
        let newest = self.catalog().relation_snapshots(sysid).ok().and_then(|mut s| s.pop());
        let age = newest
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| self.clock.now().signed_duration_since(t).num_seconds());
        if age.is_some_and(|a| a < SNAPSHOT_EVERY_SECS) {
            return false;
        }
        self.try_snapshot_relation_names(profile_name).await
    }

    /// A snapshot when the server answers; a warning, not a failure, when it does not.
    pub async fn try_snapshot_relation_names(&self, profile_name: &str) -> bool {
        match self.snapshot_relation_names(profile_name).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(profile = profile_name, code = ?e.code, error = %e.message, "naming relation files");
                false
            }
        }
    }
}
