//! Where a profile's backups live besides this computer's repository, and the copies there.
//!
//! - **The profile's repository** (`profile edit P --repo NAME`): a bucket or folder that
//!   holds the profile's backups and WAL. Each backup is made here first, as always, then
//!   uploaded before the command reports success; a failed upload fails the command with the
//!   store's coded error while the backup stays listed here, complete, with its copy there
//!   marked incomplete (`repo sync local NAME` finishes it). Its server's archive_command
//!   pushes WAL straight into it (`wal setup`). The timeline and events are drawn from its
//!   listing and the summaries, and a recovery brings home the WAL it replays
//!   ([`Engine::bring_wal_files_home`]); what reads every file (`wal verify`, `wal index`,
//!   retention) brings all of it ([`Engine::bring_wal_home`]).
//! - **A second repository** (3-2-1, `--second-repo NAME`): each backup is copied there once
//!   it is complete here — a base backup with its cluster's archived WAL. A copy that fails
//!   never fails the backup; it is recorded with the store's words, and `repo sync` finishes
//!   it later.

use crate::catalog::backups::BackupRecord;
use crate::catalog::repositories::{BackupCopy, RepositoryRecord};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::repo::sync::LOCAL;

impl Engine {
    /// Sets (or, with None or `local`, clears) the repository `profile` keeps its backups and
    /// WAL in.
    pub fn set_profile_repository(&self, profile: &str, repository: Option<&str>) -> Result<Option<RepositoryRecord>> {
        let profile = self.profile(profile)?;
        let record = repository.filter(|name| *name != LOCAL).map(|name| self.named_repository(name)).transpose()?;
        self.catalog().set_profile_repository(&profile.id, record.as_ref().map(|r| r.id.as_str()))?;
        Ok(record)
    }

    pub fn profile_repository(&self, profile: &str) -> Result<Option<RepositoryRecord>> {
        let profile = self.profile(profile)?;
        self.catalog().profile_repository(&profile.id)
    }

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

    /// Every backup's copies, by backup id (backups with none are left out).
    pub fn all_backup_copies(&self) -> Result<std::collections::BTreeMap<String, Vec<BackupCopy>>> {
        self.catalog().all_backup_copies()
    }

    /// A finished backup into its profile's repository (an upload that fails is this call's
    /// error), then into its second repository (a copy that fails is only recorded).
    pub(crate) async fn copy_to_repositories(&self, record: &BackupRecord, job: &Job) -> Result<()> {
        let profile = self.profile(&record.profile).ok();
        let catalog_of = |f: fn(&crate::catalog::Catalog, &str) -> Result<Option<RepositoryRecord>>| {
            profile.as_ref().and_then(|p| f(&self.catalog(), &p.id).ok().flatten())
        };
        let (primary, second) = (
            catalog_of(crate::catalog::Catalog::profile_repository),
            catalog_of(crate::catalog::Catalog::second_repository),
        );
        let uploaded = match &primary {
            Some(repository) => self.copy_backup_to(record, repository, "uploading", job).await,
            None => Ok(()),
        };
        if let (Some(repository), Ok(())) = (&primary, &uploaded) {
            self.retry_failed_copies(&record.profile, repository, job).await;
        }
        if let Some(repository) = second.filter(|s| Some(&s.id) != primary.as_ref().map(|p| &p.id)) {
            // Its failure is recorded, and the backup stands.
            if self.copy_backup_to(record, &repository, "copying", job).await.is_ok() {
                self.retry_failed_copies(&record.profile, &repository, job).await;
            }
        }
        uploaded
    }

    /// Copies the profile's earlier backups whose copy to `repository` failed (the store was
    /// out of reach): once it takes a backup again, it takes those too.
    async fn retry_failed_copies(&self, profile: &str, repository: &RepositoryRecord, job: &Job) {
        // Bound first: a catalog guard must not live across an await.
        let backups = self.catalog().backups(Some(profile)).unwrap_or_default();
        let copies = self.catalog().all_backup_copies().unwrap_or_default();
        let failed_there =
            |id: &str| copies.get(id).is_some_and(|c| c.iter().any(|c| c.repository == repository.name && !c.complete));
        for backup in backups.iter().filter(|b| b.status == crate::repo::manifest::BackupStatus::Complete) {
            if failed_there(&backup.id) && self.copy_backup_to(backup, repository, "copying", job).await.is_ok() {
                tracing::info!(backup = %backup.id, repository = %repository.name, "a copy that failed before is complete");
            }
        }
    }

    /// Copies one backup's files to `repository` and records how that went.
    async fn copy_backup_to(
        &self,
        record: &BackupRecord,
        repository: &RepositoryRecord,
        phase: &str,
        job: &Job,
    ) -> Result<()> {
        job.phase(phase);
        let copied = match self.prefixes_of(record) {
            Ok(prefixes) => self.sync_prefixes(LOCAL, &repository.name, &prefixes, job).await.map(|_| ()),
            Err(e) => Err(e),
        };
        let at = self.clock.now_rfc3339();
        let detail = copied.as_ref().err().map(|e| format!("{}: {}", e.code.name(), e.message));
        if let Some(why) = &detail {
            tracing::error!(backup = %record.id, repository = %repository.name, error = %why, "copying a backup failed");
        }
        if let Err(e) = self.catalog().record_copy(&record.id, &repository.id, detail.is_none(), &at, detail.as_deref())
        {
            tracing::warn!(error = %e.message, "recording a backup's copy");
        }
        copied
    }

    /// Where cluster `sysid`'s WAL is read from besides here, for `profile_id`: the repository
    /// the profile is kept in; else one holding a whole copy of a base backup of the cluster
    /// (found there by `repo rescan --repo` on a teammate's computer), since each such copy went
    /// with its cluster's WAL. Not the profile's own second repository: this computer's WAL is
    /// the first copy, and what retention expired here must not come back from there.
    pub(crate) fn wal_repository(&self, profile_id: &str, sysid: &str) -> Option<RepositoryRecord> {
        if let Ok(Some(kept)) = self.catalog().profile_repository(profile_id) {
            return Some(kept);
        }
        let second = self.catalog().second_repository(profile_id).ok().flatten().map(|r| r.name);
        let copies = self.catalog().all_backup_copies().ok()?;
        let of_cluster = |id: &str| {
            let manifest = self.catalog().backup_manifest(id).ok();
            manifest.and_then(|m| m.physical).is_some_and(|p| p.system_identifier == sysid)
        };
        // Newest first.
        let backups = self.catalog().backups(None).ok()?;
        let whole_copy =
            backups.iter().filter(|b| b.kind == crate::repo::manifest::BackupKind::Base).find_map(|b| {
                let copy = copies.get(&b.id)?.iter().find(|c| c.complete && Some(&c.repository) != second.as_ref())?;
                of_cluster(&b.id).then(|| copy.repository.clone())
            })?;
        self.catalog().repository_named(&whole_copy).ok().flatten()
    }

    /// Brings this computer the WAL files and summaries of cluster `sysid` that the
    /// profile's repository holds and this one lacks, so the timeline, events and PITR see
    /// what the server archived there. A repository out of reach is logged, not an error:
    /// what is already here still draws a window, and a target past it is refused.
    pub(crate) async fn bring_wal_home(&self, profile_id: &str, sysid: &str, job: &Job) {
        let Some(repository) = self.wal_repository(profile_id, sysid) else { return };
        self.bring_wal_files_home(&repository, sysid, &|_| true, job).await;
    }

    /// The names (without `.zst`) of cluster `sysid`'s archived WAL files in `repository`;
    /// none when it does not answer within seconds (what is here still draws a window).
    pub(crate) async fn wal_names_there(&self, repository: &RepositoryRecord, sysid: &str) -> Vec<String> {
        let under = format!("clusters/{sysid}/wal/");
        let listed = match self.open_store(repository, crate::repo::store::s3::Patience::Probe) {
            Ok(store) => store.list(&under).await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(listed) => listed
                .into_iter()
                .filter_map(|s| s.key.strip_prefix(&under)?.strip_suffix(".zst").map(str::to_string))
                .filter(|n| !n.starts_with('.'))
                .collect(),
            Err(e) => {
                tracing::warn!(repository = %repository.name, error = %e.message, "could not list the WAL there");
                vec![]
            }
        }
    }

    /// Brings this computer the files of cluster `sysid`'s WAL folder in `repository` whose
    /// names `keep` picks (and this computer lacks): the summaries that draw the timeline, the
    /// WAL a recovery replays, or all of it, fetched side by side before the server asks for
    /// each. A screen may wait on this, so a store that does not answer within seconds is
    /// skipped, not waited out; that is logged, not an error: what is here still draws a
    /// window, and restore_command still asks the store for each file that is not here.
    pub(crate) async fn bring_wal_files_home(
        &self,
        repository: &RepositoryRecord,
        sysid: &str,
        keep: &(dyn Fn(&str) -> bool + Sync),
        job: &Job,
    ) {
        let under = format!("clusters/{sysid}/wal/");
        let keep = |plain: &str| plain.strip_prefix(under.as_str()).is_some_and(keep);
        let select = crate::repo::sync::Select::Picked { under: &under, keep: &keep };
        let patience = crate::repo::store::s3::Patience::Probe;
        match self.sync_with(&repository.name, LOCAL, select, patience, job).await {
            Ok(report) if report.copied > 0 => {
                tracing::info!(repository = %repository.name, files = report.copied, "WAL files brought home")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(repository = %repository.name, error = %e.message, "could not bring WAL files home")
            }
        }
    }

    /// Replaces this computer's damaged copies of cluster `sysid`'s WAL files `names` with the
    /// ones in the profile's repository, when it has one. Each damaged copy is moved aside
    /// (`<name>.zst.damaged`, for whoever looks into the disk), not deleted, and put back when
    /// the repository cannot give the file. Its `.b3` goes aside and comes again with it: the
    /// rot may be in the digest, not the file. Returns the names that came back; the caller
    /// checks them again, since the other copy may be damaged too.
    pub(crate) async fn replace_damaged_wal(&self, profile_id: &str, sysid: &str, names: &[String]) -> Vec<String> {
        let Some(repository) = self.wal_repository(profile_id, sysid) else { return vec![] };
        let Ok(repo) = self.repository() else { return vec![] };
        let dir = repo.root().join("clusters").join(sysid).join("wal");
        let path_of = |name: &str, suffix: &str| dir.join(format!("{name}{suffix}"));
        let aside = |name: &str, suffix: &str| dir.join(format!("{name}{suffix}.damaged"));
        let moved: Vec<&String> =
            names.iter().filter(|n| std::fs::rename(path_of(n, ".zst"), aside(n, ".zst")).is_ok()).collect();
        let had_digest: Vec<bool> =
            moved.iter().map(|n| std::fs::rename(path_of(n, ".b3"), aside(n, ".b3")).is_ok()).collect();
        let prefixes: Vec<String> = moved
            .iter()
            .flat_map(|n| [format!("clusters/{sysid}/wal/{n}.zst"), format!("clusters/{sysid}/wal/{n}.b3")])
            .collect();
        let select = crate::repo::sync::Select::Under(&prefixes);
        let patience = crate::repo::store::s3::Patience::Probe;
        if let Err(e) = self.sync_with(&repository.name, LOCAL, select, patience, &Job::silent()).await {
            tracing::warn!(repository = %repository.name, error = %e.message, "could not replace damaged WAL");
        }
        let mut replaced = Vec::new();
        for (name, had_digest) in moved.into_iter().zip(had_digest) {
            let back = path_of(name, ".zst").exists();
            // What did not come again goes back where it was.
            let put_back = |suffix: &str| {
                if let Err(e) = std::fs::rename(aside(name, suffix), path_of(name, suffix)) {
                    tracing::warn!(file = %name, error = %e, "putting a damaged WAL file back");
                }
            };
            if had_digest && !(back && path_of(name, ".b3").exists()) {
                put_back(".b3");
            }
            if back {
                tracing::warn!(file = %name, repository = %repository.name, "a damaged WAL file here was replaced by the repository's copy");
                replaced.push(name.clone());
            } else {
                put_back(".zst");
            }
        }
        replaced
    }

    /// Uploads the WAL files `names` (stored here by the stream) to the profile's repository,
    /// when it has one elsewhere; what could not go yet stays in `names` for the next call.
    pub(crate) async fn upload_wal(&self, profile_id: &str, sysid: u64, names: &mut Vec<String>) {
        if names.is_empty() {
            return;
        }
        let Ok(Some(repository)) = self.catalog().profile_repository(profile_id) else {
            names.clear();
            return;
        };
        let prefixes: Vec<String> = names.iter().map(|n| format!("clusters/{sysid}/wal/{n}")).collect();
        match self.sync_prefixes(LOCAL, &repository.name, &prefixes, &Job::silent()).await {
            Ok(_) => names.clear(),
            Err(e) => {
                tracing::warn!(repository = %repository.name, error = %e.message, waiting = names.len(), "WAL not uploaded yet")
            }
        }
    }

    /// Removes a backup from the repository its profile is kept in, before it goes from here:
    /// a removal that fails there leaves the backup whole in both places.
    pub(crate) fn remove_from_profile_repository(&self, record: &BackupRecord) -> Result<()> {
        let Some(repository) = self.kept_in(&record.profile)? else { return Ok(()) };
        let root = self.repository()?.root().to_path_buf();
        let Ok(relative) = std::path::Path::new(&record.path).strip_prefix(&root) else { return Ok(()) };
        let relative = relative.to_string_lossy().to_string();
        let removed = crate::repo::store::blocking(|rt| self.uploader(&repository.name, rt)?.remove_backup(&relative));
        removed.unwrap_or_else(|| Err(Error::internal("removing from a repository needs the async runtime")))
    }

    /// The archived WAL of cluster `sysid` in the repository `profile` is kept in that
    /// `expired` picks; removed there with `apply`.
    pub(crate) fn expire_wal_in_profile_repository(
        &self,
        profile: &str,
        sysid: &str,
        expired: impl Fn(&str) -> bool,
        apply: bool,
    ) -> Result<Vec<String>> {
        let Some(repository) = self.kept_in(profile)? else { return Ok(vec![]) };
        let removed = crate::repo::store::blocking(|rt| {
            let uploader = self.uploader(&repository.name, rt)?;
            let names: Vec<String> = uploader.wal_names(sysid)?.into_iter().filter(|n| expired(n)).collect();
            if apply {
                uploader.remove_wal(sysid, &names)?;
            }
            Ok(names)
        });
        removed.unwrap_or_else(|| Err(Error::internal("removing from a repository needs the async runtime")))
    }

    fn kept_in(&self, profile: &str) -> Result<Option<RepositoryRecord>> {
        let Ok(profile) = self.profile(profile) else { return Ok(None) };
        self.catalog().profile_repository(&profile.id)
    }

    /// A backup whose files are not all here — listed from another repository by `repo
    /// rescan --repo`, which brings manifests only — gets them from a repository holding a
    /// complete copy, before anything reads it. Nothing to do for a backup that is whole here,
    /// or that has no whole copy anywhere (the caller's checks then name what is missing).
    pub(crate) fn bring_backup_home(&self, record: &BackupRecord) -> Result<()> {
        let manifest = self.catalog().backup_manifest(&record.id)?;
        let dir = std::path::Path::new(&record.path);
        let here = manifest.files.iter().filter(|f| dir.join(&f.path).exists()).count();
        let copies = self.catalog().backup_copies(&record.id)?;
        if here == manifest.files.len() || !copies.iter().any(|c| c.complete) {
            // Whole, or nowhere else to look: what is missing is damage, for the caller's
            // checks to name.
            return Ok(());
        }
        if here > 0 {
            tracing::warn!(backup = %record.id, missing = manifest.files.len() - here, "files missing here; bringing them from a copy");
        }
        let prefixes = vec![self.prefixes_of(record)?.remove(0)];
        let mut failed = None;
        for copy in copies.iter().filter(|c| c.complete) {
            let job = Job::silent();
            let brought = crate::repo::store::blocking(|rt| {
                rt.block_on(self.sync_prefixes(&copy.repository, LOCAL, &prefixes, &job))
            });
            match brought {
                Some(Ok(report)) => {
                    tracing::info!(backup = %record.id, repository = %copy.repository, files = report.copied, "backup brought home");
                    return Ok(());
                }
                Some(Err(e)) => failed = Some(e),
                None => failed = Some(Error::internal("bringing a backup home needs the async runtime")),
            }
        }
        Err(failed.unwrap_or_else(|| Error::internal("no whole copy was tried")))
    }

    /// Records that each backup under `dirs` (repository paths) has a whole copy in
    /// repository `name`: where its files come from when they are needed.
    pub(crate) fn record_copies_in(&self, name: &str, dirs: &[String]) -> Result<()> {
        let repository = self.named_repository(name)?;
        let root = self.repository()?.root().to_path_buf();
        let at = self.clock.now_rfc3339();
        // Bound first: a catalog guard in the loop's head would hold it throughout.
        let records = self.catalog().backups(None)?;
        for record in records {
            let Ok(relative) = std::path::Path::new(&record.path).strip_prefix(&root) else { continue };
            if dirs.iter().any(|d| std::path::Path::new(d) == relative) {
                self.catalog().record_copy(&record.id, &repository.id, true, &at, None)?;
            }
        }
        Ok(())
    }

    /// The repository paths a backup's copy needs: its directory, and for a base backup the
    /// archived WAL of its cluster (without which it restores to nothing).
    pub(crate) fn prefixes_of(&self, record: &BackupRecord) -> Result<Vec<String>> {
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
