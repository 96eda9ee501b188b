//! `manifest.json`: what a backup is, in the repository, readable without Tideline.

use super::checksum::FileEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::options::DumpOptions;
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

/// 1: file checksums in SHA-256; 2: in BLAKE3.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableCount {
    pub schema: String,
    pub table: String,
    #[ts(type = "number")]
    pub rows: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RowCountStatus {
    Counted,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RowCounts {
    pub status: RowCountStatus,
    /// Why counts were skipped (too large, --no-row-counts, schema-only).
    pub reason: Option<String>,
    /// Counted in the snapshot pg_dump used: leaf tables with their own rows.
    pub tables: Vec<TableCount>,
}

/// What a base backup adds to its manifest: where in WAL it starts and becomes consistent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PhysicalInfo {
    /// The cluster's `system_identifier` (a string: it does not fit a JavaScript number).
    pub system_identifier: String,
    pub timeline: u32,
    /// Where replay starts (the backup's checkpoint redo point), `X/Y`.
    pub start_lsn: String,
    /// The consistency point: the earliest moment this backup can be recovered to.
    pub stop_lsn: String,
    pub format: crate::repo::options::BaseFormat,
    pub compression: Option<String>,
    /// `verified` (pg_verifybackup passed), or why it was not run.
    pub pg_verifybackup: String,
    /// The base backup this incremental one builds on (its chain ends at a full backup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub incremental_of: Option<String>,
    /// Whether the cluster has data page checksums (initdb's default from 18): pg_basebackup
    /// then checked every page it copied, and a backup with a failure is not kept. Absent in
    /// manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub data_checksums: Option<bool>,
}

/// What a backup is, as manifests and the catalog name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BackupKind {
    /// pg_dump of one database.
    Logical,
    /// pg_dumpall of a whole cluster.
    Dumpall,
    /// pg_dumpall --globals-only: roles and tablespaces.
    Globals,
    /// pg_dumpall --roles-only.
    Roles,
    /// pg_basebackup of a cluster.
    Base,
}

/// Where a backup is in its life. Only `complete` ones restore; a `committing` one is being
/// renamed into place (or was, when a run was killed), a `deleting` one is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BackupStatus {
    Complete,
    Committing,
    Deleting,
}

crate::named_enum!(BackupKind { Logical => "logical", Dumpall => "dumpall", Globals => "globals", Roles => "roles", Base => "base" });
crate::named_enum!(BackupStatus { Complete => "complete", Committing => "committing", Deleting => "deleting" });

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub kind: BackupKind,
    pub profile: String,
    /// The profile's id (it survives a rename); absent in manifests written before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub profile_id: Option<String>,
    pub database: String,
    pub server_version: String,
    pub server_major: u32,
    /// The version of the tool that wrote it (pg_dump 17.10).
    pub tool_version: String,
    pub tool_major: u32,
    /// Which binary ran and why: the server's own major, or the closest newer where this
    /// machine has none. Absent in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tool_choice: Option<String>,
    pub options: DumpOptions,
    /// The dump itself, relative to the backup directory (a file, or a directory for -Fd).
    pub artifact: String,
    /// The command line that ran, without secrets (those reached it through a passfile).
    pub command: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
    #[ts(type = "number")]
    pub size_bytes: u64,
    pub files: Vec<FileEntry>,
    pub row_counts: RowCounts,
    /// The source database's size when it was dumped (what a restore will need on disk).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub database_size_bytes: Option<u64>,
    /// Base backups only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub physical: Option<PhysicalInfo>,
    pub status: BackupStatus,
}

/// One path component, no more: `..`, `.`, separators and NUL are not.
fn plain_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// A relative path of plain components (`.` allowed), none of them `..`.
fn inside_backup(p: &str) -> bool {
    use std::path::Component;
    !p.is_empty()
        && !p.contains('\0')
        && Path::new(p).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(super::MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                ErrorCode::ManifestInvalid,
                format!("{} cannot be read: {e}", path.display()),
                "The backup's manifest is damaged; the backup cannot be trusted.",
            )
        })?;
        if manifest.format_version > FORMAT_VERSION {
            return Err(Error::new(
                ErrorCode::ManifestInvalid,
                format!(
                    "{} has format version {}, newer than this Tideline reads ({FORMAT_VERSION})",
                    path.display(),
                    manifest.format_version
                ),
                "Upgrade Tideline to read this repository.",
            ));
        }
        manifest.check_names().map_err(|what| {
            Error::new(
                ErrorCode::ManifestInvalid,
                format!("{} names {what}", path.display()),
                "A manifest only names files inside its own backup; this one was not written by Tideline. Nothing was read through it.",
            )
        })?;
        Ok(manifest)
    }

    /// Ids and file names read from a repository become paths: each id a single plain name,
    /// each file a relative path that stays inside the backup (no `..`, nothing absolute).
    fn check_names(&self) -> std::result::Result<(), String> {
        let mut ids = vec![self.id.as_str()];
        ids.extend(self.physical.as_ref().and_then(|p| p.incremental_of.as_deref()));
        if let Some(bad) = ids.into_iter().find(|id| !plain_name(id)) {
            return Err(format!("an id that is not a plain name ({bad:?})"));
        }
        match self.files.iter().find(|f| !inside_backup(&f.path)) {
            Some(f) => Err(format!("a file outside the backup ({:?})", f.path)),
            None => Ok(()),
        }
    }

    /// Written and fsynced; the caller renames the directory afterwards.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(super::MANIFEST);
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::internal(e.to_string()))?;
        let mut file = std::fs::File::create(&path).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        std::io::Write::write_all(&mut file, &json).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        file.sync_all().map_err(|e| Error::io(format!("fsync {}", path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_and_paths_inside_the_backup_pass() {
        for id in ["20260301T010000Z-abc", "sb-1234"] {
            assert!(plain_name(id), "{id}");
        }
        for id in ["", ".", "..", "../etc", "a/b", "a\\b"] {
            assert!(!plain_name(id), "{id:?}");
        }
        for p in ["data/toc.dat", "dump.custom", "data/base.tar.zst"] {
            assert!(inside_backup(p), "{p}");
        }
        for p in ["", "../../etc/shadow", "/etc/shadow", "data/../../x", "./x/../../y"] {
            assert!(!inside_backup(p), "{p:?}");
        }
    }
}
