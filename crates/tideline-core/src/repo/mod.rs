//! The repository: a directory that is the source of truth and describes itself (brief §3).
//!
//!   <repo>/logical/<profile>/<database>/<backup-id>/   manifest.json + the dump
//!   <repo>/clusters/<system_identifier>/base/<backup-id>/   manifest.json + pg_basebackup's output
//!   <repo>/clusters/<system_identifier>/wal/            archived WAL (crate::wal)
//!
//! A backup is built in `.tmp-<id>` beside its final name. Safety ordering: every file is
//! fsynced, then manifest.json is written and fsynced, then the directory is fsynced, and only
//! then renamed to `<id>` (and the parent fsynced). A killed run therefore leaves at most a
//! `.tmp-*` directory, which nothing reads as a backup and the next run of that database removes.

pub mod checksum;
pub mod early_hash;
pub mod manifest;

use crate::error::{Error, Result};
use manifest::Manifest;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Characters a profile or database name may hold that a path component may not; '@' too, so
/// that `@cluster` (pg_dumpall backups) can never be a database's directory.
const PATH_UNSAFE: &AsciiSet = &CONTROLS
    .add(b'/')
    .add(b'\\')
    .add(b':')
    .add(b'%')
    .add(b'*')
    .add(b'?')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'|')
    .add(b'@');

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
}

fn component(name: &str) -> String {
    let encoded = utf8_percent_encode(name, PATH_UNSAFE).to_string();
    // A leading dot would hide the directory and could read as `..`.
    match encoded.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => encoded,
    }
}

impl Repository {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Repository { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn logical_dir(&self, profile: &str, database: &str) -> PathBuf {
        self.root.join("logical").join(component(profile)).join(component(database))
    }

    /// pg_dumpall backups of a profile's whole cluster.
    pub fn cluster_dir(&self, profile: &str) -> PathBuf {
        self.root.join("logical").join(component(profile)).join(crate::logical::dumpall::CLUSTER_DIR)
    }

    /// Base backups of the cluster with this system identifier.
    pub fn base_dir(&self, system_identifier: &str) -> PathBuf {
        self.root.join("clusters").join(component(system_identifier)).join("base")
    }

    /// Starts a backup: a fresh private temporary directory beside the final one. Leftovers of
    /// killed runs for the same database are removed first.
    pub fn stage(&self, final_path: PathBuf) -> Result<Staging> {
        let parent = final_path.parent().ok_or_else(|| Error::internal("a backup path has no parent"))?.to_path_buf();
        crate::home::ensure_private_dir(&parent)?;
        for entry in
            std::fs::read_dir(&parent).map_err(|e| Error::io(format!("reading {}", parent.display()), e))?.flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                tracing::warn!(path = %entry.path().display(), "removing the leftovers of an interrupted backup");
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let name = final_path
            .file_name()
            .ok_or_else(|| Error::internal("a backup path has no name"))?
            .to_string_lossy()
            .to_string();
        let tmp = parent.join(format!(".tmp-{name}"));
        crate::home::ensure_private_dir(&tmp)?;
        Ok(Staging { tmp, final_path, committed: false })
    }

    /// Every manifest under the repository (for `repo rescan`); unreadable ones are reported.
    pub fn manifests(&self) -> Vec<std::result::Result<(PathBuf, Manifest), (PathBuf, Error)>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.join("logical")];
        if let Ok(clusters) = std::fs::read_dir(self.root.join("clusters")) {
            stack.extend(clusters.flatten().map(|c| c.path().join("base")));
        }
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_dir() || entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    continue;
                }
                let manifest = path.join(MANIFEST);
                if manifest.exists() {
                    out.push(Manifest::read(&path).map(|m| (path.clone(), m)).map_err(|e| (path.clone(), e)));
                } else {
                    stack.push(path);
                }
            }
        }
        out
    }
}

/// A backup being written. Dropping it without `commit` removes the temporary directory.
pub struct Staging {
    tmp: PathBuf,
    final_path: PathBuf,
    committed: bool,
}

impl Staging {
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// `tool args…` as the manifest records it: paths into the temporary directory written as
    /// they are after the rename.
    pub fn recorded_command(&self, tool: &str, args: &[String]) -> Vec<String> {
        let (tmp, fin) = (self.tmp.display().to_string(), self.final_path.display().to_string());
        std::iter::once(tool.to_string()).chain(args.iter().map(|a| a.replace(&tmp, &fin))).collect()
    }

    /// fsync everything, write the manifest last, rename into place.
    pub fn commit(mut self, manifest: &Manifest) -> Result<PathBuf> {
        sync_tree(&self.tmp)?;
        manifest.write(&self.tmp)?;
        sync_dir(&self.tmp)?;
        std::fs::rename(&self.tmp, &self.final_path)
            .map_err(|e| Error::io(format!("renaming the backup into {}", self.final_path.display()), e))?;
        if let Some(parent) = self.final_path.parent() {
            sync_dir(parent)?;
        }
        self.committed = true;
        Ok(self.final_path.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Free bytes for an unprivileged writer on the file system holding `dir` (or its nearest
/// existing ancestor).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid NUL-terminated path and a zeroed out-struct.
        if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
            return None;
        }
        Some(stat.f_bavail as u64 * stat.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = existing;
        None
    }
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(format!("fsync {}", dir.display()), e))
}

/// fsync every file and directory below `root`.
pub fn sync_tree(root: &Path) -> Result<()> {
    for entry in std::fs::read_dir(root).map_err(|e| Error::io(format!("reading {}", root.display()), e))?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(format!("fsync {}", path.display()), e))?;
        }
    }
    sync_dir(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_path_components() {
        assert_eq!(component("prod/eu"), "prod%2Feu");
        assert_eq!(component(".."), "%2E.");
        // Non-ASCII is encoded too: file systems normalise Unicode differently (macOS NFD).
        assert_eq!(component("Mixed Case ü"), "Mixed Case %C3%BC");
    }

    #[test]
    fn an_uncommitted_stage_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::at(dir.path());
        let target = repo.logical_dir("p", "d").join("b1");
        let stage = repo.stage(target.clone()).unwrap();
        std::fs::write(stage.path().join("x"), b"partial").unwrap();
        let tmp = stage.path().to_path_buf();
        drop(stage);
        assert!(!tmp.exists() && !target.exists());
    }
}
