//! `tideline backup`: pg_dump into the repository, with exact row counts taken in the same
//! snapshot the dump reads (exported by our own REPEATABLE READ transaction, passed to pg_dump
//! with --snapshot, and kept open until pg_dump has finished).

use super::dump_args::{dump_args, DumpSource};
use crate::catalog::backups::BackupRecord;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::pg::server::query_failed;
use crate::pg::table_names::{self, Relation};
use crate::pg::tool_run::{run_watched, TableSizes};
use crate::repo::checksum;
use crate::repo::early_hash::EarlyHashes;
use crate::repo::finished::FinishedRun;
use crate::repo::ids::new_backup_id;
use crate::repo::manifest::{RowCountStatus, RowCounts, TableCount};
use crate::repo::options::{DumpFormat, DumpOptions};
use std::time::Instant;
use tokio_postgres::Client;

/// Above this, counting every row costs too much; the manifest says counts were skipped.
pub const ROW_COUNT_LIMIT_BYTES: i64 = 10 * 1024 * 1024 * 1024;

const LEAF_TABLES_SQL: &str = "SELECT n.nspname::text, c.relname::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2";

/// The tables whose rows pg_dump will write, as exact (schema, table) pairs.
async fn tables_with_data(
    client: &Client,
    opts: &DumpOptions,
    selected: &[Relation],
    excluded: &[Relation],
) -> Result<Vec<(String, String)>> {
    let all: Vec<(String, String)> = if !selected.is_empty() {
        selected.iter().filter(|r| r.kind == 'r').map(|r| (r.schema.clone(), r.name.clone())).collect()
    } else {
        client
            .query(LEAF_TABLES_SQL, &[])
            .await
            .map_err(query_failed("listing tables"))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .filter(|(s, _): &(String, String)| opts.schemas.is_empty() || opts.schemas.contains(s))
            .collect()
    };
    Ok(all
        .into_iter()
        .filter(|(s, _)| !opts.exclude_schemas.contains(s))
        .filter(|(s, t)| !excluded.iter().any(|r| &r.schema == s && &r.name == t))
        .collect())
}

async fn count_rows(client: &Client, opts: &DumpOptions, tables: &[(String, String)]) -> Result<RowCounts> {
    let skipped =
        |reason: &str| Ok(RowCounts { status: RowCountStatus::Skipped, reason: Some(reason.into()), tables: vec![] });
    if opts.no_row_counts {
        return skipped("--no-row-counts was given");
    }
    if opts.schema_only {
        return skipped("a schema-only backup holds no rows");
    }
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .map_err(query_failed("reading the database size"))?
        .get(0);
    if size > ROW_COUNT_LIMIT_BYTES {
        return skipped(&format!("the database is {size} bytes, above the 10 GiB limit for exact counts"));
    }
    // Counting runs beside pg_dump, which keeps every core busy: parallel workers would only
    // add their start-up (a 560k-row count: 19 ms of one process, or 15 ms of three).
    client
        .batch_execute("SET LOCAL max_parallel_workers_per_gather = 0")
        .await
        .map_err(query_failed("preparing to count rows"))?;
    let mut counts = Vec::with_capacity(tables.len());
    for (schema, table) in tables {
        // ONLY: pg_dump writes each table's own rows; children are counted as themselves.
        let sql = format!("SELECT count(*) FROM ONLY {}", table_names::exact_pattern(schema, table));
        let rows: i64 = client.query_one(&sql, &[]).await.map_err(query_failed("counting rows"))?.get(0);
        counts.push(TableCount { schema: schema.clone(), table: table.clone(), rows });
    }
    Ok(RowCounts { status: RowCountStatus::Counted, reason: None, tables: counts })
}

/// Estimated heap sizes of the tables pg_dump will write, keyed as its log names them.
async fn table_sizes(client: &Client, tables: &[(String, String)]) -> Result<TableSizes> {
    let rows = client
        .query(
            // relpages (as of the last VACUUM/ANALYZE), not pg_relation_size: that one takes a
            // lock and would wait behind any exclusive lock before pg_dump even starts.
            "SELECT n.nspname::text, c.relname::text, c.relpages::bigint * current_setting('block_size')::bigint
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'",
            &[],
        )
        .await
        .map_err(query_failed("reading table sizes"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, i64>(2)))
        .filter(|(s, t, _)| tables.iter().any(|(ws, wt)| ws == s && wt == t))
        .map(|(s, t, size)| (format!("{s}.{t}"), size as u64))
        .collect())
}

/// Refuses to start a backup that cannot fit: the database's size (a third of it when
/// compressed, which realistic rows beat) against the repository's free space.
async fn check_space(client: &Client, dir: &std::path::Path, compressed: bool) -> Result<u64> {
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .map_err(query_failed("reading the database size"))?
        .get(0);
    let needed = if compressed { size as u64 / 3 } else { size as u64 };
    crate::repo::check_room(dir, needed, "this backup")?;
    Ok(size as u64)
}

/// Opens the snapshot transaction pg_dump and the row counts share, and exports it.
async fn export_snapshot(client: &tokio_postgres::Client) -> Result<String> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(query_failed("starting the snapshot transaction"))?;
    Ok(client.query_one("SELECT pg_export_snapshot()", &[]).await.map_err(query_failed("exporting a snapshot"))?.get(0))
}

/// The data file a parallel pg_dump has just closed, from its verbose line
/// `pg_dump: finished item 2599 TABLE DATA orders_2` (the directory format names it
/// `2599.dat` plus the compression's suffix).
fn finished_data_file(dir: &std::path::Path, line: &str) -> Option<std::path::PathBuf> {
    let rest = line.split("finished item ").nth(1)?;
    let (id, what) = rest.split_once(' ')?;
    if !what.starts_with("TABLE DATA ") || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ["", ".gz", ".lz4", ".zst"].iter().map(|ext| dir.join(format!("{id}.dat{ext}"))).find(|p| p.is_file())
}

impl Engine {
    /// The backup, then its upload to the profile's repository and its second copy, where
    /// it has them (`repo::copies`).
    pub async fn backup(&self, profile_name: &str, opts: &DumpOptions, job: &Job) -> Result<BackupRecord> {
        let record = self.dump_database(profile_name, opts, job).await?;
        self.copy_to_repositories(&record, job).await?;
        Ok(record)
    }

    async fn dump_database(&self, profile_name: &str, opts: &DumpOptions, job: &Job) -> Result<BackupRecord> {
        job.phase("connecting");
        check_options(opts)?;
        let (source, plan) = self.open_dump_source(profile_name, opts).await?;
        let DumpSource { profile, password, draft, client } = source;
        let snapshot = export_snapshot(&client).await?;
        let data_tables = tables_with_data(&client, opts, &plan.selected, &plan.excluded).await?;

        let id = new_backup_id(&self.clock.now());
        let repo = self.repository()?;
        let database_size =
            check_space(&client, &repo.logical_dir(&profile.name, &draft.database), plan.compress.is_some()).await?;
        let staging = repo.stage(repo.logical_dir(&profile.name, &draft.database).join(&id))?;
        let artifact = opts.format.artifact();
        let args = dump_args(&plan, opts, &staging.path().join(artifact), Some(&snapshot));
        let started_at = self.clock.now_rfc3339();
        let started = Instant::now();
        let log_path = staging.path().join("pg_dump.log");
        let mut cc = crate::libpq_env::client_command(&plan.inst.path("pg_dump"), &draft, password.as_ref())?;
        cc.command.args(&args);
        tracing::info!(profile = %profile.name, database = %draft.database, id = %id, "pg_dump starting");
        let sizes = table_sizes(&client, &data_tables).await?;
        job.check_cancelled()?;
        // Rows are counted while pg_dump runs: the same exported snapshot, on our own connection,
        // so the counts cost (almost) no time of their own. Counting can wait behind another
        // session's lock, so a cancel ends it; the first failure drops the other side (the
        // child is killed on drop).
        let cancel = job.cancel_token();
        let counting = async {
            tokio::select! {
                counts = count_rows(&client, opts, &data_tables) => counts,
                _ = cancel.cancelled() => Err(crate::job::cancelled()),
            }
        };
        let data_dir = staging.path().join(artifact);
        // Only a parallel pg_dump names each data file when it is finished.
        let follow = (plan.jobs.unwrap_or(1) > 1).then(|| data_dir.clone());
        let early = EarlyHashes::start(follow);
        let final_dir = repo.logical_dir(&profile.name, &draft.database).join(&id);
        let uploads = self.early_uploads(&profile.id, staging.path(), &final_dir);
        let on_line = |line: &str| {
            if let Some(file) = finished_data_file(&data_dir, line) {
                if let Some(uploads) = &uploads {
                    uploads.add(file.clone());
                }
                early.add(file);
            }
        };
        let dumping = run_watched(
            self.runner(),
            cc,
            &log_path,
            "pg_dump",
            job,
            "dumping",
            &sizes,
            ErrorCode::BackupFailed,
            &on_line,
        );
        let (row_counts, ()) = tokio::try_join!(counting, dumping)?;
        job.phase("checksumming");
        client.batch_execute("COMMIT").await.map_err(query_failed("ending the snapshot transaction"))?;

        let files = checksum::inventory_with(staging.path(), &[crate::repo::MANIFEST], early.finish())?;
        let mut uploads = uploads;
        if let Some(uploads) = uploads.as_mut() {
            uploads.settle();
        }
        let resolved = DumpOptions {
            database: Some(draft.database.clone()),
            jobs: plan.jobs,
            compress: plan.compress.clone(),
            ..opts.clone()
        };
        let run = FinishedRun {
            id,
            kind: crate::repo::manifest::BackupKind::Logical,
            profile: (profile.name.clone(), profile.id.clone()),
            database: draft.database.clone(),
            server: (plan.server_version.clone(), plan.server_major),
            tool: plan.inst.used("pg_dump", plan.server_major, args),
            options: resolved,
            artifact: artifact.into(),
            started_at,
            started,
            files,
            row_counts,
            database_size_bytes: Some(database_size),
            physical: None,
        };
        let record = self.finish_backup(staging, run)?;
        if let Some(uploads) = uploads {
            uploads.keep();
        }
        Ok(record)
    }
}

/// Options that cannot go together are refused before anything connects.
fn check_options(opts: &DumpOptions) -> Result<()> {
    if opts.schema_only && opts.data_only {
        return Err(Error::invalid_input(
            "--schema-only and --data-only exclude each other",
            "Choose one, or neither for both.",
        ));
    }
    if opts.jobs.is_some() && opts.format != DumpFormat::Directory {
        return Err(Error::invalid_input(
            "--jobs needs the directory format",
            "Use --format directory (the default) for a parallel dump.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finished_items_name_their_data_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("2599.dat.zst"), b"").unwrap();
        let found = super::finished_data_file(dir.path(), "pg_dump: finished item 2599 TABLE DATA orders_2");
        assert_eq!(found, Some(dir.path().join("2599.dat.zst")));
        assert_eq!(super::finished_data_file(dir.path(), "pg_dump: finished item 2600 TABLE DATA x"), None);
        assert_eq!(super::finished_data_file(dir.path(), "pg_dump: finished item 2599 SEQUENCE SET s"), None);
        assert_eq!(super::finished_data_file(dir.path(), "pg_dump: dumping contents of table \"a\""), None);
    }
}
