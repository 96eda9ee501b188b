//! Checks a restore makes before it writes anything: the sections and owner options, roles
//! that own objects in the archive, extensions the target cannot install, and room on a local
//! server's disk. Each failure is a coded error with a hint.

use super::archive::Archive;
use super::restore::RestoreOptions;
use super::toc::Selection;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::server::query_failed;
use tokio_postgres::Client;

/// On a server on this machine whose data directory we can see, the restored database must fit
/// in its free space (the source database's size, from the manifest). Remote servers' disks
/// cannot be seen from here.
pub(crate) async fn check_target_space(
    admin: &Client,
    server: &crate::profile::ProfileDraft,
    archive: &Archive,
) -> Result<()> {
    let local = server.is_unix_socket() || ["127.0.0.1", "localhost", "::1"].contains(&server.host.as_str());
    let Some(needed) = archive.manifest.database_size_bytes.filter(|_| local) else { return Ok(()) };
    // data_directory is readable by superusers and pg_read_all_settings members only.
    let Ok(row) = admin.query_one("SELECT current_setting('data_directory')", &[]).await else { return Ok(()) };
    let data_dir: String = row.get(0);
    match crate::repo::free_bytes(std::path::Path::new(&data_dir)) {
        Some(free) if free < needed => Err(Error::new(
            ErrorCode::InsufficientSpace,
            format!("the server's data directory {data_dir} has {free} bytes free; the restored database needs about {needed}"),
            "Free space on the server's disk, or restore onto another server; nothing was written.",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn role_map(opts: &RestoreOptions) -> Result<Vec<(String, String)>> {
    opts.map_roles.iter().map(|m| super::role_map::parse(m)).collect()
}

const SECTIONS: &[&str] = &["pre-data", "data", "post-data"];

pub(crate) fn check_sections(archive: &Archive, opts: &RestoreOptions) -> Result<()> {
    if let Some(bad) = opts.sections.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
        return Err(Error::invalid_input(
            format!("'{bad}' is not a section"),
            "Sections are pre-data, data and post-data.",
        ));
    }
    if archive.is_plain() && (!opts.sections.is_empty() || opts.owner.is_some()) {
        return Err(Error::invalid_input(
            "a plain SQL backup restores whole, with the owners it names",
            "Back up in the directory or custom format to restore by section or as another owner.",
        ));
    }
    if !opts.map_roles.is_empty() && (opts.no_owner || opts.owner.is_some() || archive.is_plain()) {
        return Err(Error::invalid_input(
            "--map-role works on the owners an archive keeps; it cannot be combined with --no-owner or --owner, or used on plain SQL",
            "Choose one way to set owners.",
        ));
    }
    for spec in &opts.map_roles {
        super::role_map::parse(spec)?;
    }
    if opts.clean && opts.owner.is_some() {
        return Err(Error::invalid_input(
            "--owner cannot be combined with --clean",
            "Restore into a new database with --owner.",
        ));
    }
    Ok(())
}

impl Engine {
    /// Extensions the archive creates must be installable on the target server.
    pub(crate) async fn check_extensions(
        &self,
        admin: &Client,
        archive: &Archive,
        server_major: u32,
        selection: &Option<Selection>,
    ) -> Result<()> {
        let wanted: Vec<String> = match selection {
            Some(sel) => sel.entries.iter().filter(|e| e.kind == "EXTENSION").map(|e| e.name.clone()).collect(),
            None if archive.is_plain() => {
                let text = std::fs::read_to_string(archive.artifact()).map_err(|e| Error::io("reading the dump", e))?;
                text.lines()
                    .filter_map(|l| l.strip_prefix("CREATE EXTENSION IF NOT EXISTS "))
                    .filter_map(|l| l.split_whitespace().next())
                    .map(|n| n.trim_matches('"').to_string())
                    .collect()
            }
            None => {
                let pg_restore = self.pg_restore_for(&archive.manifest, server_major)?;
                archive.toc(&pg_restore)?.into_iter().filter(|e| e.kind == "EXTENSION").map(|e| e.name).collect()
            }
        };
        let mut missing = Vec::new();
        for ext in wanted {
            let n: i64 = admin
                .query_one("SELECT count(*) FROM pg_available_extensions WHERE name = $1", &[&ext])
                .await
                .map_err(query_failed("reading available extensions"))?
                .get(0);
            if n == 0 {
                missing.push(ext);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::new(
            ErrorCode::ExtensionMissing,
            format!("the backup needs extensions this server cannot install: {}", missing.join(", ")),
            format!(
                "Install them on the target server (the package providing {} for PostgreSQL {server_major}), then restore again; nothing was written.",
                missing.join(", ")
            ),
        ))
    }

    /// Roles that own objects in what is restored and do not exist on the target server.
    pub(crate) async fn missing_owners(
        &self,
        admin: &Client,
        archive: &Archive,
        server_major: u32,
        selection: &Option<Selection>,
        map: &[(String, String)],
    ) -> Result<Vec<String>> {
        let mut owners: Vec<String> = match selection {
            Some(sel) => sel.entries.iter().map(|e| e.owner.clone()).collect(),
            None if archive.is_plain() => {
                let text = std::fs::read_to_string(archive.artifact()).map_err(|e| Error::io("reading the dump", e))?;
                text.lines()
                    .filter_map(|l| {
                        l.rsplit_once(" OWNER TO ").map(|(_, o)| o.trim_end_matches(';').trim_matches('"').to_string())
                    })
                    .collect()
            }
            None => {
                let pg_restore = self.pg_restore_for(&archive.manifest, server_major)?;
                archive.toc(&pg_restore)?.into_iter().map(|e| e.owner).collect()
            }
        };
        owners.retain(|o| !o.is_empty());
        // A mapped role need not exist; the role it maps to must.
        owners = owners
            .into_iter()
            .map(|o| map.iter().find(|(old, _)| *old == o).map(|(_, new)| new.clone()).unwrap_or(o))
            .collect();
        owners.sort();
        owners.dedup();
        let mut missing = Vec::new();
        for o in owners {
            let n: i64 = admin
                .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&o])
                .await
                .map_err(query_failed("reading roles"))?
                .get(0);
            if n == 0 {
                missing.push(o);
            }
        }
        Ok(missing)
    }
}
