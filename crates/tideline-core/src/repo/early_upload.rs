//! Files uploaded while the backup is still being made. For a profile kept in a bucket, each
//! data file a parallel pg_dump names finished goes up at once, under the path it will have
//! once the backup is committed, so the upload overlaps the dump instead of following it. The
//! backup's upload after the commit (`repo::copies`) skips what is there and sends the rest —
//! the table of contents and the manifest last — so the bucket holds a complete backup only
//! once its manifest is there. A backup that fails or is cancelled removes what went up.

use crate::engine::Engine;
use crate::repo::sync::Uploader;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

pub struct EarlyUploads {
    queue: Option<mpsc::Sender<PathBuf>>,
    worker: Option<std::thread::JoinHandle<(Uploader, Vec<String>)>>,
    /// What went up, once the worker is done.
    done: Option<(Uploader, Vec<String>)>,
    kept: bool,
}

impl EarlyUploads {
    /// Files under `staging` go up as `<prefix>/<their path under staging>`.
    fn start(uploader: Uploader, staging: PathBuf, prefix: String) -> Self {
        let (queue, paths) = mpsc::channel::<PathBuf>();
        let worker = std::thread::spawn(move || {
            let mut uploaded = Vec::new();
            for path in paths {
                let Ok(relative) = path.strip_prefix(&staging) else { continue };
                let key = format!("{prefix}/{}", relative.to_string_lossy());
                match uploader.upload(&path, &key) {
                    Ok(stored) => uploaded.push(stored),
                    // Left to the upload after the commit, which reports its own failure.
                    Err(e) => tracing::warn!(file = %path.display(), error = %e.message, "early upload failed"),
                }
            }
            (uploader, uploaded)
        });
        EarlyUploads { queue: Some(queue), worker: Some(worker), done: None, kept: false }
    }

    /// A file the backup will not change again.
    pub fn add(&self, path: PathBuf) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(path);
        }
    }

    /// Waits for the uploads under way (before the staging directory is renamed away from
    /// under them).
    pub fn settle(&mut self) {
        drop(self.queue.take());
        let Some(worker) = self.worker.take() else { return };
        // The worker's requests run on the runtime this thread may be driving.
        self.done = crate::repo::store::waiting(|| worker.join().ok());
    }

    /// The backup is committed: what went up stays.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for EarlyUploads {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        self.settle();
        if let Some((uploader, uploaded)) = &self.done {
            // Dropped on a runtime's worker, as a failed backup's future unwinds.
            crate::repo::store::waiting(|| uploaded.iter().for_each(|key| uploader.remove(key)));
        }
    }
}

impl Engine {
    /// Early uploads for a backup being staged in `staging` that will be committed as
    /// `final_dir`, when its profile is kept in another repository; None otherwise (or when
    /// that repository cannot be opened: the upload after the commit says why).
    pub(crate) fn early_uploads(&self, profile_id: &str, staging: &Path, final_dir: &Path) -> Option<EarlyUploads> {
        let (uploader, prefix) = self.early_uploader(profile_id, final_dir)?;
        Some(EarlyUploads::start(uploader, staging.to_path_buf(), prefix))
    }

    /// An uploader into the repository the profile is kept in, and the repository path of
    /// `final_dir` there; None when it is kept here (or that repository cannot be opened:
    /// the upload after the commit says why).
    pub(crate) fn early_uploader(&self, profile_id: &str, final_dir: &Path) -> Option<(Uploader, String)> {
        let repository = self.catalog().profile_repository(profile_id).ok()??;
        let root = self.repository().ok()?.root().to_path_buf();
        let prefix = final_dir.strip_prefix(&root).ok()?.to_string_lossy().trim_end_matches('/').to_string();
        match self.uploader(&repository.name, tokio::runtime::Handle::try_current().ok()?) {
            Ok(uploader) => Some((uploader, prefix)),
            Err(e) => {
                tracing::warn!(repository = %repository.name, error = %e.message, "no early uploads");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploading(to: &Path, staging: &Path, rt: &tokio::runtime::Runtime) -> EarlyUploads {
        let uploader = Uploader::into_dir(to.to_path_buf(), rt.handle().clone());
        EarlyUploads::start(uploader, staging.to_path_buf(), "logical/p/db/20261207T000000Z".into())
    }

    #[test]
    fn files_go_up_under_their_final_path_and_an_abandoned_backup_takes_them_back() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (to, staging) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::create_dir(staging.path().join("database.d")).unwrap();
        let file = staging.path().join("database.d/2599.dat.zst");
        std::fs::write(&file, b"rows").unwrap();
        let uploaded = to.path().join("logical/p/db/20261207T000000Z/database.d/2599.dat.zst");

        let mut kept = uploading(to.path(), staging.path(), &rt);
        kept.add(file.clone());
        kept.settle();
        kept.keep();
        assert_eq!(std::fs::read(&uploaded).unwrap(), b"rows");

        std::fs::remove_file(&uploaded).unwrap();
        let abandoned = uploading(to.path(), staging.path(), &rt);
        abandoned.add(file);
        drop(abandoned);
        assert!(!uploaded.exists(), "a failed backup leaves nothing behind");
    }
}
