//! How a restore runs: pg_restore into the database, or a script — pg_restore's own, or the
//! plain dump — through psql in one transaction; and the arguments both ways share.

use super::archive::Archive;
use super::clean;
use super::preflight::role_map;
use super::restore::{Destination, RestoreOptions};
use super::toc::Selection;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::libpq_env::ClientCommand;
use crate::repo::options::DumpFormat;
use crate::tools::Installation;
use std::path::Path;

pub(crate) struct RestoreCommand {
    pub cc: ClientCommand,
    /// The tool whose output the log holds.
    pub tool: &'static str,
    /// What pg_restore is given however it runs: owners, sections, the -L selection.
    pub shared: Vec<String>,
    /// The pg_restore that restores planner statistics once the rows are in (statistics.rs).
    pub statistics_after: Option<Installation>,
}

impl Engine {
    pub(crate) fn restore_command(
        &self,
        archive: &Archive,
        dest: &Destination<'_>,
        opts: &RestoreOptions,
        selection: Option<&Selection>,
        scratch: &Path,
    ) -> Result<RestoreCommand> {
        let server_major = dest.server_major;
        let map = role_map(opts)?;
        let shared = shared_args(opts, selection, scratch)?;
        // A pg_restore newer than the server writes settings it lacks: run its script without them.
        let older_server = !archive.is_plain()
            && super::older_servers::needs_filter(server_major)
            && self.pg_restore_for(&archive.manifest, server_major)?.major > server_major;
        // pg_restore --clean cannot drop a partition's inherited constraints and indexes, and
        // with --single-transaction that aborts the whole restore; pg_restore cannot map roles
        // at all. So pg_restore writes a script, those drops may pass over exactly that refusal
        // (clean.rs), the roles are mapped (role_map.rs), and psql runs it in one transaction.
        let via_script = !archive.is_plain() && (opts.clean || !map.is_empty() || older_server);
        let mut command = if via_script {
            let script = scratch.join("restore.sql");
            self.write_restore_script(archive, opts, &shared, &map, older_server, server_major, &script)?;
            RestoreCommand {
                cc: self.psql_script(archive, dest, &script)?,
                tool: "psql",
                shared,
                statistics_after: None,
            }
        } else if archive.is_plain() {
            // A plain script from pg_dump 17 or later may set what an older server lacks.
            let script = if super::older_servers::needs_filter(server_major) {
                let script = scratch.join("restore.sql");
                super::older_servers::copy_without_newer_settings(&archive.artifact(), &script, server_major)?;
                script
            } else {
                archive.artifact()
            };
            RestoreCommand {
                cc: self.psql_script(archive, dest, &script)?,
                tool: "psql",
                shared,
                statistics_after: None,
            }
        } else {
            self.pg_restore_command(archive, dest, opts, shared)?
        };
        if let Some(options) = &dest.session_options {
            command.cc.command.env("PGOPTIONS", options);
        }
        Ok(command)
    }

    fn psql_script(&self, archive: &Archive, dest: &Destination<'_>, file: &Path) -> Result<ClientCommand> {
        let psql = self.client_tool_for(&archive.manifest, dest.server_major, "psql")?;
        let mut cc = crate::libpq_env::client_command(&psql.path("psql"), dest.draft, dest.password)?;
        cc.command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f"]).arg(file);
        Ok(cc)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_restore_script(
        &self,
        archive: &Archive,
        opts: &RestoreOptions,
        shared: &[String],
        map: &[(String, String)],
        older_server: bool,
        server_major: u32,
        script: &Path,
    ) -> Result<()> {
        let pg_restore = self.pg_restore_for(&archive.manifest, server_major)?;
        let mut gen = std::process::Command::new(pg_restore.path("pg_restore"));
        if opts.clean {
            gen.args(["--clean", "--if-exists"]);
        }
        gen.arg(format!("--file={}", script.display())).args(shared).arg(archive.artifact());
        let out = self.runner().output(&mut gen).map_err(|e| Error::io("running pg_restore", e))?;
        if !out.status.success() {
            return Err(Error::new(
                ErrorCode::RestoreFailed,
                format!("pg_restore could not read the archive: {}", String::from_utf8_lossy(&out.stderr).trim()),
                "`tideline verify` checks the backup.",
            ));
        }
        let mut text = std::fs::read_to_string(script).map_err(|e| Error::io("reading the restore script", e))?;
        if opts.clean {
            text = clean::tolerate_partition_drops(&text, &archive.toc(&pg_restore)?);
        }
        if !map.is_empty() {
            text = super::role_map::apply(&text, map);
        }
        if older_server {
            text = super::older_servers::without_newer_settings(&text, server_major);
        }
        std::fs::write(script, text).map_err(|e| Error::io("writing the restore script", e))
    }

    /// pg_restore restoring itself. Into a database made for this restore, parallel jobs by
    /// default: a failure drops that database, so nothing half-restored remains. Into an
    /// existing one, a single transaction, so a failure leaves it as it was.
    fn pg_restore_command(
        &self,
        archive: &Archive,
        dest: &Destination<'_>,
        opts: &RestoreOptions,
        shared: Vec<String>,
    ) -> Result<RestoreCommand> {
        let pg_restore = self.pg_restore_for(&archive.manifest, dest.server_major)?;
        let mut cc = crate::libpq_env::client_command(&pg_restore.path("pg_restore"), dest.draft, dest.password)?;
        // A conninfo with only dbname (quoted, so a name with '=' stays a name); the rest of
        // the connection comes from the environment.
        cc.command.args(["--verbose", "--exit-on-error"]).arg(crate::libpq_env::dbname_arg(&dest.draft.database));
        // pg_restore runs jobs only from custom and directory archives.
        let parallel = matches!(archive.manifest.options.format, DumpFormat::Custom | DumpFormat::Directory);
        let jobs = opts.jobs.unwrap_or(if dest.fresh && parallel { super::dump_args::default_jobs() } else { 1 });
        if jobs > 1 && !parallel {
            return Err(Error::invalid_input(
                "--jobs needs a custom or directory backup; pg_restore reads tar archives with one job",
                "Leave out --jobs for this backup.",
            ));
        }
        let mut statistics_after = None;
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
        Ok(RestoreCommand { cc, tool: "pg_restore", shared, statistics_after })
    }
}

fn shared_args(opts: &RestoreOptions, selection: Option<&Selection>, scratch: &Path) -> Result<Vec<String>> {
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
        let list = scratch.join("restore.list");
        std::fs::write(&list, sel.list_file()).map_err(|e| Error::io("writing the restore list", e))?;
        shared.push(format!("--use-list={}", list.display()));
    }
    Ok(shared)
}
