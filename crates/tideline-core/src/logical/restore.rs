//! `tideline restore`: pg_restore (or psql for plain dumps) into a new database, or into an
//! existing one only when it is empty or `--clean` is given. Preflight runs before anything is
//! written; a table selection becomes an exact `-L` list.

use super::archive::Archive;
use super::preflight::check_sections;
use super::restore_plan::{RestorePlan, RestoreServer};
use super::row_counts::Counting;
use super::toc::{self, Selection};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::pg::server::{query_failed, server_version};
use crate::pg::tool_run::{run_logged, TableSizes};
use crate::repo::manifest::TableCount;
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
        let own_profile = (!opts.sandbox).then_some(profile.name.as_str());
        let mut report = self.execute_restore(&archive, opts, plan, job, own_profile).await?;
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
        own_profile: Option<&str>,
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
                    crate::pg::table_names::quote_ident(&opts.to_db)
                ))
                .await
                .map_err(query_failed("creating the target database"))?;
        }
        // Into a database that exists (with --clean), Tideline changes live data: recorded,
        // so what it drops is never listed as an accident.
        let recording = match (exists, own_profile) {
            (true, Some(profile)) => {
                let what = format!("restore of backup {} into {}", archive.id, opts.to_db);
                self.own_change_begins(profile, &admin, &opts.to_db, what).await
            }
            _ => None,
        };
        let into = (&target, password.as_ref());
        let restored = self
            .restore_objects(
                archive,
                opts,
                selection.as_ref(),
                into,
                (server_major, exists, session_options),
                job,
                &mut report,
            )
            .await;
        self.own_change_ends(recording, &admin, None).await;
        let restored = match restored {
            Ok(restored) => restored,
            Err(e) => {
                // A database created for this restore holds nothing of the user's: remove it.
                if !exists {
                    let drop =
                        format!("DROP DATABASE IF EXISTS {}", crate::pg::table_names::quote_ident(&target.database));
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

    /// The restore proper: into a new schema, or by pg_restore after the schemas its tables
    /// need.
    #[allow(clippy::too_many_arguments)]
    async fn restore_objects(
        &self,
        archive: &Archive,
        opts: &RestoreOptions,
        selection: Option<&Selection>,
        (target, password): (&crate::profile::ProfileDraft, Option<&crate::Secret>),
        (server_major, exists, session_options): (u32, bool, Option<String>),
        job: &Job,
        report: &mut RestoreReport,
    ) -> Result<Restored> {
        match &opts.into_schema {
            Some(new_schema) => {
                let client = crate::connect::connect(target, password).await?;
                self.restore_into_schema(
                    archive,
                    selection,
                    opts,
                    new_schema,
                    &client,
                    target,
                    password,
                    server_major,
                    job,
                    report,
                )
                .await
                .map(|_| Restored {
                    log_path: std::path::PathBuf::from(report.log_path.clone().unwrap_or_default()),
                    tool_choice: report.tool_choice.clone().unwrap_or_default(),
                })
            }
            None => {
                let dest = Destination { draft: target, password, server_major, fresh: !exists, session_options };
                match self.create_enclosing_schemas(archive, selection, &dest, opts).await {
                    Ok(()) => self.run_restore(archive, &dest, opts, selection, job).await,
                    Err(e) => Err(e),
                }
            }
        }
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
        let logs = self.home().join("logs").join("restores");
        crate::home::ensure_private_dir(&logs)?;
        let log_path = logs.join(format!("{}-{}.log", archive.id, self.clock.now().format("%Y%m%dT%H%M%S")));
        let scratch = tempfile::Builder::new()
            .prefix("tideline-restore-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory", e))?;
        let command = self.restore_command(archive, dest, opts, selection, scratch.path())?;
        let ran = self.client_tool_for(&archive.manifest, dest.server_major, command.tool)?;
        let tool_choice =
            crate::tools::choice_reason_for_archive(command.tool, &ran, dest.server_major, archive.manifest.tool_major);
        let sizes = TableSizes::new();
        match run_logged(
            self.runner(),
            command.cc,
            &log_path,
            command.tool,
            job,
            "restoring",
            &sizes,
            ErrorCode::RestoreFailed,
        )
        .await
        {
            Err(e) if e.code == ErrorCode::RestoreFailed => return Err(restore_failed(&log_path, dest)),
            other => other?,
        }
        if let Some(pg_restore) = command.statistics_after {
            let stats_log = log_path.with_extension("statistics.log");
            let options = dest.session_options.as_deref();
            let (target, password) = (dest.draft, dest.password);
            super::statistics::restore(
                archive,
                &pg_restore,
                &command.shared,
                target,
                password,
                options,
                &stats_log,
                job,
            )
            .await?;
        }
        Ok(Restored { log_path, tool_choice })
    }
}

/// The restore failed: its errors from the log, and what became of the database.
fn restore_failed(log_path: &std::path::Path, dest: &Destination<'_>) -> Error {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let tail: Vec<&str> =
        text.lines().filter(|l| l.contains("error") || l.contains("ERROR") || l.contains("FATAL")).take(8).collect();
    let undone = if dest.fresh {
        "The database created for this restore was removed."
    } else {
        "The restore ran in one transaction, so nothing was applied."
    };
    Error::new(
        ErrorCode::RestoreFailed,
        format!("the restore into '{}' failed:\n{}", dest.draft.database, tail.join("\n")),
        format!("The full output is in {}. {undone}", log_path.display()),
    )
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
