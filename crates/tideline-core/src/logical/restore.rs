//! `tideline restore`: pg_restore (or psql for plain dumps) into a new database, or into an
//! existing one only when it is empty or `--clean` is given. Preflight runs before anything is
//! written; a table selection becomes an exact `-L` list.

use super::archive::Archive;
use super::clean;
use super::preflight::{check_sections, role_map};
use super::restore_plan::{RestorePlan, RestoreServer};
use super::row_counts::Counting;
use super::toc::{self, Selection};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::pg::server::{query_failed, server_version};
use crate::pg::tool_run::{run_logged, TableSizes};
use crate::repo::manifest::TableCount;
use crate::repo::options::DumpFormat;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RestoreOptions {
    /// The database to restore into; created when it does not exist.
    pub to_db: String,
    /// The profile whose server receives it; the backup's own profile by default.
    pub profile: Option<String>,
    pub jobs: Option<u32>,
    pub tables: Vec<String>,
    pub schemas: Vec<String>,
    /// Drop and recreate the archive's objects in an existing, non-empty database.
    pub clean: bool,
    pub no_owner: bool,
    /// Show what would be restored; change nothing.
    pub dry_run: bool,
    /// Restore the chosen tables (or schema) under this new schema name instead.
    pub into_schema: Option<String>,
    /// Only these sections: `pre-data` (definitions), `data`, `post-data` (indexes, constraints,
    /// triggers); all when empty. Restoring them in steps into one database is the point.
    pub sections: Vec<String>,
    /// Every restored object belongs to this role (pg_restore --no-owner --role).
    pub owner: Option<String>,
    /// `OLD=NEW`: NEW owns, and gets the grants of, what OLD had in the archive.
    pub map_roles: Vec<String>,
    /// Into a new sandbox (a Tideline-managed local server) instead of the profile's server;
    /// objects belong to the profile's role there, without the source's grants.
    #[serde(default)]
    pub sandbox: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RestoreReport {
    pub backup_id: String,
    pub profile: String,
    pub database: String,
    pub created_database: bool,
    pub dry_run: bool,
    /// The `-L` list restored (all entries when nothing was selected).
    pub list: Vec<String>,
    pub warnings: Vec<String>,
    /// Rows per restored table, read back after the restore.
    pub row_counts: Vec<TableCount>,
    #[ts(type = "number")]
    pub duration_ms: u64,
    pub log_path: Option<String>,
    /// The sandbox restored into (`--sandbox`).
    pub sandbox: Option<crate::catalog::sandboxes::Sandbox>,
    /// Which binary wrote into the server (pg_restore, or psql for a script) and why.
    #[serde(default)]
    pub tool_choice: Option<String>,
}

/// What ran a restore: its log, and which binary wrote into the server and why.
pub(crate) struct Restored {
    pub log_path: std::path::PathBuf,
    pub tool_choice: String,
}

/// Where a restore writes: a database on a server of a known major, and how to log in.
pub(crate) struct Destination<'a> {
    pub draft: &'a crate::profile::ProfileDraft,
    pub password: Option<&'a crate::Secret>,
    pub server_major: u32,
    /// The database was created for this restore (and is dropped if it fails).
    pub fresh: bool,
    /// `PGOPTIONS` for the restore's sessions (lock_waits.rs).
    pub session_options: Option<String>,
}

impl<'a> Destination<'a> {
    /// `target`, a database just created in `scratch` (where `admin` is connected to postgres).
    pub(crate) async fn in_scratch(
        scratch: &'a crate::cluster::scratch::ScratchCluster,
        target: &'a crate::profile::ProfileDraft,
        admin: &tokio_postgres::Client,
    ) -> Destination<'a> {
        let (draft, password, major) = (scratch.draft("postgres"), Some(&scratch.password), scratch.major());
        Destination {
            draft: target,
            password,
            server_major: major,
            fresh: true,
            session_options: super::lock_waits::restore_session_options(admin, &draft, password, major).await,
        }
    }
}

impl Engine {
    /// Checks the backup, plans against the server (nothing written until every check has
    /// passed), then restores and reads the rows back.
    pub async fn restore(&self, backup_id: &str, opts: &RestoreOptions, job: &Job) -> Result<RestoreReport> {
        job.phase("preflight");
        let archive = self.archive(backup_id)?;
        // pg_restore would read a damaged file without a word (a changed byte in an
        // uncompressed dump restores as a changed row): every file is checked first.
        job.phase("checking checksums");
        let damaged = archive.damaged_files();
        if !damaged.is_empty() {
            return Err(Error::new(
                ErrorCode::ChecksumMismatch,
                format!("backup {backup_id} is damaged: {}", damaged.join("; ")),
                "Nothing was restored. Restore an older backup (`tideline backups list`), and check the disk the repository is on.",
            ));
        }
        job.phase("preflight");
        if archive.manifest.kind != crate::repo::manifest::BackupKind::Logical {
            if opts.sandbox {
                return Err(Error::invalid_input(
                    format!("backup {} is a pg_dumpall script; --sandbox restores one database's backup", archive.id),
                    "Restore a database's backup (`tideline backups list`) into a sandbox.",
                ));
            }
            return self.restore_cluster_script(&archive, opts).await;
        }
        let opts = &options_for(&archive, opts)?;
        check_sections(&archive, opts)?;
        let profile = self.profile(opts.profile.as_deref().unwrap_or(&archive.owner))?;
        let password = self.password(&profile)?;
        // A dry run checks against a sandbox too (a new, empty server), then removes it.
        let sandbox = match opts.sandbox {
            true => {
                Some(self.new_restore_sandbox(&archive.id, archive.manifest.server_major, &opts.to_db, &profile).await?)
            }
            false => None,
        };
        let server = match &sandbox {
            Some(s) => RestoreServer { name: s.record.id.clone(), draft: s.draft("postgres"), password },
            None => RestoreServer { name: profile.name.clone(), draft: profile.draft(), password },
        };
        let plan = self.plan_restore(&archive, opts, &profile.name, server).await?;
        if opts.dry_run {
            return Ok(plan.report);
        }
        let mut report = self.execute_restore(&archive, opts, plan, job).await?;
        if let Some(s) = sandbox {
            report.sandbox = Some(self.keep_sandbox(s, report.duration_ms)?);
        }
        tracing::info!(backup = %archive.id, database = %opts.to_db, ms = report.duration_ms, "restore complete");
        Ok(report)
    }

    /// Creates the database (under a working name when new), restores, names it, and counts
    /// the rows; a database created here is dropped again when the restore fails.
    async fn execute_restore(
        &self,
        archive: &Archive,
        opts: &RestoreOptions,
        plan: RestorePlan,
        job: &Job,
    ) -> Result<RestoreReport> {
        let RestorePlan {
            admin,
            maintenance,
            mut target,
            password,
            server_major,
            selection,
            exists,
            mut report,
            started,
        } = plan;
        let session_options =
            super::lock_waits::restore_session_options(&admin, &maintenance, password.as_ref(), server_major).await;
        // A new database is restored under a working name and named only once whole.
        let working =
            (!exists && opts.into_schema.is_none()).then(|| super::restoring_database::working_name(&opts.to_db));
        if let Some(working) = &working {
            super::restoring_database::create(&admin, working, &opts.to_db).await?;
            target.database = working.clone();
        } else if !exists {
            admin
                .batch_execute(&format!(
                    "CREATE DATABASE {} TEMPLATE template0",
                    crate::pg::names::quote_ident(&opts.to_db)
                ))
                .await
                .map_err(query_failed("creating the target database"))?;
        }
        let restored = match &opts.into_schema {
            Some(new_schema) => {
                let client = crate::connect::connect(&target, password.as_ref()).await?;
                self.restore_into_schema(
                    archive,
                    selection.as_ref(),
                    opts,
                    new_schema,
                    &client,
                    &target,
                    password.as_ref(),
                    server_major,
                    job,
                    &mut report,
                )
                .await
                .map(|_| Restored {
                    log_path: std::path::PathBuf::from(report.log_path.clone().unwrap_or_default()),
                    tool_choice: report.tool_choice.clone().unwrap_or_default(),
                })
            }
            None => {
                let dest = Destination {
                    draft: &target,
                    password: password.as_ref(),
                    server_major,
                    fresh: !exists,
                    session_options,
                };
                match self.create_enclosing_schemas(archive, selection.as_ref(), &dest, opts).await {
                    Ok(()) => self.run_restore(archive, &dest, opts, selection.as_ref(), job).await,
                    Err(e) => Err(e),
                }
            }
        };
        let restored = match restored {
            Ok(restored) => restored,
            Err(e) => {
                // A database created for this restore holds nothing of the user's: remove it.
                if !exists {
                    let drop = format!("DROP DATABASE IF EXISTS {}", crate::pg::names::quote_ident(&target.database));
                    if let Err(d) = admin.batch_execute(&drop).await {
                        tracing::warn!(error = %d, "could not drop the database created for a failed restore");
                    }
                }
                return Err(e);
            }
        };
        report.tool_choice = Some(restored.tool_choice);
        report.log_path = Some(restored.log_path.display().to_string());
        if let Some(working) = &working {
            super::restoring_database::finish(&admin, working, &opts.to_db).await?;
            target.database = opts.to_db.clone();
        }
        report.row_counts = self
            .count_restored_rows(archive, opts, selection.as_ref(), &target, password.as_ref(), exists, server_major)
            .await?;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Rows per restored table, read back and compared with what the backup counted.
    #[allow(clippy::too_many_arguments)]
    async fn count_restored_rows(
        &self,
        archive: &Archive,
        opts: &RestoreOptions,
        selection: Option<&Selection>,
        target: &crate::profile::ProfileDraft,
        password: Option<&crate::Secret>,
        existed: bool,
        server_major: u32,
    ) -> Result<Vec<TableCount>> {
        let mut expected = archive.manifest.row_counts.tables.clone();
        if let Some(new_schema) = &opts.into_schema {
            let old = super::into_schema::source_schema(selection, opts)?;
            expected.retain(|t| t.schema == old);
            expected.iter_mut().for_each(|t| t.schema = new_schema.clone());
        }
        let connections = opts.jobs.unwrap_or_else(super::dump_args::default_jobs) as usize;
        // A database created for this restore holds only what the restore wrote, so the
        // server's tally of inserted rows is exact there (sessions hand it over on ending from 15).
        let counting = if !existed && opts.into_schema.is_none() && server_major >= 15 {
            Counting::TallyFirst
        } else {
            Counting::Scan
        };
        super::row_counts::restored_rows(target, password, &expected, connections, counting).await
    }

    /// pg_dumpall backups: globals into the server, or a whole cluster into an empty one.
    async fn restore_cluster_script(&self, archive: &Archive, opts: &RestoreOptions) -> Result<RestoreReport> {
        if !opts.to_db.is_empty() || !opts.tables.is_empty() || !opts.schemas.is_empty() || opts.clean {
            return Err(Error::invalid_input(
                format!(
                    "backup {} is a pg_dumpall script ({}); it restores into the server as a whole",
                    archive.id, archive.manifest.kind
                ),
                "Leave out --to-db, --table, --schema and --clean for this backup.",
            ));
        }
        let profile = self.profile(opts.profile.as_deref().unwrap_or(&archive.owner))?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let admin = crate::connect::connect(&draft, password.as_ref()).await?;
        let (_, server_major) = server_version(&admin).await?;
        let started = Instant::now();
        let mut report = RestoreReport {
            backup_id: archive.id.clone(),
            profile: profile.name.clone(),
            database: draft.database.clone(),
            created_database: false,
            dry_run: opts.dry_run,
            list: vec![],
            warnings: vec![],
            row_counts: vec![],
            duration_ms: 0,
            log_path: None,
            sandbox: None,
            tool_choice: None,
        };
        if !opts.dry_run {
            report.warnings = self.restore_script(archive, server_major, &admin, &draft, password.as_ref()).await?;
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    pub(crate) fn plan_selection(
        &self,
        archive: &Archive,
        server_major: u32,
        opts: &RestoreOptions,
    ) -> Result<Option<Selection>> {
        if opts.tables.is_empty() && opts.schemas.is_empty() {
            return Ok(None);
        }
        if archive.is_plain() {
            return Err(Error::invalid_input(
                "a plain SQL backup restores whole; tables and schemas cannot be picked from it",
                "Back up in the directory or custom format to restore single tables or schemas.",
            ));
        }
        let pg_restore = self.pg_restore_for(&archive.manifest, server_major)?;
        let entries = archive.toc(&pg_restore)?;
        toc::select(&entries, &opts.tables, &opts.schemas).map(Some)
    }

    pub(crate) async fn run_restore(
        &self,
        archive: &Archive,
        dest: &Destination<'_>,
        opts: &RestoreOptions,
        selection: Option<&Selection>,
        job: &Job,
    ) -> Result<Restored> {
        let (target, password, server_major) = (dest.draft, dest.password, dest.server_major);
        let logs = self.home().join("logs").join("restores");
        crate::home::ensure_private_dir(&logs)?;
        let log_path = logs.join(format!("{}-{}.log", archive.id, self.clock.now().format("%Y%m%dT%H%M%S")));
        let scratch = tempfile::Builder::new()
            .prefix("tideline-restore-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory", e))?;
        let map = role_map(opts)?;
        // What both ways of running pg_restore share: owners, sections, the -L selection.
        let mut shared = Vec::new();
        if opts.no_owner || opts.owner.is_some() {
            shared.push("--no-owner".to_string());
        }
        // pg_restore sends SET ROLE itself, and writes it into a script it makes.
        if let Some(owner) = &opts.owner {
            shared.push(format!("--role={owner}"));
        }
        if opts.sandbox {
            shared.push("--no-privileges".to_string());
        }
        shared.extend(opts.sections.iter().map(|section| format!("--section={section}")));
        if let Some(sel) = selection {
            let list = scratch.path().join("restore.list");
            std::fs::write(&list, sel.list_file()).map_err(|e| Error::io("writing the restore list", e))?;
            shared.push(format!("--use-list={}", list.display()));
        }
        let psql_script = |file: &std::path::Path| -> Result<crate::libpq_env::ClientCommand> {
            let psql = self.client_tool_for(&archive.manifest, server_major, "psql")?;
            let mut cc = crate::libpq_env::client_command(&psql.path("psql"), target, password)?;
            cc.command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f"]).arg(file);
            Ok(cc)
        };
        // A pg_restore newer than the server writes settings it lacks: run its script without them.
        let older_server = !archive.is_plain()
            && super::older_servers::needs_filter(server_major)
            && self.pg_restore_for(&archive.manifest, server_major)?.major > server_major;
        // A parallel restore's planner statistics, restored once the rows are in (statistics.rs).
        let mut statistics_after = None;
        // pg_restore writes a script that psql runs (rather than restoring itself).
        let via_script = !archive.is_plain() && (opts.clean || !map.is_empty() || older_server);
        let mut cc = if via_script {
            // pg_restore --clean cannot drop a partition's inherited constraints and indexes,
            // and with --single-transaction that aborts the whole restore; pg_restore cannot
            // map roles at all. So: let pg_restore write the script, let those drops pass over
            // exactly that refusal (clean.rs), map the roles (role_map.rs), and run it with psql
            // in one transaction.
            let pg_restore = self.pg_restore_for(&archive.manifest, server_major)?;
            let script = scratch.path().join("restore.sql");
            let mut gen = std::process::Command::new(pg_restore.path("pg_restore"));
            if opts.clean {
                gen.args(["--clean", "--if-exists"]);
            }
            gen.arg(format!("--file={}", script.display())).args(&shared);
            let out = gen.arg(archive.artifact()).output().map_err(|e| Error::io("running pg_restore", e))?;
            if !out.status.success() {
                return Err(Error::new(
                    ErrorCode::RestoreFailed,
                    format!("pg_restore could not read the archive: {}", String::from_utf8_lossy(&out.stderr).trim()),
                    "`tideline verify` checks the backup.",
                ));
            }
            let mut text = std::fs::read_to_string(&script).map_err(|e| Error::io("reading the restore script", e))?;
            if opts.clean {
                text = clean::tolerate_partition_drops(&text, &archive.toc(&pg_restore)?);
            }
            if !map.is_empty() {
                text = super::role_map::apply(&text, &map);
            }
            if older_server {
                text = super::older_servers::without_newer_settings(&text, server_major);
            }
            std::fs::write(&script, text).map_err(|e| Error::io("writing the restore script", e))?;
            psql_script(&script)?
        } else if archive.is_plain() && super::older_servers::needs_filter(server_major) {
            // A plain script from pg_dump 17 or later may set what this server lacks.
            let script = scratch.path().join("restore.sql");
            super::older_servers::copy_without_newer_settings(&archive.artifact(), &script, server_major)?;
            psql_script(&script)?
        } else if archive.is_plain() {
            psql_script(&archive.artifact())?
        } else {
            let pg_restore = self.pg_restore_for(&archive.manifest, server_major)?;
            let mut cc = crate::libpq_env::client_command(&pg_restore.path("pg_restore"), target, password)?;
            // A conninfo with only dbname (quoted, so a name with '=' stays a name); the rest of
            // the connection comes from the environment.
            cc.command.args(["--verbose", "--exit-on-error"]).arg(crate::libpq_env::dbname_arg(&target.database));
            // Into a database made for this restore, parallel jobs by default: a failure drops
            // that database, so nothing half-restored remains. Into an existing one, a single
            // transaction, so a failure leaves it as it was.
            // pg_restore runs jobs only from custom and directory archives.
            let parallel = matches!(archive.manifest.options.format, DumpFormat::Custom | DumpFormat::Directory);
            let jobs = opts.jobs.unwrap_or(if dest.fresh && parallel { super::dump_args::default_jobs() } else { 1 });
            if jobs > 1 && !parallel {
                return Err(Error::invalid_input(
                    "--jobs needs a custom or directory backup; pg_restore reads tar archives with one job",
                    "Leave out --jobs for this backup.",
                ));
            }
            if jobs > 1 {
                cc.command.arg(format!("--jobs={jobs}"));
                if super::statistics::after_data(archive, &pg_restore, &opts.sections)? {
                    cc.command.arg("--no-statistics");
                    statistics_after = Some(pg_restore.clone());
                }
            } else {
                // All or nothing where pg_restore allows it (not with --jobs).
                cc.command.arg("--single-transaction");
            }
            cc.command.args(&shared).arg(archive.artifact());
            cc
        };
        if let Some(options) = &dest.session_options {
            cc.command.env("PGOPTIONS", options);
        }
        let tool = if archive.is_plain() || via_script { "psql" } else { "pg_restore" };
        let ran = self.client_tool_for(&archive.manifest, server_major, tool)?;
        let tool_choice =
            crate::tools::choice_reason_for_archive(tool, &ran, server_major, archive.manifest.tool_major);
        match run_logged(cc, &log_path, tool, job, "restoring", &TableSizes::new(), ErrorCode::RestoreFailed).await {
            Err(e) if e.code == ErrorCode::RestoreFailed => {
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains("error") || l.contains("ERROR") || l.contains("FATAL"))
                    .take(8)
                    .collect();
                return Err(Error::new(
                    ErrorCode::RestoreFailed,
                    format!("the restore into '{}' failed:\n{}", target.database, tail.join("\n")),
                    format!(
                        "The full output is in {}. {}",
                        log_path.display(),
                        if dest.fresh {
                            "The database created for this restore was removed."
                        } else {
                            "The restore ran in one transaction, so nothing was applied."
                        }
                    ),
                ));
            }
            other => other?,
        }
        if let Some(pg_restore) = statistics_after {
            let stats_log = log_path.with_extension("statistics.log");
            let options = dest.session_options.as_deref();
            super::statistics::restore(archive, &pg_restore, &shared, target, password, options, &stats_log, job)
                .await?;
        }
        Ok(Restored { log_path, tool_choice })
    }
}

/// A sandbox keeps the database's name unless told otherwise, and has none of the source's
/// roles: what is restored there is the profile role's, without grants.
fn options_for(archive: &Archive, opts: &RestoreOptions) -> Result<RestoreOptions> {
    let mut opts = opts.clone();
    if opts.sandbox {
        if opts.to_db.trim().is_empty() {
            opts.to_db = archive.manifest.database.clone();
        }
        opts.no_owner = true;
    }
    if opts.to_db.trim().is_empty() {
        return Err(Error::invalid_input(
            "no target database was named",
            "Give --to-db NAME (a new database is created for you).",
        ));
    }
    Ok(opts)
}
