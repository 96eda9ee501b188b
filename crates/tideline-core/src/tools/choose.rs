//! Choosing binaries for a server: client tools of a major ≥ the server's (the same major
//! when there is one, else the closest newer), server binaries of exactly its major.

use super::{discover, fingerprint, Installation, ToolInventory};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use std::path::PathBuf;

const TOOL_DIRS_SETTING: &str = "tool_dirs";
const INVENTORY_SETTING: &str = "tool_inventory";

fn install_hint(major: u32) -> String {
    format!(
        "Install PostgreSQL {major}'s client tools (or newer): on Debian/Ubuntu `apt install postgresql-client-{major}` (from the PGDG repository, apt.postgresql.org, where the release lacks it); on Fedora/RHEL `dnf install postgresql{major}` from PGDG; on macOS `brew install libpq` or Postgres.app; on Windows the EDB installer. If it is installed somewhere unusual, run `tideline tools --add-dir /path/to/bin`."
    )
}

/// A sandbox or test restore runs the server of exactly the backup's major.
fn server_install_hint(major: u32) -> String {
    format!(
        "Sandboxes run the source's own major, so PostgreSQL {major}'s server is needed: on Debian/Ubuntu `apt install postgresql-{major}` (from the PGDG repository, apt.postgresql.org, where the release lacks it); on Fedora/RHEL `dnf install postgresql{major}-server` from PGDG; on macOS `brew install postgresql@{major}` or Postgres.app (which carries several majors); on Windows the EDB installer. If it is installed somewhere unusual, run `tideline tools --add-dir /path/to/bin`."
    )
}

/// Why `chosen` runs against a server of `server_major`, in words the manifest, the CLI and
/// the app show: the server's own major where there is one, else the closest newer (a client
/// reads older servers; an older client cannot read a newer server).
pub fn choice_reason(tool: &str, chosen: &Installation, server_major: u32) -> String {
    if chosen.major == server_major {
        format!("{tool} {} from {}: the server's own major", chosen.version, chosen.dir)
    } else {
        format!(
            "{tool} {} from {}: no {tool} {server_major} here, so the closest newer major (newer clients read older servers)",
            chosen.version, chosen.dir
        )
    }
}

/// [`choice_reason`] for a restore, whose tool must also read what pg_dump `archive_major` wrote
/// (see [`ToolInventory::restorer_for`]).
pub fn choice_reason_for_archive(tool: &str, chosen: &Installation, server_major: u32, archive_major: u32) -> String {
    if archive_major > server_major && chosen.major >= archive_major {
        format!(
            "{tool} {} from {}: the backup was written by pg_dump {archive_major}, which only its own major or newer reads",
            chosen.version, chosen.dir
        )
    } else if chosen.major < server_major {
        format!(
            "{tool} {} from {}: the newest here that reads this backup (a newer server runs what it sends)",
            chosen.version, chosen.dir
        )
    } else {
        choice_reason(tool, chosen, server_major)
    }
}

impl ToolInventory {
    pub fn client_for(&self, server_major: u32, tool: &str) -> Result<&Installation> {
        self.installations
            .iter()
            .filter(|i| i.has(tool) && i.major >= server_major)
            .min_by_key(|i| i.major)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ToolMissing,
                    format!(
                        "{tool} of PostgreSQL {server_major} or newer is needed for a PostgreSQL {server_major} server; found {}",
                        self.majors_with(tool)
                    ),
                    install_hint(server_major),
                )
            })
    }

    /// pg_restore (or psql) for a backup pg_dump `archive_major` wrote, compressed with
    /// `compression`: at least that major (an older one cannot read the archive), built with that
    /// compression (a build without zstd cannot read a zstd archive). Of those, the server's own
    /// major or the closest newer; else the newest older one — pg_restore only sends the
    /// archive's SQL, which a newer server runs.
    pub fn restorer_for(
        &self,
        archive_major: u32,
        server_major: u32,
        tool: &str,
        compression: Option<&str>,
    ) -> Result<&Installation> {
        let readers: Vec<&Installation> =
            self.installations.iter().filter(|i| i.has(tool) && i.major >= archive_major).collect();
        let able = readers
            .iter()
            .copied()
            .filter(|i| compression.is_none_or(|m| i.capabilities.dump_compression.iter().any(|c| c == m)));
        if let Some(best) = able.min_by_key(|i| (i.major < server_major, i.major.abs_diff(server_major))) {
            return Ok(best);
        }
        match (compression, readers.is_empty()) {
            (Some(method), false) => Err(Error::new(
                ErrorCode::ToolMissing,
                format!(
                    "this backup is compressed with {method}, and no {tool} of PostgreSQL {archive_major} or newer here is built with it (found {})",
                    readers.iter().map(|i| format!("{} in {}", i.version, i.dir)).collect::<Vec<_>>().join(", ")
                ),
                format!("Install a PostgreSQL {archive_major} or newer build with {method} support (the PGDG and Homebrew packages have it). {}", install_hint(archive_major)),
            )),
            _ => self.client_for(archive_major, tool),
        }
    }

    pub fn server_for(&self, major: u32, tool: &str) -> Result<&Installation> {
        self.installations.iter().find(|i| i.has(tool) && i.major == major).ok_or_else(|| {
            Error::new(
                ErrorCode::ToolMissing,
                format!("{tool} of PostgreSQL {major} exactly is needed; found {}", self.majors_with(tool)),
                server_install_hint(major),
            )
        })
    }

    fn majors_with(&self, tool: &str) -> String {
        let majors: Vec<String> =
            self.installations.iter().filter(|i| i.has(tool)).map(|i| i.major.to_string()).collect();
        if majors.is_empty() {
            "none".into()
        } else {
            format!("PostgreSQL {}", majors.join(", "))
        }
    }
}

fn stored_tool_dirs(catalog: &crate::catalog::Catalog) -> Result<Vec<PathBuf>> {
    Ok(match catalog.setting(TOOL_DIRS_SETTING)? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => Vec::new(),
    })
}

fn store_tool_dirs(catalog: &crate::catalog::Catalog, dirs: &[PathBuf]) -> Result<()> {
    let json = serde_json::to_string(dirs).map_err(|e| Error::internal(e.to_string()))?;
    catalog.set_setting(TOOL_DIRS_SETTING, &json)
}

impl Engine {
    /// Directories the user added, then `TIDELINE_PG_PATHS` (path-list syntax).
    pub fn configured_tool_dirs(&self) -> Result<Vec<PathBuf>> {
        let mut dirs = stored_tool_dirs(&self.catalog())?;
        if let Some(extra) = std::env::var_os("TIDELINE_PG_PATHS") {
            dirs.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
        }
        Ok(dirs)
    }

    /// The directories the user added (not `TIDELINE_PG_PATHS`, which is the environment's).
    pub fn added_tool_dirs(&self) -> Result<Vec<PathBuf>> {
        stored_tool_dirs(&self.catalog())
    }

    /// Stops looking in `dir`; the next look-up no longer finds what only it held.
    pub fn remove_tool_dir(&self, dir: &std::path::Path) -> Result<()> {
        let catalog = self.catalog();
        let mut dirs = stored_tool_dirs(&catalog)?;
        dirs.retain(|d| d != dir);
        store_tool_dirs(&catalog, &dirs)
    }

    pub fn add_tool_dir(&self, dir: &std::path::Path) -> Result<()> {
        if !dir.is_dir() {
            return Err(Error::invalid_input(
                format!("{} is not a directory", dir.display()),
                "Give the bin directory that holds pg_dump, psql and friends.",
            ));
        }
        let catalog = self.catalog();
        let mut dirs = stored_tool_dirs(&catalog)?;
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_path_buf());
        }
        store_tool_dirs(&catalog, &dirs)
    }

    /// The binaries found. Probing spawns a few processes per binary, so the result is kept in
    /// memory and in the catalog, and reused while no binary has changed (same paths, sizes and
    /// mtimes); `refresh_tools` probes again.
    pub fn tools(&self) -> Result<ToolInventory> {
        if let Some(cached) = self.tools_cache.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(cached);
        }
        let dirs = self.configured_tool_dirs()?;
        let print = fingerprint(&dirs);
        let stored: Option<(String, ToolInventory)> =
            self.catalog().setting(INVENTORY_SETTING)?.and_then(|json| serde_json::from_str(&json).ok());
        if let Some((p, mut inventory)) = stored {
            if p == print {
                // Known problems are ours to know, not the binaries': read afresh each time.
                for i in &mut inventory.installations {
                    i.advisories = super::advisories_for(i.major, &i.version, &i.tools);
                }
                *self.tools_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(inventory.clone());
                return Ok(inventory);
            }
        }
        self.refresh_tools()
    }

    pub fn refresh_tools(&self) -> Result<ToolInventory> {
        let dirs = self.configured_tool_dirs()?;
        let print = fingerprint(&dirs);
        let inventory = discover(&dirs, self.runner());
        let json = serde_json::to_string(&(print, &inventory)).map_err(|e| Error::internal(e.to_string()))?;
        self.catalog().set_setting(INVENTORY_SETTING, &json)?;
        *self.tools_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(inventory.clone());
        Ok(inventory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(major: u32, tools: &[&str]) -> Installation {
        Installation {
            advisories: vec![],
            major,
            version: format!("{major}.1"),
            dir: format!("/pg/{major}"),
            source: "configured".into(),
            tools: tools.iter().map(|t| t.to_string()).collect(),
            capabilities: Default::default(),
        }
    }

    #[test]
    fn a_restore_takes_a_build_that_reads_the_archive_even_older_than_the_server() {
        let mut zstd17 = inst(17, &["pg_restore"]);
        zstd17.capabilities.dump_compression = vec!["gzip".into(), "zstd".into()];
        let mut gzip18 = inst(18, &["pg_restore"]);
        gzip18.capabilities.dump_compression = vec!["gzip".into()];
        let mut gzip15 = inst(15, &["pg_restore"]);
        gzip15.capabilities.dump_compression = vec!["gzip".into()];
        let inv = ToolInventory { installations: vec![gzip18, zstd17, gzip15] };
        // A zstd archive of pg_dump 17 into an 18 server: only 17 reads it.
        assert_eq!(inv.restorer_for(17, 18, "pg_restore", Some("zstd")).unwrap().major, 17);
        // gzip: 18 is the server's own major.
        assert_eq!(inv.restorer_for(17, 18, "pg_restore", Some("gzip")).unwrap().major, 18);
        // Into a 16 server: the closest newer that reads it.
        assert_eq!(inv.restorer_for(15, 16, "pg_restore", None).unwrap().major, 17);
        assert_eq!(inv.restorer_for(15, 13, "pg_restore", None).unwrap().major, 15);
        // lz4 nowhere: a coded error saying so.
        let e = inv.restorer_for(17, 18, "pg_restore", Some("lz4")).unwrap_err();
        assert_eq!(e.code, ErrorCode::ToolMissing);
        assert!(e.message.contains("compressed with lz4"), "{}", e.message);
        assert_eq!(inv.restorer_for(19, 18, "pg_restore", None).unwrap_err().code, ErrorCode::ToolMissing);
    }

    #[test]
    fn prefers_the_same_major_then_the_closest_newer() {
        let inv = ToolInventory {
            installations: vec![inst(18, &["pg_dump"]), inst(17, &["pg_dump"]), inst(15, &["pg_dump", "postgres"])],
        };
        assert_eq!(inv.client_for(15, "pg_dump").unwrap().major, 15);
        assert_eq!(inv.client_for(16, "pg_dump").unwrap().major, 17);
        assert_eq!(inv.server_for(15, "postgres").unwrap().major, 15);
        let e = inv.client_for(19, "pg_dump").unwrap_err();
        assert_eq!(e.code, ErrorCode::ToolMissing);
        assert!(e.message.contains("PostgreSQL 19"), "{}", e.message);
        assert!(e.hint.contains("postgresql-client-19"), "{}", e.hint);
        let e = inv.server_for(17, "postgres").unwrap_err();
        assert!(e.message.contains("found PostgreSQL 15"), "{}", e.message);
        // A sandbox needs the server itself: the hint names it for each platform.
        for needle in [
            "apt install postgresql-17",
            "apt.postgresql.org",
            "postgresql17-server",
            "brew install postgresql@17",
            "Postgres.app",
            "EDB",
        ] {
            assert!(e.hint.contains(needle), "{needle} in {}", e.hint);
        }
        // Which tool ran, and why.
        let own = inv.client_for(15, "pg_dump").unwrap();
        assert_eq!(choice_reason("pg_dump", own, 15), "pg_dump 15.1 from /pg/15: the server's own major");
        let newer = inv.client_for(16, "pg_dump").unwrap();
        assert!(choice_reason("pg_dump", newer, 16).contains("no pg_dump 16 here, so the closest newer major"));
    }
}
