//! Listing backups, their logs, and rebuilding the catalog from the repository.

use crate::catalog::backups::BackupRecord;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::repo::finished::FinishedRun;
use crate::repo::manifest::Manifest;
use crate::repo::Repository;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

const REPO_SETTING: &str = "repository";

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RescanReport {
    pub indexed: Vec<String>,
    pub forgotten: u32,
    /// Directories whose manifest could not be read: (path, reason).
    pub unreadable: Vec<(String, String)>,
    /// Backups the catalog knew whose manifest in the repository is unreadable or differs from
    /// the catalog's copy: still listed, recorded as failing verification, never dropped.
    #[serde(default)]
    pub damaged: Vec<String>,
}

/// What `repo rescan --repo NAME` brought and indexed.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RescanFrom {
    pub synced: crate::repo::sync::SyncReport,
    pub rescan: RescanReport,
}

/// `<home>/repo`; but root's own home (no TIDELINE_HOME) is closed to the OS user its servers
/// run as, which must reach the WAL archive (archive_command, a sandbox's restore_command): as
/// root the default is `/var/lib/tideline/repo`, unless the old default already holds backups.
pub fn default_repository(home: &std::path::Path) -> std::path::PathBuf {
    let old = home.join("repo");
    let chosen_home = std::env::var_os("TIDELINE_HOME").is_some_and(|h| !h.is_empty());
    // Only root's default home is looked into (a directory read on each call).
    let root_default = crate::cluster::running_as_root()
        && !chosen_home
        && !std::fs::read_dir(&old).is_ok_and(|mut d| d.next().is_some());
    if root_default {
        return std::path::PathBuf::from(ROOT_REPOSITORY);
    }
    old
}

/// Root's default repository: beside the sandboxes, where the cluster's OS user can traverse.
pub const ROOT_REPOSITORY: &str = "/var/lib/tideline/repo";

impl Engine {
    /// The repository: a directory set with `set_repository`, else [`default_repository`].
    pub fn repository(&self) -> Result<Repository> {
        let setting = self.catalog().setting(REPO_SETTING)?;
        Ok(match setting {
            Some(dir) => Repository::at(dir),
            None => Repository::at(default_repository(self.home())),
        })
    }

    pub fn set_repository(&self, dir: &std::path::Path) -> Result<()> {
        crate::home::ensure_private_dir(dir)?;
        self.catalog().set_setting(REPO_SETTING, &dir.display().to_string())
    }

    pub fn backups(&self, profile: Option<&str>) -> Result<Vec<BackupRecord>> {
        if let Some(p) = profile {
            self.profile(p)?;
        }
        self.catalog().backups(profile)
    }

    pub fn backup_record(&self, id: &str) -> Result<BackupRecord> {
        self.catalog().backup(id)
    }

    pub fn backup_manifest(&self, id: &str) -> Result<Manifest> {
        self.catalog().backup_manifest(id)
    }

    /// The tool's own verbose output, kept with the backup.
    pub fn backup_log(&self, id: &str) -> Result<String> {
        let record = self.backup_record(id)?;
        let log =
            if record.kind == crate::repo::manifest::BackupKind::Base { "pg_basebackup.log" } else { "pg_dump.log" };
        let path = std::path::Path::new(&record.path).join(log);
        std::fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
    }

    /// A restore's tool output, by the path its report gave. Only files under
    /// `<home>/logs/restores` are read: the app asks for it over IPC.
    pub fn restore_log(&self, path: &str) -> Result<String> {
        let logs = self.home().join("logs").join("restores");
        let wanted = std::path::Path::new(path).canonicalize().map_err(|e| Error::io(format!("reading {path}"), e))?;
        let allowed = logs.canonicalize().map(|l| wanted.starts_with(l)).unwrap_or(false);
        if !allowed {
            return Err(Error::invalid_input(
                format!("{path} is not a restore log"),
                "Restore logs live in the logs/restores folder of Tideline's data directory.",
            ));
        }
        std::fs::read_to_string(&wanted).map_err(|e| Error::io(format!("reading {path}"), e))
    }

    /// Commits a staged backup with the catalog in step: recorded as `committing`, renamed
    /// into place, then given its manifest's status. A kill in between leaves a `committing` row
    /// the next start settles ([`Engine::settle_commits`]), so the catalog never misses a
    /// backup the repository holds, nor lists one it does not.
    /// The one way a backup run ends well: its manifest written, the staged directory renamed
    /// into place, the catalog told.
    pub(crate) fn finish_backup(&self, staging: crate::repo::Staging, run: FinishedRun) -> Result<BackupRecord> {
        let manifest = run.manifest(&staging, self.clock.now_rfc3339());
        let record = self.commit_backup(staging, &manifest)?;
        tracing::info!(id = %manifest.id, kind = %manifest.kind, bytes = manifest.size_bytes, ms = manifest.duration_ms, "backup complete");
        Ok(record)
    }

    pub(crate) fn commit_backup(&self, staging: crate::repo::Staging, manifest: &Manifest) -> Result<BackupRecord> {
        self.catalog().record_committing(manifest, staging.final_path())?;
        if let Err(e) = staging.commit(manifest) {
            let _ = self.catalog().delete_backup(&manifest.id);
            return Err(e);
        }
        self.catalog().set_backup_status(&manifest.id, manifest.status)?;
        self.catalog().backup(&manifest.id)
    }

    /// Settles commits a killed run left: complete when the backup is in place, forgotten when
    /// not. One whose series a running backup holds is left to it.
    pub(crate) fn settle_commits(&self) -> Result<()> {
        let committing = self.catalog().backups_with_status(crate::repo::manifest::BackupStatus::Committing)?;
        if committing.is_empty() {
            return Ok(());
        }
        let repo = self.repository()?;
        for record in committing {
            let path = std::path::Path::new(&record.path);
            if path.parent().is_some_and(|series| repo.series_busy(series)) {
                continue;
            }
            if path.join(crate::repo::MANIFEST).exists() {
                let status = self.catalog().backup_manifest(&record.id)?.status;
                self.catalog().set_backup_status(&record.id, status)?;
            } else {
                self.catalog().delete_backup(&record.id)?;
            }
            tracing::info!(backup = %record.id, "settled a commit a stopped run left");
        }
        Ok(())
    }

    /// `repo rescan --repo NAME`: what another installation put in repository `name` is listed
    /// here — its manifests, and its archived WAL with the summaries, come to this computer's
    /// repository (decrypted), the catalog is rebuilt from the manifests, and each backup is
    /// recorded as whole there: its other files come when something reads it. No catalog of
    /// the other installation is needed.
    pub async fn rescan_from_repository(&self, name: &str, job: &crate::job::Job) -> Result<RescanFrom> {
        let synced =
            self.sync_selected(name, crate::repo::sync::LOCAL, crate::repo::sync::Select::Metadata, job).await?;
        job.phase("indexing");
        let rescan = self.rescan_repository()?;
        self.record_copies_in(name, &synced.backups_seen)?;
        Ok(RescanFrom { synced, rescan })
    }

    /// Rebuilds the backup index from the manifests in the repository.
    pub fn rescan_repository(&self) -> Result<RescanReport> {
        self.finish_deletions()?;
        let repo = self.repository()?;
        let mut report = RescanReport { indexed: vec![], forgotten: 0, unreadable: vec![], damaged: vec![] };
        let known = self.catalog().backups(None)?;
        for found in repo.manifests() {
            match found {
                Ok((path, manifest)) => {
                    let id = manifest.id.clone();
                    // Bound first: a guard in the match's head would hold the catalog throughout.
                    let recorded = self.catalog().backup_manifest(&id);
                    match recorded {
                        // A manifest changed since the backup was made is damage, not news: the
                        // catalog keeps the copy it recorded then.
                        Ok(recorded)
                            if serde_json::to_value(&recorded).ok() != serde_json::to_value(&manifest).ok() =>
                        {
                            self.record_damage(&id, "manifest.json in the repository differs from the catalog's copy")?;
                            report.damaged.push(id.clone());
                        }
                        _ => {
                            self.catalog().record_backup(&manifest, &path)?;
                        }
                    }
                    report.indexed.push(id);
                }
                Err((path, e)) => {
                    let dir = path.display().to_string();
                    if let Some(b) = known.iter().find(|b| b.path == dir) {
                        self.record_damage(&b.id, &e.message)?;
                        report.damaged.push(b.id.clone());
                        report.indexed.push(b.id.clone());
                    }
                    report.unreadable.push((dir, e.message));
                }
            }
        }
        report.forgotten = self.catalog().forget_backups_except(&report.indexed)? as u32;
        self.catalog().claim_unowned_backups()?;
        Ok(report)
    }

    /// Records a failed verification for damage found without one (`backups show` tells it).
    fn record_damage(&self, id: &str, problem: &str) -> Result<()> {
        let report = super::verify::VerifyReport {
            id: id.to_string(),
            status: "failed".into(),
            files_checked: 0,
            readable: false,
            restore_tested: false,
            tables_compared: 0,
            row_counts_note: None,
            problems: vec![problem.to_string()],
            verified_at: self.clock.now_rfc3339(),
            copies: vec![],
        };
        let detail = serde_json::to_string(&report).map_err(|e| Error::internal(e.to_string()))?;
        tracing::warn!(backup = id, problem, "damaged backup found by rescan");
        self.catalog().record_verification(id, &report.verified_at, "failed", &detail)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::SystemClock;
    use crate::keychain::MemorySecrets;
    use crate::{Engine, ErrorCode};
    use std::sync::Arc;

    #[test]
    fn restore_logs_are_read_only_from_their_folder() {
        let home = tempfile::tempdir().unwrap();
        let engine = Engine::open(home.path(), Arc::new(MemorySecrets::default()), Arc::new(SystemClock)).unwrap();
        let logs = home.path().join("logs/restores");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("r.log"), "pg_restore: done").unwrap();
        assert_eq!(engine.restore_log(logs.join("r.log").to_str().unwrap()).unwrap(), "pg_restore: done");
        std::fs::write(home.path().join("catalog.txt"), "secret-ish").unwrap();
        let outside = home.path().join("logs/restores/../../catalog.txt");
        assert_eq!(engine.restore_log(outside.to_str().unwrap()).unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(engine.restore_log("/etc/passwd").unwrap_err().code, ErrorCode::InvalidInput);
    }
}
