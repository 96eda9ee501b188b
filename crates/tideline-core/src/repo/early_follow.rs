//! A base backup's tar files uploaded while pg_basebackup writes them. For a profile kept in a
//! bucket, each `base.tar…` (and each tablespace's `<oid>.tar…`) goes up as it grows, in
//! parts, so the upload overlaps the copy instead of following it; the object is completed
//! only once pg_basebackup has exited and the file is read to its end. `pg_wal.tar` is left to
//! the upload after the commit: pg_basebackup goes back into it to rewrite headers.
//!
//! What went up is checked against the checksum the manifest records; a file that differs
//! is removed there, and the upload after the commit sends it whole. A backup that fails or is
//! cancelled removes what went up (an upload cut off is aborted, never completed).

use crate::engine::Engine;
use crate::repo::checksum::FileEntry;
use crate::repo::sync::Uploader;
use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a file's end, and the directory, are looked at while pg_basebackup writes.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// One file uploaded as it grew: the key it got there and what was sent.
struct Followed {
    relative: String,
    key: String,
    blake3: String,
}

pub struct FollowedUploads {
    uploader: Arc<Uploader>,
    /// Set once the writer has exited: a follower at the file's end then finishes.
    written: Arc<AtomicBool>,
    watcher: Option<JoinHandle<Vec<Followed>>>,
    followed: Vec<Followed>,
    kept: bool,
}

/// The tar files pg_basebackup writes only by appending.
fn is_followed(name: &str) -> bool {
    name.contains(".tar") && !name.starts_with("pg_wal.tar") && !name.starts_with('.')
}

impl FollowedUploads {
    /// Follows the tar files appearing in `dir`; each goes up as `<prefix>/<its path under
    /// staging>`.
    fn start(uploader: Uploader, dir: PathBuf, staging: PathBuf, prefix: String) -> Self {
        let uploader = Arc::new(uploader);
        let written = Arc::new(AtomicBool::new(false));
        let (up, done) = (uploader.clone(), written.clone());
        let watcher = std::thread::spawn(move || {
            let mut seen = HashSet::new();
            let mut followers = Vec::new();
            while !done.load(Ordering::SeqCst) {
                for path in std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()) {
                    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                    if is_followed(&name) && seen.insert(path.clone()) {
                        let relative = path.strip_prefix(&staging).unwrap_or(&path).to_string_lossy().to_string();
                        let (up, done) = (up.clone(), done.clone());
                        let key = format!("{prefix}/{relative}");
                        followers.push(std::thread::spawn(move || follow(&up, &path, relative, &key, done)));
                    }
                }
                std::thread::sleep(FOLLOW_EVERY);
            }
            followers.into_iter().filter_map(|f| f.join().ok().flatten()).collect()
        });
        FollowedUploads { uploader, written, watcher: Some(watcher), followed: Vec::new(), kept: false }
    }

    /// The writer has exited (or failed): followers read to the end and finish.
    pub fn writer_done(&mut self) {
        self.written.store(true, Ordering::SeqCst);
        let Some(watcher) = self.watcher.take() else { return };
        // The followers' requests run on the runtime this thread may be driving.
        self.followed = crate::repo::store::waiting(|| watcher.join().ok()).unwrap_or_default();
    }

    /// Removes there each file whose upload differs from what the manifest records, for the
    /// upload after the commit to send whole; returns how many stay.
    pub fn check(&mut self, files: &[FileEntry]) -> usize {
        self.writer_done();
        let (uploader, followed) = (self.uploader.clone(), &mut self.followed);
        crate::repo::store::waiting(|| {
            followed.retain(|f| {
                let recorded = files.iter().find(|e| e.path == f.relative).and_then(|e| e.blake3.as_deref());
                let same = recorded == Some(f.blake3.as_str());
                if !same {
                    tracing::warn!(file = %f.relative, "uploaded while written, but it changed: sent again after the commit");
                    uploader.remove(&f.key);
                }
                same
            })
        });
        tracing::info!(files = self.followed.len(), "uploaded while pg_basebackup wrote them");
        self.followed.len()
    }

    /// The backup is committed: what went up stays.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for FollowedUploads {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        self.writer_done();
        // Dropped on a runtime's worker, as a failed backup's future unwinds.
        crate::repo::store::waiting(|| self.followed.iter().for_each(|f| self.uploader.remove(&f.key)));
    }
}

/// Uploads `path` as it grows, until the writer is done and its end is read.
fn follow(uploader: &Uploader, path: &Path, relative: String, key: &str, written: Arc<AtomicBool>) -> Option<Followed> {
    let file = File::open(path).ok()?;
    let mut growing = Growing { file, written, hasher: blake3::Hasher::new() };
    match uploader.upload_from(&mut growing, key) {
        Ok(key) => Some(Followed { relative, key, blake3: growing.hasher.finalize().to_hex().to_string() }),
        // Left to the upload after the commit, which reports its own failure.
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e.message, "upload while written failed");
            None
        }
    }
}

/// A file still being appended to: reading waits at its end until the writer is done.
struct Growing {
    file: File,
    written: Arc<AtomicBool>,
    hasher: blake3::Hasher,
}

impl Read for Growing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            // Looked at before the read: what the writer wrote before it was done is then seen.
            let done = self.written.load(Ordering::SeqCst);
            let n = self.file.read(buf)?;
            if n > 0 {
                self.hasher.update(&buf[..n]);
                return Ok(n);
            }
            if done {
                return Ok(0);
            }
            std::thread::sleep(FOLLOW_EVERY);
        }
    }
}

impl Engine {
    /// Uploads of the tar files pg_basebackup writes into `dir` (under `staging`, to be
    /// committed as `final_dir`), when the profile is kept in another repository.
    pub(crate) fn followed_uploads(
        &self,
        profile_id: &str,
        dir: &Path,
        staging: &Path,
        final_dir: &Path,
    ) -> Option<FollowedUploads> {
        let (uploader, prefix) = self.early_uploader(profile_id, final_dir)?;
        Some(FollowedUploads::start(uploader, dir.to_path_buf(), staging.to_path_buf(), prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_growing_file_goes_up_whole_and_an_abandoned_backup_takes_it_back() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (to, staging) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let dir = staging.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        let start = |rt: &tokio::runtime::Runtime| {
            let uploader = Uploader::into_dir(to.path().to_path_buf(), rt.handle().clone());
            FollowedUploads::start(
                uploader,
                dir.clone(),
                staging.path().to_path_buf(),
                "base/1/20261207T000000Z".into(),
            )
        };
        let uploaded = to.path().join("base/1/20261207T000000Z/data/base.tar.zst");

        let mut kept = start(&rt);
        let mut tar = File::create(dir.join("base.tar.zst")).unwrap();
        std::fs::write(dir.join("pg_wal.tar"), b"rewritten in place").unwrap();
        let mut whole = Vec::new();
        for i in 0..20u8 {
            let chunk = vec![i; 100_000];
            tar.write_all(&chunk).unwrap();
            whole.extend_from_slice(&chunk);
            std::thread::sleep(Duration::from_millis(10));
        }
        kept.writer_done();
        let entry = |path: &str, bytes: &[u8]| FileEntry {
            path: path.into(),
            size_bytes: bytes.len() as u64,
            blake3: Some(blake3::hash(bytes).to_hex().to_string()),
            sha256: None,
        };
        assert_eq!(kept.check(&[entry("data/base.tar.zst", &whole)]), 1);
        kept.keep();
        assert_eq!(std::fs::read(&uploaded).unwrap(), whole, "every byte, the last ones too");
        assert!(!to.path().join("base/1/20261207T000000Z/data/pg_wal.tar").exists(), "pg_wal.tar waits");

        // Different from what the manifest records: removed there, to be sent whole later.
        std::fs::remove_file(&uploaded).unwrap();
        let mut changed = start(&rt);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(changed.check(&[entry("data/base.tar.zst", b"other bytes")]), 0);
        changed.keep();
        assert!(!uploaded.exists());

        let mut abandoned = start(&rt);
        std::thread::sleep(Duration::from_millis(200));
        abandoned.writer_done();
        drop(abandoned);
        assert!(!uploaded.exists(), "a failed backup leaves nothing behind");
    }
}
