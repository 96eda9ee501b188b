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
pub mod copies;
pub mod copy_check;
pub mod early_follow;
pub mod early_hash;
pub mod early_upload;
pub mod finished;
pub mod ids;
pub mod key;
pub mod manifest;
pub mod named;
pub mod options;
pub mod probe;
pub mod rotate;
pub mod store;
pub mod sync;
pub mod watch;

use crate::error::{Error, ErrorCode, Result};
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

/// Where cluster-wide backups of a profile live, beside its databases' directories. Database
/// names are path-encoded ('@' included), so no database can take this name.
pub const CLUSTER_DIR: &str = "@cluster";

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
        self.root.join("logical").join(component(profile)).join(CLUSTER_DIR)
    }

    /// Base backups of the cluster with this system identifier.
    pub fn base_dir(&self, system_identifier: &str) -> PathBuf {
        self.root.join("clusters").join(component(system_identifier)).join("base")
    }

    /// Starts a backup: a fresh private temporary directory beside the final one. The series
    /// (the parent directory) is locked while the backup is written, so leftovers of killed runs
    /// can be removed without touching a run still writing: a second backup of the same series
    /// is refused with `backup_in_progress` rather than sharing the directory.
    pub fn stage(&self, final_path: PathBuf) -> Result<Staging> {
        let parent = final_path.parent().ok_or_else(|| Error::internal("a backup path has no parent"))?.to_path_buf();
        crate::home::ensure_private_dir(&parent)?;
        let lock = self.lock_series(&parent)?;
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
        Ok(Staging { tmp, final_path, committed: false, _lock: lock })
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
                // Dot-names are Tideline's own: staging (`.tmp-`), deletions (`.deleting-`), locks.
                if !path.is_dir() || entry.file_name().to_string_lossy().starts_with('.') {
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

impl Repository {
    /// Backup directories whose names start with `prefix`, in every series.
    pub fn directories_named_with(&self, prefix: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.join("logical")];
        if let Ok(clusters) = std::fs::read_dir(self.root.join("clusters")) {
            stack.extend(clusters.flatten().map(|c| c.path().join("base")));
        }
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let (path, name) = (entry.path(), entry.file_name().to_string_lossy().to_string());
                if !path.is_dir() || path.is_symlink() {
                    continue;
                }
                if name.starts_with(prefix) {
                    out.push(path);
                } else if !name.starts_with('.') && !path.join(MANIFEST).exists() {
                    stack.push(path);
                }
            }
        }
        out
    }

    /// Whether a writer holds the series `series` (a backup into it is running).
    pub fn series_busy(&self, series: &Path) -> bool {
        matches!(self.lock_series(series), Err(e) if e.code == ErrorCode::BackupInProgress)
    }

    /// Locks a series of backups (the directory its backups go into) for one writer. The lock
    /// files live in `<repo>/.locks`, named by the series, never beside the backups; the lock
    /// goes with the process, so a killed writer never keeps it.
    fn lock_series(&self, series: &Path) -> Result<File> {
        let locks = self.root.join(".locks");
        crate::home::ensure_private_dir(&locks)?;
        let relative = series.strip_prefix(&self.root).unwrap_or(series);
        let key = blake3::hash(relative.to_string_lossy().as_bytes()).to_hex();
        let path = locks.join(format!("{}.lock", &key[..32]));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::new(
                ErrorCode::BackupInProgress,
                format!("another backup into {} is being written", series.display()),
                "Two backups of the same database (or of the same cluster) are not written at once. Wait for the running one to finish, then start this one again if you still need it.",
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(format!("locking {}", path.display()), e)),
        }
    }
}

/// A backup being written. Dropping it without `commit` removes the temporary directory.
pub struct Staging {
    tmp: PathBuf,
    final_path: PathBuf,
    committed: bool,
    // Held until the backup is committed or dropped (declared last: dropped after the cleanup).
    _lock: File,
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

/// What a full repository disk tells: free space, a larger disk, retention.
pub const ROOM_HINT: &str = "Free some space, move the repository to a larger disk, or apply retention to old backups.";

/// Refuses `what` (e.g. "this backup") when `dir`'s file system has less than `needed` bytes free.
pub fn check_room(dir: &Path, needed: u64, what: &str) -> Result<()> {
    match free_bytes(dir) {
        Some(free) if free < needed => Err(Error::new(
            ErrorCode::InsufficientSpace,
            format!("the repository at {} has {free} bytes free; {what} needs about {needed}", dir.display()),
            ROOM_HINT,
        )),
        _ => Ok(()),
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

/// fsync every file and directory below `root` (links are not followed: a data directory's
/// tablespace links may point where nothing is yet).
pub fn sync_tree(root: &Path) -> Result<()> {
    use rayon::prelude::*;
    let (mut files, mut dirs) = (Vec::new(), vec![root.to_path_buf()]);
    let mut at = 0;
    while at < dirs.len() {
        let dir = dirs[at].clone();
        at += 1;
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?.flatten()
        {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if !kind.is_symlink() {
                files.push(entry.path());
            }
        }
    }
    // Many at once: a data directory is thousands of files, and one fsync at a time leaves
    // the disk waiting between them. Directories after their files, deepest first.
    files.par_iter().try_for_each(|path| {
        File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io(format!("fsync {}", path.display()), e))
    })?;
    dirs.iter().rev().try_for_each(|d| sync_dir(d))
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

    #[test]
    fn a_second_backup_of_a_series_is_refused_and_never_removes_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::at(dir.path());
        let series = repo.logical_dir("p", "d");
        let first = repo.stage(series.join("b1")).unwrap();
        std::fs::write(first.path().join("data"), b"being written").unwrap();
        let e = repo.stage(series.join("b2")).err().expect("refused");
        assert_eq!(e.code, ErrorCode::BackupInProgress);
        assert_eq!(std::fs::read(first.path().join("data")).unwrap(), b"being written");
        // Another series is free.
        drop(repo.stage(repo.logical_dir("p", "other").join("b3")).unwrap());
        // Once the first has ended, the next one runs.
        drop(first);
        drop(repo.stage(series.join("b4")).unwrap());
    }

    #[test]
    fn leftovers_of_a_dead_writer_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::at(dir.path());
        let series = repo.logical_dir("p", "d");
        std::fs::create_dir_all(series.join(".tmp-killed")).unwrap();
        std::fs::write(series.join(".tmp-killed/data"), b"half").unwrap();
        drop(repo.stage(series.join("b1")).unwrap());
        assert!(!series.join(".tmp-killed").exists());
    }
}
