//! `tideline timeline PROFILE`: the recovery window of the profile's cluster, with its logical
//! dumps and named restore points as points on the same axis. Read from the repository and the
//! catalog; the server is asked only for its identity when no base backup names it yet.

use super::window::{compute, BasePoint, RecoveryWindow};
use crate::catalog::restore_points::RestorePoint;
use crate::engine::Engine;
use crate::error::Result;
use crate::job::Job;
use crate::wal::archive::{read_compressed, WalArchive};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DumpPoint {
    pub id: String,
    pub database: String,
    pub finished_at: String,
}

/// Commits in one minute, from the WAL summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct MinuteCommits {
    /// The minute's start, RFC 3339 UTC.
    pub minute: String,
    pub commits: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimelineView {
    pub profile: String,
    pub window: RecoveryWindow,
    pub logical_dumps: Vec<DumpPoint>,
    pub restore_points: Vec<RestorePoint>,
    /// Commit density, per minute with commits, oldest first.
    pub commit_density: Vec<MinuteCommits>,
    /// Destructive events (default thresholds), oldest first.
    pub events: Vec<crate::events::rank::WalEvent>,
}

impl Engine {
    /// The profile's cluster: named by its base backups, else asked of the server.
    async fn cluster_identity(
        &self,
        profile: &crate::profile::Profile,
        backups: &[crate::catalog::backups::BackupRecord],
    ) -> Result<String> {
        for b in backups.iter().filter(|b| b.kind == crate::repo::manifest::BackupKind::Base) {
            if let Some(p) = self.catalog().backup_manifest(&b.id)?.physical {
                return Ok(p.system_identifier);
            }
        }
        let password = self.password(profile)?;
        let client = crate::connect::connect(&profile.draft(), password.as_ref()).await?;
        crate::pg::server::system_identifier(&client).await
    }

    /// The system identifier of `profile_name`'s cluster, without drawing its timeline.
    pub(crate) async fn cluster_of(&self, profile_name: &str) -> Result<String> {
        let profile = self.profile(profile_name)?;
        let backups = self.catalog().backups(Some(&profile.name))?;
        let sysid = self.cluster_identity(&profile, &backups).await?;
        self.bring_wal_home(&profile.id, &sysid, &Job::silent()).await;
        Ok(sysid)
    }

    /// Brings home from the profile's repository elsewhere what draws the timeline — the WAL
    /// summaries and timeline histories, and the newest segment (its header gives the segment
    /// size) — and returns the names of the WAL files there, which the window counts as
    /// archived. The WAL itself comes when a recovery replays it: a bucket of years of WAL is
    /// not downloaded to draw a window.
    async fn bring_timeline_files_home(&self, profile_id: &str, sysid: &str) -> Vec<String> {
        let Some(repository) = self.wal_repository(profile_id, sysid) else { return vec![] };
        let mut there = self.wal_names_there(&repository, sysid).await;
        there.retain(|n| crate::wal::file_names::classify(n).is_ok());
        let newest = there.iter().filter(|n| n.len() == 24).max().map(|n| format!("{n}."));
        let keep = |file: &str| {
            crate::repo::sync::wal_metadata_file(file) || newest.as_deref().is_some_and(|n| file.starts_with(n))
        };
        if !there.is_empty() {
            self.bring_wal_files_home(&repository, sysid, &keep, &Job::silent()).await;
        }
        there
    }

    pub async fn timeline(&self, profile_name: &str) -> Result<TimelineView> {
        let profile = self.profile(profile_name)?;
        let backups = self.catalog().backups(Some(&profile.name))?;
        let sysid = self.cluster_identity(&profile, &backups).await?;
        let there = self.bring_timeline_files_home(&profile.id, &sysid).await;
        // Every profile's base backups of this cluster recover it (an incremental may build on
        // another profile's), and only those whose chain is whole.
        let bases: Vec<BasePoint> = self
            .base_backups_of(&sysid)?
            .into_iter()
            .filter_map(|b| {
                let p = b.manifest.physical?;
                let (id, finished_at) = (b.candidate.id, b.manifest.finished_at);
                Some(BasePoint { id, timeline: p.timeline, start_lsn: p.start_lsn, stop_lsn: p.stop_lsn, finished_at })
            })
            .collect();
        let repo = self.repository()?;
        let wal = WalArchive::open(repo.root(), sysid.parse().unwrap_or(0));
        // Archived here, or in the profile's repository elsewhere (each file comes home when a
        // recovery replays it, and is checked then).
        let here = wal.names()?;
        let archived: Vec<String> =
            here.iter().chain(&there).cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let mut histories = BTreeMap::new();
        for name in archived.iter().filter(|n| n.ends_with(".history")) {
            if let (Ok(tli), Ok(text)) = (u32::from_str_radix(&name[..8], 16), read_compressed(&wal.path_of(name))) {
                histories.insert(tli, String::from_utf8_lossy(&text).to_string());
            }
        }
        let segment_bytes = wal.segment_bytes(&here);
        // Summaries written as segments landed: the index answers, the WAL is read only for
        // segments without one (a `.partial`, or an archive older than summaries).
        if let Err(e) = self.ingest_wal_summaries(&sysid, &wal) {
            tracing::warn!(error = %e.message, "ingesting WAL summaries");
        }
        let last_commit = |tli: u32, number: u64| -> Option<String> {
            let name = crate::wal::file_names::SegmentName { timeline: tli, number }.file_name(segment_bytes);
            if self.catalog().has_wal_summary(&sysid, &name).unwrap_or(false) {
                return self.catalog().last_commit_time(&sysid, tli, &name).ok().flatten();
            }
            // The newest commit may sit segments back: archive_timeout and pg_switch_wal() close
            // segments that hold no commit.
            (0..32).filter_map(|back| number.checked_sub(back)).find_map(|n| {
                let name = crate::wal::file_names::SegmentName { timeline: tli, number: n }.file_name(segment_bytes);
                let bytes = read_compressed(&wal.path_of(&name))
                    .or_else(|_| read_compressed(&wal.path_of(&format!("{name}.partial"))))
                    .ok()?;
                super::commits::commits_in(&bytes).pop().map(|c| c.time)
            })
        };
        // Damaged files are left out, so the window ends before them as at a gap — unless the
        // profile's repository holds whole copies of them.
        let changed = crate::wal::check::Depth::Changed;
        let check = self.check_wal_archive_or_replace(&profile.id, &sysid, &wal, &here, segment_bytes, changed).await?;
        let whole: Vec<String> =
            archived.iter().filter(|n| !check.damaged.iter().any(|d| &d.name == *n)).cloned().collect();
        let mut window = compute(&sysid, segment_bytes, &whole, &histories, bases, &last_commit);
        window.damaged = check.damaged;
        let logical_dumps = backups
            .iter()
            .filter(|b| {
                b.kind == crate::repo::manifest::BackupKind::Logical
                    && b.status == crate::repo::manifest::BackupStatus::Complete
            })
            .map(|b| DumpPoint { id: b.id.clone(), database: b.database.clone(), finished_at: b.finished_at.clone() })
            .collect();
        let restore_points = self.catalog().restore_points(&sysid)?;
        let commit_density = self
            .catalog()
            .commit_minutes(&sysid)?
            .into_iter()
            .map(|(m, commits)| MinuteCommits { minute: format!("{}:00Z", m.trim_end_matches('Z')), commits })
            .collect();
        let events = self.wal_events(&sysid, &profile.database, &Default::default())?;
        Ok(TimelineView { profile: profile.name, window, logical_dumps, restore_points, commit_density, events })
    }
}
