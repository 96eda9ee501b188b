//! A restore's preflight: everything it finds out before it writes anything — the server and
//! its major, the selection, whether the target may be written, roles, extensions and room.
//! Any refusal here leaves the server as it was.

use super::archive::Archive;
use super::preflight::{check_target_space, role_map};
use super::restore::{RestoreOptions, RestoreReport};
use super::toc::Selection;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::server::{query_failed, server_version};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use std::time::Instant;

const USER_OBJECTS_SQL: &str = "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      AND n.nspname NOT LIKE 'pg_temp%'";

/// The server a restore writes into: the profile's, or a new sandbox.
pub(crate) struct RestoreServer {
    /// What errors call it: the profile's name or the sandbox's id.
    pub name: String,
    /// Its login, on the profile's database (or postgres, for a sandbox).
    pub draft: ProfileDraft,
    pub password: Option<Secret>,
}

/// What the preflight found: a restore runs from this and nothing else.
pub(crate) struct RestorePlan {
    /// Connected to a database other than the target (which may not exist yet).
    pub admin: tokio_postgres::Client,
    pub maintenance: ProfileDraft,
    pub target: ProfileDraft,
    pub password: Option<Secret>,
    pub server_major: u32,
    pub selection: Option<Selection>,
    /// The target database was there before the restore.
    pub exists: bool,
    /// Filled in as the restore goes; a dry run returns it as planned.
    pub report: RestoreReport,
    pub started: Instant,
}

impl Engine {
    pub(crate) async fn plan_restore(
        &self,
        archive: &Archive,
        opts: &RestoreOptions,
        profile_name: &str,
        server: RestoreServer,
    ) -> Result<RestorePlan> {
        let RestoreServer { name: server_name, draft: base_draft, password } = server;
        let mut maintenance = base_draft.clone();
        if maintenance.database == opts.to_db {
            maintenance.database = "postgres".into();
        }
        let admin = crate::connect::connect(&maintenance, password.as_ref()).await?;
        let (_, server_major) = server_version(&admin).await?;
        let started = Instant::now();

        let selection = self.plan_selection(archive, server_major, opts)?;
        if opts.into_schema.is_some() {
            if selection.is_none() {
                return Err(Error::invalid_input(
                    "--into-schema needs the tables (--table) or the schema (--schema) to move",
                    "Pick what to restore under the new schema name.",
                ));
            }
            super::into_schema::source_schema(selection.as_ref(), opts)?;
        }
        let exists: i64 = admin
            .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&opts.to_db])
            .await
            .map_err(query_failed("looking for the target database"))?
            .get(0);
        let mut target = base_draft.clone();
        target.database = opts.to_db.clone();
        if exists > 0 {
            refuse_a_non_empty_target(&target, password.as_ref(), opts, &server_name).await?;
        }
        self.refuse_missing_roles(&admin, archive, server_major, &selection, opts).await?;
        let mut warnings = selection.as_ref().map(|s| s.warnings.clone()).unwrap_or_default();
        if archive.manifest.server_major > server_major {
            warnings.push(format!(
                "the backup comes from PostgreSQL {} and the target runs {server_major}: syntax newer than {server_major} may fail",
                archive.manifest.server_major
            ));
        }
        self.check_extensions(&admin, archive, server_major, &selection).await?;
        check_target_space(&admin, &maintenance, archive).await?;
        let list: Vec<String> =
            selection.as_ref().map(|s| s.entries.iter().map(|e| e.line.clone()).collect()).unwrap_or_default();
        let report = RestoreReport {
            backup_id: archive.id.clone(),
            profile: profile_name.to_string(),
            database: opts.to_db.clone(),
            created_database: exists == 0 && !opts.dry_run,
            dry_run: opts.dry_run,
            list,
            warnings,
            row_counts: vec![],
            duration_ms: 0,
            log_path: None,
            sandbox: None,
            tool_choice: None,
        };
        Ok(RestorePlan {
            admin,
            maintenance,
            target,
            password,
            server_major,
            selection,
            exists: exists > 0,
            report,
            started,
        })
    }

    async fn refuse_missing_roles(
        &self,
        admin: &tokio_postgres::Client,
        archive: &Archive,
        server_major: u32,
        selection: &Option<Selection>,
        opts: &RestoreOptions,
    ) -> Result<()> {
        let missing_roles = if let Some(owner) = &opts.owner {
            let n: i64 = admin
                .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[owner])
                .await
                .map_err(query_failed("reading roles"))?
                .get(0);
            if n == 0 {
                vec![owner.clone()]
            } else {
                vec![]
            }
        } else if opts.no_owner || opts.into_schema.is_some() {
            vec![]
        } else {
            self.missing_owners(admin, archive, server_major, selection, &role_map(opts)?).await?
        };
        if missing_roles.is_empty() {
            return Ok(());
        }
        Err(Error::new(
            ErrorCode::RolesMissing,
            format!("objects in the backup are owned by roles this server lacks: {}", missing_roles.join(", ")),
            "Create the roles first (restore the globals with `tideline dumpall --globals-only`), or restore with --no-owner so the objects belong to the restoring user.",
        ))
    }
}

/// An existing database is written only when it holds nothing, or with --clean, or when the
/// restore adds a new schema or only data or post-data to definitions an earlier step restored.
async fn refuse_a_non_empty_target(
    target: &ProfileDraft,
    password: Option<&Secret>,
    opts: &RestoreOptions,
    server_name: &str,
) -> Result<()> {
    let client = crate::connect::connect(target, password).await?;
    let objects: i64 =
        client.query_one(USER_OBJECTS_SQL, &[]).await.map_err(query_failed("inspecting the target"))?.get(0);
    let defines = opts.sections.is_empty() || opts.sections.iter().any(|x| x == "pre-data");
    if objects > 0 && !opts.clean && opts.into_schema.is_none() && defines {
        return Err(Error::new(
            ErrorCode::TargetNotEmpty,
            format!("database '{}' on {} already holds {objects} relations; nothing was restored", opts.to_db, server_name),
            "Restore into a new database (--to-db NEW_NAME), or give --clean to drop and recreate the archive's objects there.",
        ));
    }
    Ok(())
}
