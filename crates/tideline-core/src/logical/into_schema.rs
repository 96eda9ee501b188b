//! Restoring into a different schema, done by the server rather than by rewriting the dump's
//! text: the selection is restored into a throwaway managed cluster, its schema is renamed there
//! (ALTER SCHEMA … RENAME moves tables, rows, sequences, the defaults that use them — they refer
//! by OID — indexes, constraints and views), that schema is dumped, and the dump is restored into
//! the target. Function bodies are text: those that name the old schema are listed, not rewritten.

use super::archive::Archive;
use super::restore::{RestoreOptions, RestoreReport};
use super::toc::Selection;
use crate::cluster::scratch::ScratchCluster;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::pg::server::query_failed;
use crate::pg::table_names::{display, quote_ident};
use crate::pg::tool_run::{run_logged, TableSizes};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use tokio_postgres::Client;

/// The one schema the restored tables come from.
pub(crate) fn source_schema(selection: Option<&Selection>, opts: &RestoreOptions) -> Result<String> {
    let mut schemas: Vec<String> = opts.schemas.clone();
    if let Some(sel) = selection {
        for spec in &opts.tables {
            schemas.push(super::toc::find_table(&sel.entries, spec)?.schema.clone());
        }
    }
    schemas.sort();
    schemas.dedup();
    match schemas.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::invalid_input(
            "--into-schema moves the tables of exactly one schema",
            "Pick tables (--table) or a schema (--schema) from one schema of the backup.",
        )),
    }
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn restore_into_schema(
        &self,
        archive: &Archive,
        selection: Option<&Selection>,
        opts: &RestoreOptions,
        new_schema: &str,
        target_client: &Client,
        target: &ProfileDraft,
        password: Option<&Secret>,
        server_major: u32,
        job: &Job,
        report: &mut RestoreReport,
    ) -> Result<()> {
        let old_schema = source_schema(selection, opts)?;
        // Preflight on the target first: an existing schema of that name is never written to.
        let exists: i64 = target_client
            .query_one("SELECT count(*) FROM pg_namespace WHERE nspname = $1", &[&new_schema])
            .await
            .map_err(query_failed("inspecting the target"))?
            .get(0);
        if exists > 0 {
            return Err(Error::new(
                ErrorCode::TargetNotEmpty,
                format!("schema '{new_schema}' already exists in '{}'; nothing was restored", target.database),
                "Choose a new schema name for --into-schema.",
            ));
        }
        let server = self.tools()?.server_for(server_major, "postgres")?.clone();
        job.phase("preparing a scratch cluster");
        let scratch = ScratchCluster::start(&server, "schema")?;
        let admin = crate::connect::connect(&scratch.draft("postgres"), Some(&scratch.password)).await?;
        admin
            .batch_execute("CREATE DATABASE scratch TEMPLATE template0")
            .await
            .map_err(query_failed("creating the scratch database"))?;
        let scratch_db = scratch.draft("scratch");
        let scratch_opts = RestoreOptions { to_db: "scratch".into(), no_owner: true, clean: false, ..opts.clone() };
        let dest = super::restore::Destination::in_scratch(&scratch, &scratch_db, &admin).await;
        self.run_restore(archive, &dest, &scratch_opts, selection, job).await?;

        let client = crate::connect::connect(&scratch_db, Some(&scratch.password)).await?;
        rename_schema(&client, &old_schema, new_schema, report).await?;

        job.phase("moving the schema");
        let scratch_dir =
            tempfile::Builder::new().prefix("tideline-schema-").tempdir().map_err(|e| Error::io("scratch", e))?;
        let dump = self.dump_schema(&scratch, &scratch_db, new_schema, scratch_dir.path(), job).await?;
        let tools = self.tools()?;
        report.tool_choice = Some(crate::tools::choice_reason(
            "pg_restore",
            tools.client_for(scratch.major(), "pg_restore")?,
            scratch.major(),
        ));
        let cc = super::older_servers::restore_in_one_transaction(
            self.runner(),
            &tools,
            scratch.major(),
            &dump,
            &["--verbose", "--no-owner"],
            target,
            password,
            scratch_dir.path(),
        )?;
        let log = self.home().join("logs").join("restores").join(format!(
            "{}-into-{}.log",
            archive.id,
            new_schema.replace('/', "_")
        ));
        crate::home::ensure_private_dir(log.parent().unwrap_or(self.home()))?;
        job.phase("restoring");
        run_logged(
            self.runner(),
            cc,
            &log,
            "pg_restore",
            job,
            "restoring",
            &TableSizes::new(),
            ErrorCode::RestoreFailed,
        )
        .await?;
        report.log_path = Some(log.display().to_string());
        Ok(())
    }

    /// The renamed schema, dumped from the scratch database into `dir`.
    async fn dump_schema(
        &self,
        scratch: &ScratchCluster,
        scratch_db: &ProfileDraft,
        schema: &str,
        dir: &std::path::Path,
        job: &Job,
    ) -> Result<std::path::PathBuf> {
        let dump = dir.join("schema.dump");
        let pg_dump = self.tools()?.client_for(scratch.major(), "pg_dump")?.clone();
        let mut cc = crate::libpq_env::client_command(&pg_dump.path("pg_dump"), scratch_db, Some(&scratch.password))?;
        cc.command.args(["--verbose", "--format=c", "--no-owner", "--compress=0"]);
        cc.command.arg(format!("--schema={}", quote_ident(schema))).arg(format!("--file={}", dump.display()));
        let (log, sizes) = (dir.join("dump.log"), TableSizes::new());
        run_logged(self.runner(), cc, &log, "pg_dump", job, "moving the schema", &sizes, ErrorCode::RestoreFailed)
            .await?;
        Ok(dump)
    }
}

/// In the scratch database: the restored schema renamed, and a warning for each function whose
/// body (text, not rewritten) still names the old one.
async fn rename_schema(client: &Client, old_schema: &str, new_schema: &str, report: &mut RestoreReport) -> Result<()> {
    let taken: i64 = client
        .query_one("SELECT count(*) FROM pg_namespace WHERE nspname = $1", &[&new_schema])
        .await
        .map_err(query_failed("inspecting the scratch database"))?
        .get(0);
    if taken > 0 {
        return Err(Error::invalid_input(
            format!("the backup itself has a schema named '{new_schema}'"),
            "Choose a name for --into-schema that the backup does not use.",
        ));
    }
    client
        .batch_execute(&format!("ALTER SCHEMA {} RENAME TO {}", quote_ident(old_schema), quote_ident(new_schema)))
        .await
        .map_err(query_failed("renaming the schema"))?;
    let functions = client
        .query(
            "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = $1 AND p.prosrc LIKE '%' || $2 || '%' ORDER BY 1",
            &[&new_schema, &old_schema],
        )
        .await
        .map_err(query_failed("reading functions"))?;
    for f in functions {
        let name: String = f.get(0);
        report.warnings.push(format!(
            "function {} mentions schema '{old_schema}' in its body, which was not rewritten; review it",
            display(new_schema, &name)
        ));
    }
    Ok(())
}
