//! Retention: which backups of a series (one profile's dumps of one database, its pg_dumpall
//! runs of one kind, its base backups) a policy keeps, previewed with reasons or applied, and
//! the archived WAL no kept base backup needs. Applied by schedules after a successful run
//! only, so failures never delete anything.

pub mod select;

use crate::engine::Engine;
use crate::error::Result;
use select::{keep_what_the_cluster_builds_on, select, wal_needed_from, Candidate, RetentionPolicy, Verdict};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SeriesVerdicts {
    /// `logical:<database>`, `dumpall:<kind>` or `base`.
    pub series: String,
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RetentionReport {
    pub profile: String,
    pub policy: RetentionPolicy,
    pub applied: bool,
    pub series: Vec<SeriesVerdicts>,
    /// Archived WAL segments no kept base backup needs (deleted when applied).
    pub wal_segments: Vec<String>,
    /// Unfinished uploads a stopped run left a day or more ago in the profile's buckets,
    /// aborted when applied (their keys).
    pub aborted_uploads: Vec<String>,
}

/// The base backups of a profile's clusters that other profiles made, and every parent link.
#[derive(Default)]
struct ClusterBases {
    others: Vec<String>,
    others_starts: Vec<(u32, u64)>,
    parents: std::collections::HashMap<String, String>,
}

/// The name prefix of a backup directory being deleted.
const DELETING: &str = ".deleting-";

/// The series a backup belongs to: what retention counts it among.
pub fn series_of(b: &crate::catalog::backups::BackupRecord) -> String {
    match b.kind {
        crate::repo::manifest::BackupKind::Base => "base".to_string(),
        crate::repo::manifest::BackupKind::Logical => format!("logical:{}", b.database),
        other => format!("{other}:{}", b.format),
    }
}

impl Engine {
    /// What `policy` keeps of `profile`'s backups (only `series` when given), and why; with
    /// `apply`, deletes the rest and the WAL no kept base backup needs.
    pub fn retention(
        &self,
        profile: &str,
        policy: &RetentionPolicy,
        only_series: Option<&str>,
        apply: bool,
    ) -> Result<RetentionReport> {
        self.profile(profile)?;
        if apply {
            self.finish_deletions()?;
        }
        let now = self.clock.now().with_timezone(&chrono::Utc);
        let backups = self.catalog().backups(Some(profile))?;
        let mut by_series: std::collections::BTreeMap<String, Vec<&crate::catalog::backups::BackupRecord>> =
            Default::default();
        for b in &backups {
            by_series.entry(series_of(b)).or_default().push(b);
        }
        let mut report = RetentionReport {
            profile: profile.to_string(),
            policy: policy.clone(),
            applied: apply,
            series: vec![],
            wal_segments: vec![],
            aborted_uploads: vec![],
        };
        let cluster = self.cluster_base_backups(&backups)?;
        let mut kept_bases = Vec::new();
        let mut sysid = None;
        for (series, members) in by_series {
            if only_series.is_some_and(|s| s != series) {
                continue;
            }
            let mut candidates = Vec::new();
            for b in &members {
                let manifest = self.catalog().backup_manifest(&b.id)?;
                let finished_at = chrono::DateTime::parse_from_rfc3339(&b.finished_at)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .unwrap_or(now);
                candidates.push(Candidate {
                    id: b.id.clone(),
                    finished_at,
                    complete: b.status == crate::repo::manifest::BackupStatus::Complete,
                    verified: b.verify_status.as_deref() == Some("passed"),
                    parent: manifest.physical.as_ref().and_then(|p| p.incremental_of.clone()),
                });
            }
            let mut verdicts = select(&candidates, policy, now);
            if series == "base" {
                keep_what_the_cluster_builds_on(&mut verdicts, &cluster.others, &cluster.parents);
            }
            for v in verdicts.iter().filter(|v| v.keep) {
                if let Some(p) = self.catalog().backup_manifest(&v.id)?.physical {
                    kept_bases.push((p.timeline, crate::pg::lsn::lsn(&p.start_lsn).unwrap_or(0)));
                    sysid.get_or_insert(p.system_identifier);
                }
            }
            if apply {
                for v in verdicts.iter().filter(|v| !v.keep) {
                    self.delete_backup_files(&v.id)?;
                }
            }
            report.series.push(SeriesVerdicts { series, verdicts });
        }
        if let (Some(sysid), true) = (sysid, only_series.is_none_or(|s| s == "base")) {
            // Other profiles' base backups of the cluster need their WAL as much as ours.
            kept_bases.extend(cluster.others_starts.iter().copied());
            report.wal_segments = self.expire_wal(profile, &sysid, &kept_bases, apply)?;
        }
        if apply {
            report.aborted_uploads = self.abort_stale_uploads(profile);
        }
        Ok(report)
    }

    /// The base backups of the clusters `mine` (a profile's backups) belong to, as retention of
    /// that profile must see them: every parent link, and the other profiles' backups with
    /// where their WAL starts.
    fn cluster_base_backups(&self, mine: &[crate::catalog::backups::BackupRecord]) -> Result<ClusterBases> {
        let manifest_of = |id: &str| self.catalog().backup_manifest(id);
        let mut sysids = std::collections::HashSet::new();
        for b in mine.iter().filter(|b| b.kind == crate::repo::manifest::BackupKind::Base) {
            if let Some(p) = manifest_of(&b.id)?.physical {
                sysids.insert(p.system_identifier);
            }
        }
        let mut bases = ClusterBases::default();
        if sysids.is_empty() {
            return Ok(bases);
        }
        // Bound first: a guard in the loop's head would hold the catalog for the whole loop.
        let all = self.catalog().backups(None)?;
        for b in all.into_iter().filter(|b| b.kind == crate::repo::manifest::BackupKind::Base) {
            let Some(p) = manifest_of(&b.id)?.physical else { continue };
            if !sysids.contains(&p.system_identifier) {
                continue;
            }
            if let Some(parent) = p.incremental_of {
                bases.parents.insert(b.id.clone(), parent);
            }
            if !mine.iter().any(|m| m.id == b.id) {
                bases.others_starts.push((p.timeline, crate::pg::lsn::lsn(&p.start_lsn).unwrap_or(0)));
                bases.others.push(b.id);
            }
        }
        Ok(bases)
    }

    /// Removes a backup: marked as being deleted in the catalog (nothing offers it any more),
    /// renamed aside to a `.deleting-` directory nothing lists or rescans, forgotten, deleted.
    /// A kill at any point leaves either the whole backup, listed, or a deletion the next start
    /// ([`Engine::finish_marked_deletions`]) or rescan ([`Engine::finish_deletions`]) finishes —
    /// never a half-deleted backup that looks whole.
    fn delete_backup_files(&self, id: &str) -> Result<()> {
        let record = self.catalog().backup(id)?;
        self.remove_from_profile_repository(&record)?;
        self.catalog().mark_backup_deleting(id)?;
        self.finish_deleting(&record)?;
        tracing::info!(backup = %id, "deleted by retention");
        Ok(())
    }

    fn finish_deleting(&self, record: &crate::catalog::backups::BackupRecord) -> Result<()> {
        let path = std::path::PathBuf::from(&record.path);
        let doomed = path.with_file_name(format!("{DELETING}{}", record.id));
        match std::fs::rename(&path, &doomed) {
            Ok(()) => crate::repo::sync_dir(doomed.parent().unwrap_or(&doomed))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(crate::error::Error::io(format!("moving {} aside", path.display()), e)),
        }
        self.catalog().delete_backup(&record.id)?;
        std::fs::remove_dir_all(&doomed)
            .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
            .map_err(|e| crate::error::Error::io(format!("deleting {}", doomed.display()), e))
    }

    /// Finishes deletions a killed run began, from the catalog's marks: cheap, run at start.
    pub(crate) fn finish_marked_deletions(&self) -> Result<u32> {
        let marked = self.catalog().backups_being_deleted()?;
        for record in &marked {
            self.finish_deleting(record)?;
            tracing::info!(backup = %record.id, "finished a deletion a stopped run began");
        }
        Ok(marked.len() as u32)
    }

    /// Finishes every deletion a killed run left: the marked ones, and each `.deleting-<id>`
    /// directory (its id forgotten with it).
    pub(crate) fn finish_deletions(&self) -> Result<u32> {
        let mut finished = self.finish_marked_deletions()?;
        let repo = self.repository()?;
        for doomed in repo.directories_named_with(DELETING) {
            let name = doomed.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let id = &name[DELETING.len()..];
            // Bound first: the catalog's guard must not live across the next call.
            let known = self.catalog().backup(id).is_ok();
            if known {
                self.catalog().delete_backup(id)?;
            }
            std::fs::remove_dir_all(&doomed)
                .map_err(|e| crate::error::Error::io(format!("deleting {}", doomed.display()), e))?;
            tracing::info!(backup = %id, "finished a deletion a stopped run left");
            finished += 1;
        }
        Ok(finished)
    }

    /// Segments (and their summaries) before the oldest kept base backup's start; history
    /// files always stay.
    fn expire_wal(&self, profile: &str, sysid: &str, kept_bases: &[(u32, u64)], apply: bool) -> Result<Vec<String>> {
        // A profile kept in another repository: its WAL is there; here, once brought home, are
        // the names and the segment size to judge by.
        if let Ok(p) = self.profile(profile) {
            let job = crate::job::Job::silent();
            crate::repo::store::blocking(|rt| rt.block_on(self.bring_wal_home(&p.id, sysid, &job)));
        }
        let archive = crate::wal::archive::WalArchive::open(self.repository()?.root(), sysid.parse().unwrap_or(0));
        let names = archive.names()?;
        let segment_bytes = archive.segment_bytes(&names);
        let Some(first_needed) = wal_needed_from(kept_bases, segment_bytes) else { return Ok(vec![]) };
        let is_expired = |name: &str| {
            crate::wal::file_names::segment(name, segment_bytes).is_some_and(|seg| seg.number < first_needed)
        };
        // There first: what fails there is still here, and comes back at the next try.
        let mut expired = self.expire_wal_in_profile_repository(profile, sysid, is_expired, apply)?;
        for name in names.into_iter().filter(|n| is_expired(n)) {
            if apply {
                let _ = std::fs::remove_file(archive.summary_path(&name));
                // What came with it from a bucket, and a damaged copy set aside for it.
                let _ = std::fs::remove_file(archive.dir().join(format!("{name}.b3")));
                let _ = std::fs::remove_file(archive.dir().join(format!("{name}.zst.damaged")));
                std::fs::remove_file(archive.path_of(&name))
                    .map_err(|e| crate::error::Error::io(format!("expiring WAL {name}"), e))?;
            }
            expired.push(name);
        }
        expired.sort();
        expired.dedup();
        Ok(expired)
    }
}
