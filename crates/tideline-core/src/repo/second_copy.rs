//! A profile's second repository (3-2-1): each backup of the profile is copied there once it
//! is complete here — a base backup with its cluster's archived WAL — and the catalog records
//! where each copy is and whether it is whole. A copy that fails never fails the backup (it is
//! complete here); it is recorded with the store's words, and `repo sync` finishes it later.

use crate::catalog::backups::BackupRecord;
use crate::catalog::repositories::{BackupCopy, RepositoryRecord};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::repo::sync::LOCAL;

impl Engine {
    /// Sets (or, with None, clears) the repository each backup of `profile` is copied to.
    pub fn set_second_repository(&self, profile: &str, repository: Option<&str>) -> Result<Option<RepositoryRecord>> {
        let profile = self.profile(profile)?;
        let record = repository.map(|name| self.named_repository(name)).transpose()?;
        self.catalog().set_second_repository(&profile.id, record.as_ref().map(|r| r.id.as_str()))?;
        Ok(record)
    }

    pub fn second_repository(&self, profile: &str) -> Result<Option<RepositoryRecord>> {
        let profile = self.profile(profile)?;
        self.catalog().second_repository(&profile.id)
    }

    pub fn backup_copies(&self, backup_id: &str) -> Result<Vec<BackupCopy>> {
        self.catalog().backup_copies(backup_id)
    }

    /// Copies a finished backup to its profile's second repository, when it has one.
    pub(crate) async fn copy_to_second(&self, record: &BackupRecord, job: &Job) -> Option<BackupCopy> {
        let profile = self.profile(&record.profile).ok()?;
        let second = self.catalog().second_repository(&profile.id).ok()??;
        job.phase("copying");
        let copied = match self.prefixes_of(record) {
            Ok(prefixes) => self.sync_prefixes(LOCAL, &second.name, &prefixes, job).await.map(|_| ()),
            Err(e) => Err(e),
        };
        let at = self.clock.now_rfc3339();
        let detail = copied.as_ref().err().map(|e| format!("{}: {}", e.code.name(), e.message));
        if let Some(why) = &detail {
            tracing::error!(backup = %record.id, repository = %second.name, error = %why, "the second copy failed");
        }
        if let Err(e) = self.catalog().record_copy(&record.id, &second.id, detail.is_none(), &at, detail.as_deref()) {
            tracing::warn!(error = %e.message, "recording a backup's copy");
        }
        Some(BackupCopy { repository: second.name, complete: detail.is_none(), at, detail })
    }

    /// The repository paths a backup's copy needs: its directory, and for a base backup the
    /// archived WAL of its cluster (without which it restores to nothing).
    fn prefixes_of(&self, record: &BackupRecord) -> Result<Vec<String>> {
        let root = self.repository()?.root().to_path_buf();
        let relative = std::path::Path::new(&record.path).strip_prefix(&root).map_err(|_| {
            Error::invalid_input(
                format!(
                    "backup {} is in {}, outside the current repository {}",
                    record.id,
                    record.path,
                    root.display()
                ),
                "Copy that repository folder's backups with a sync from it (Settings → Repositories elsewhere).",
            )
        })?;
        let dir = format!("{}/", relative.to_string_lossy().trim_end_matches('/'));
        let mut prefixes = vec![dir.clone()];
        if let Some(cluster) = dir.strip_prefix("clusters/").and_then(|rest| rest.split('/').next()) {
            prefixes.push(format!("clusters/{cluster}/wal/"));
        }
        Ok(prefixes)
    }
}
