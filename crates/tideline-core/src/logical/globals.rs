//! Restoring pg_dumpall scripts. Roles and tablespaces (globals) go first, into the server as a
//! whole; a role that already exists is reported, not fatal (pg_dumpall's scripts expect that).
//! A whole-cluster script creates its databases itself, so it is refused when any of them exists.

use super::archive::Archive;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use tokio_postgres::Client;

/// The databases a pg_dumpall script creates (`CREATE DATABASE name WITH …`).
pub fn created_databases(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| l.strip_prefix("CREATE DATABASE "))
        .filter_map(|rest| {
            if let Some(q) = rest.strip_prefix('"') {
                // "na""me" → na"me
                let mut name = String::new();
                let mut chars = q.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            name.push('"');
                        } else {
                            break;
                        }
                    } else {
                        name.push(c);
                    }
                }
                Some(name)
            } else {
                rest.split([' ', ';']).next().map(str::to_string)
            }
        })
        .collect()
}

impl Engine {
    /// Runs a pg_dumpall script against the profile's server; returns the tolerated errors.
    pub(crate) async fn restore_script(
        &self,
        archive: &Archive,
        server_major: u32,
        admin: &Client,
        draft: &ProfileDraft,
        password: Option<&Secret>,
    ) -> Result<Vec<String>> {
        let script =
            std::fs::read_to_string(archive.artifact()).map_err(|e| Error::io("reading the pg_dumpall script", e))?;
        if archive.manifest.kind == crate::repo::manifest::BackupKind::Dumpall {
            for db in created_databases(&script) {
                let n: i64 = admin
                    .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&db])
                    .await
                    .map_err(crate::pg::server::query_failed("looking for databases"))?
                    .get(0);
                if n > 0 && db != "postgres" && db != "template1" {
                    return Err(Error::new(
                        ErrorCode::TargetNotEmpty,
                        format!("database '{db}' already exists on {}; a whole-cluster restore creates it", draft.host),
                        "Restore a whole cluster into an empty server, or restore single databases with `tideline restore ID --to-db NAME`.",
                    ));
                }
            }
        }
        // pg_dumpall's script re-creates every role, including the one this restore connects
        // as: its ALTER ROLE would replace that role's password with the source server's and
        // lock the user out. Keep the connecting role as it is.
        let me: String = admin
            .query_one("SELECT current_user::text", &[])
            .await
            .map_err(crate::pg::server::query_failed("reading the current user"))?
            .get(0);
        let (mut script, kept) = without_role(&script, &me);
        if super::older_servers::needs_filter(server_major) {
            script = super::older_servers::without_newer_settings(&script, server_major);
        }
        let scratch = tempfile::Builder::new()
            .prefix("tideline-globals-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory", e))?;
        let path = scratch.path().join("cluster.sql");
        std::fs::write(&path, script).map_err(|e| Error::io("writing the restore script", e))?;
        let psql = self.client_tool_for(&archive.manifest, server_major, "psql")?;
        let mut cc = crate::libpq_env::client_command(&psql.path("psql"), draft, password)?;
        cc.command.args(["-X", "-q", "-f"]).arg(&path);
        // Each database's indexes and constraints follow its rows, as in pg_restore (lock_waits.rs).
        if let Some(options) = super::lock_waits::restore_session_options(admin, draft, password, server_major).await {
            cc.command.env("PGOPTIONS", options);
        }
        cc.command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let out = self
            .runner()
            .spawn(std::mem::replace(&mut cc.command, std::process::Command::new("true")))
            .map_err(|e| Error::io("running psql", e))?
            .wait_with_output()
            .await
            .map_err(|e| Error::io("running psql", e))?;
        drop(cc);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<String> = stderr.lines().filter(|l| l.contains("ERROR:")).map(str::to_string).collect();
        let fatal: Vec<&String> = errors.iter().filter(|e| !e.contains("already exists")).collect();
        if !fatal.is_empty() || !out.status.success() {
            return Err(Error::new(
                ErrorCode::RestoreFailed,
                format!(
                    "the pg_dumpall script failed: {}",
                    fatal.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
                ),
                "Read psql's errors above; roles that already exist are not errors.",
            ));
        }
        let mut warnings = errors;
        if kept {
            warnings.push(format!("role {me}, which this restore connects as, kept its own password and attributes"));
        }
        Ok(warnings)
    }
}

/// The script without `CREATE ROLE me;` / `ALTER ROLE me WITH …;`, and whether any was there.
fn without_role(script: &str, role: &str) -> (String, bool) {
    let names = [role.to_string(), crate::pg::table_names::quote_ident(role)];
    let is_mine = |l: &str| {
        names.iter().any(|n| l == format!("CREATE ROLE {n};") || l.starts_with(&format!("ALTER ROLE {n} WITH ")))
    };
    let kept = script.lines().any(is_mine);
    (script.lines().filter(|l| !is_mine(l)).map(|l| format!("{l}\n")).collect(), kept)
}

#[cfg(test)]
mod tests {
    #[test]
    fn leaves_the_connecting_role_alone() {
        let script = "CREATE ROLE postgres;\nALTER ROLE postgres WITH SUPERUSER PASSWORD 'x';\nCREATE ROLE app;\nALTER ROLE app WITH LOGIN;\n";
        let (kept, found) = super::without_role(script, "postgres");
        assert!(found);
        assert_eq!(kept, "CREATE ROLE app;\nALTER ROLE app WITH LOGIN;\n");
    }

    #[test]
    fn finds_created_databases() {
        let script = "CREATE DATABASE shop WITH TEMPLATE = template0;\nCREATE DATABASE \"Odd \"\"name\"\"\" WITH TEMPLATE = template0;\n";
        assert_eq!(super::created_databases(script), vec!["shop".to_string(), "Odd \"name\"".to_string()]);
    }
}
