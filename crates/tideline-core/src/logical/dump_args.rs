//! What pg_dump is asked to do: the plan (binary, compression, jobs, resolved tables) and the
//! argument list built from it — shared by the backup itself and the command preview the app
//! shows before a run.

use super::compression;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pg::table_names::{self, Relation};
use crate::profile::{Profile, ProfileDraft};
use crate::repo::options::{DumpFormat, DumpOptions};
use crate::secret::Secret;
use crate::tools::Installation;
use std::path::Path;
use tokio_postgres::Client;

pub(crate) struct DumpPlan {
    pub inst: Installation,
    pub server_version: String,
    pub server_major: u32,
    pub compress: Option<String>,
    pub jobs: Option<u32>,
    pub selected: Vec<Relation>,
    pub excluded: Vec<Relation>,
}

/// Parallel jobs for dumps and restores: the cores we have, at most 4.
pub(crate) fn default_jobs() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2).clamp(1, 4)
}

/// The server a dump reads from: its profile, password, settings and an open connection.
pub(crate) struct DumpSource {
    pub profile: Profile,
    pub password: Option<Secret>,
    pub draft: ProfileDraft,
    pub client: Client,
}

impl Engine {
    /// Connects to the profile (the database `opts` names, else the profile's) and plans the dump.
    pub(crate) async fn open_dump_source(
        &self,
        profile_name: &str,
        opts: &DumpOptions,
    ) -> Result<(DumpSource, DumpPlan)> {
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let mut draft = profile.draft();
        if let Some(db) = &opts.database {
            draft.database = db.clone();
        }
        let client = crate::connect::connect(&draft, password.as_ref()).await?;
        let (version, major) = crate::pg::server::server_version(&client).await?;
        let plan = self.plan_dump(&client, version, major, opts).await?;
        Ok((DumpSource { profile, password, draft, client }, plan))
    }

    pub(crate) async fn plan_dump(
        &self,
        client: &Client,
        server_version: String,
        server_major: u32,
        opts: &DumpOptions,
    ) -> Result<DumpPlan> {
        let inst = self.tools()?.client_for(server_major, "pg_dump")?.clone();
        let compress = compression::choose(&inst, opts.format, opts.compress.as_deref())?;
        if let (Some(wanted), true) = (opts.statistics, inst.major < 18) {
            let flag = if wanted { "--statistics" } else { "--no-statistics" };
            return Err(Error::invalid_input(
                format!("{flag} needs pg_dump 18 or newer; the pg_dump for this server is {}", inst.version),
                "Install PostgreSQL 18's client tools (they dump older servers too), or leave the option out.",
            ));
        }
        let mut selected = Vec::new();
        for spec in &opts.tables {
            selected.extend(table_names::resolve(client, spec).await?);
        }
        let mut excluded = Vec::new();
        for spec in &opts.exclude_tables {
            excluded.extend(table_names::resolve(client, spec).await?);
        }
        for schema in opts.schemas.iter().chain(&opts.exclude_schemas) {
            table_names::check_schema(client, schema).await?;
        }
        let jobs = match opts.format {
            DumpFormat::Directory => Some(opts.jobs.unwrap_or_else(default_jobs)),
            _ => None,
        };
        Ok(DumpPlan { inst, server_version, server_major, compress, jobs, selected, excluded })
    }

    /// The shell command equivalent to a backup with these options (no password: libpq reads
    /// it from ~/.pgpass or asks), for the app's "Back up now" dialog.
    pub async fn backup_command_preview(&self, profile_name: &str, opts: &DumpOptions) -> Result<String> {
        let (DumpSource { profile, draft, .. }, plan) = self.open_dump_source(profile_name, opts).await?;
        let file = self.repository()?.logical_dir(&profile.name, &draft.database).join(opts.format.artifact());
        let mut words = vec![
            format!("PGHOST={}", crate::pg::table_names::shell_quote(&draft.host)),
            format!("PGPORT={}", draft.port),
            format!("PGUSER={}", crate::pg::table_names::shell_quote(&draft.user)),
            format!("PGDATABASE={}", crate::pg::table_names::shell_quote(&draft.database)),
            format!("PGSSLMODE={}", draft.sslmode.as_str()),
            crate::pg::table_names::shell_quote(&plan.inst.path("pg_dump").display().to_string()),
        ];
        words.extend(dump_args(&plan, opts, &file, None).iter().map(|a| crate::pg::table_names::shell_quote(a)));
        Ok(words.join(" "))
    }
}

pub(crate) fn dump_args(plan: &DumpPlan, opts: &DumpOptions, file: &Path, snapshot: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> =
        vec!["--verbose".into(), format!("--format={}", opts.format.flag()), format!("--file={}", file.display())];
    if let Some(s) = snapshot {
        args.push(format!("--snapshot={s}"));
    }
    if let Some(j) = plan.jobs {
        args.push(format!("--jobs={j}"));
    }
    if let Some(c) = &plan.compress {
        args.push(format!("--compress={c}"));
    }
    if opts.schema_only {
        args.push("--schema-only".into());
    }
    if opts.data_only {
        args.push("--data-only".into());
    }
    // Exact names: one quoted pattern per relation, partitions listed one by one (pg_dump -t of a
    // partitioned parent brings no partition rows before 16).
    for r in &plan.selected {
        args.push(format!("--table={}", table_names::exact_pattern(&r.schema, &r.name)));
    }
    for r in &plan.excluded {
        args.push(format!("--exclude-table={}", table_names::exact_pattern(&r.schema, &r.name)));
    }
    for s in &opts.schemas {
        args.push(format!("--schema={}", table_names::quote_ident(s)));
    }
    for s in &opts.exclude_schemas {
        args.push(format!("--exclude-schema={}", table_names::quote_ident(s)));
    }
    if !plan.selected.is_empty() || !opts.schemas.is_empty() {
        args.push("--strict-names".into());
    }
    if opts.large_objects {
        args.push("--blobs".into());
    }
    if opts.no_owner {
        args.push("--no-owner".into());
    }
    if opts.no_privileges {
        args.push("--no-privileges".into());
    }
    match opts.statistics {
        Some(true) => args.push("--statistics".into()),
        Some(false) => args.push("--no-statistics".into()),
        None => {}
    }
    args
}
