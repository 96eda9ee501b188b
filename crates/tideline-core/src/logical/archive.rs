//! Reading a stored backup: where its dump is, and its table of contents.

use super::toc::{self, TocEntry};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::manifest::Manifest;
use crate::repo::options::DumpFormat;
use crate::tools::Installation;
use std::path::PathBuf;

pub struct Archive {
    pub id: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// The profile the backup belongs to, by its name now (the manifest keeps the name it was
    /// made under; a renamed profile keeps its backups).
    pub owner: String,
    /// Read once: a restore consults the TOC for its selection, owners and extensions.
    toc_cache: std::sync::OnceLock<Vec<TocEntry>>,
    runner: std::sync::Arc<dyn crate::process::Runner>,
}

impl Archive {
    pub fn artifact(&self) -> PathBuf {
        self.dir.join(&self.manifest.artifact)
    }

    /// What differs from the manifest: each file missing, of another size, or whose checksum
    /// does not match, in words naming the file. Empty when the backup is whole.
    pub fn damaged_files(&self) -> Vec<String> {
        crate::repo::checksum::damaged(&self.dir, &self.manifest.files)
    }

    /// The engine's runner, for the tools that read this archive.
    pub(crate) fn runner(&self) -> &dyn crate::process::Runner {
        self.runner.as_ref()
    }

    pub fn is_plain(&self) -> bool {
        self.manifest.options.format == DumpFormat::Plain
    }

    /// The schemas the manifest names: its counted tables' and the selection's (`--table s.t`,
    /// `--schema s`). The TOC of a table selection has no SCHEMA entry to tell them apart by.
    fn schemas_named_in_manifest(&self) -> Vec<String> {
        let options = &self.manifest.options;
        let counted = self.manifest.row_counts.tables.iter().map(|t| t.schema.clone());
        let selected = options.tables.iter().filter_map(|t| crate::pg::table_names::parse_table(t).ok()?.schema);
        let mut schemas: Vec<String> = counted.chain(selected).chain(options.schemas.iter().cloned()).collect();
        schemas.sort();
        schemas.dedup();
        schemas
    }

    /// `pg_restore -l -v`: the entries and their dependencies.
    pub fn toc(&self, pg_restore: &Installation) -> Result<Vec<TocEntry>> {
        if let Some(entries) = self.toc_cache.get() {
            return Ok(entries.clone());
        }
        if self.is_plain() {
            return Err(Error::invalid_input(
                "a plain SQL backup has no table of contents",
                "Plain dumps restore whole with psql; back up in the directory or custom format to pick objects.",
            ));
        }
        let mut list = std::process::Command::new(pg_restore.path("pg_restore"));
        list.arg("--list").arg("--verbose").arg(self.artifact());
        let out = self.runner.output(&mut list).map_err(|e| Error::io("running pg_restore --list", e))?;
        if !out.status.success() {
            return Err(Error::new(
                ErrorCode::VerifyFailed,
                format!(
                    "pg_restore cannot read {}: {}",
                    self.artifact().display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "The archive is damaged or was written by a newer pg_dump; `tideline verify` checks it.",
            ));
        }
        let entries = toc::parse(&String::from_utf8_lossy(&out.stdout), &self.schemas_named_in_manifest());
        let _ = self.toc_cache.set(entries.clone());
        Ok(entries)
    }
}

impl Engine {
    pub fn archive(&self, id: &str) -> Result<Archive> {
        let record = self.backup_record(id)?;
        let manifest = self.backup_manifest(id)?;
        let dir = PathBuf::from(&record.path);
        if dir.join(crate::repo::MANIFEST).exists() {
            self.bring_backup_home(&record)?;
        } else {
            return Err(Error::new(
                ErrorCode::BackupMissing,
                format!("backup {id} is in the catalog but its directory {} is gone", dir.display()),
                "Run `tideline repo rescan` to bring the catalog in line with the repository.",
            ));
        }
        Ok(Archive {
            id: id.to_string(),
            dir,
            manifest,
            owner: record.profile,
            toc_cache: Default::default(),
            runner: self.shared_runner(),
        })
    }

    /// pg_restore able to read the backup `manifest` describes, for a `server_major` server.
    pub fn pg_restore_for(&self, manifest: &Manifest, server_major: u32) -> Result<Installation> {
        self.client_tool_for(manifest, server_major, "pg_restore")
    }

    /// pg_restore or psql for a backup: see [`crate::tools::ToolInventory::restorer_for`].
    pub fn client_tool_for(&self, manifest: &Manifest, server_major: u32, tool: &str) -> Result<Installation> {
        // psql runs scripts, which no build decompresses.
        let method = if tool == "pg_restore" { compression_method(manifest) } else { None };
        Ok(self.tools()?.restorer_for(manifest.tool_major, server_major, tool, method.as_deref())?.clone())
    }
}

/// The compression a pg_restore must be built with to read the backup: `zstd:1` → zstd; pg_dump
/// before 16 wrote a bare level (gzip, 0 for none). None when nothing is compressed.
pub fn compression_method(manifest: &Manifest) -> Option<String> {
    let spec = manifest.options.compress.as_deref()?;
    let method = spec.split(':').next().unwrap_or(spec);
    match method {
        "none" | "0" | "" => None,
        m if m.bytes().all(|b| b.is_ascii_digit()) => Some("gzip".into()),
        m => Some(m.to_string()),
    }
}
