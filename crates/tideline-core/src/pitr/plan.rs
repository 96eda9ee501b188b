//! Planning a recovery, shared by sandboxes and in-place restores: the target checked against
//! the recovery window before anything is written, the timeline, and the base backup chain.

use super::choose::{bound_of, choose, Bound, Candidate};
use super::history::Fork;
use super::timeline::TimelineView;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::lsn::lsn;
use crate::pg::recovery_target::{RecoveryTarget, TargetPoint};
use crate::physical::page_checksums::{self, PageCheck};
use crate::profile::Profile;
use crate::repo::manifest::Manifest;
use crate::repo::Repository;
use crate::wal::archive::{read_compressed, WalArchive};
use std::path::{Path, PathBuf};

/// A base backup of the cluster, as a recovery candidate, with where it lives.
pub struct Base {
    pub candidate: Candidate,
    pub manifest: Manifest,
    pub path: PathBuf,
    pub bytes: u64,
}

pub struct Plan {
    pub profile: Profile,
    /// The target in words when it came from an event ("Before DELETE of … rows from …").
    pub label: Option<String>,
    /// The target as the server will be given it (an event resolved to its commit's LSN).
    pub target: RecoveryTarget,
    pub point: TargetPoint,
    pub timeline: u32,
    pub bound: Bound,
    pub view: TimelineView,
    pub repo: Repository,
    pub wal: WalArchive,
    /// The target timeline's ancestry, oldest first.
    pub forks: Vec<Fork>,
    /// Full backup first, then the incremental ones built on it.
    pub chain: Vec<Base>,
}

impl Plan {
    /// The number of the segment replay starts in: the newest base backup's start.
    pub fn first_replayed_segment(&self) -> u64 {
        let newest = self.chain.last().and_then(|b| b.manifest.physical.as_ref());
        newest.and_then(|p| lsn(&p.start_lsn)).unwrap_or(0) / self.view.window.segment_bytes
    }
}

impl Engine {
    /// The WAL the plan replays — from the newest base backup's start on, any timeline, with
    /// each file's `.b3` and summary — brought from the profile's repository elsewhere when it
    /// has one, side by side, before the server asks for each file on its own.
    pub(crate) async fn bring_plan_wal_home(&self, plan: &Plan, job: &crate::job::Job) {
        let (sysid, segment_bytes) = (&plan.view.window.system_identifier, plan.view.window.segment_bytes);
        let Some(repository) = self.wal_repository(&plan.profile.id, sysid) else { return };
        let first = plan.first_replayed_segment();
        let keep = |file: &str| {
            let name = file.split('.').next().unwrap_or_default();
            crate::wal::file_names::segment(name, segment_bytes).is_some_and(|s| s.number >= first)
        };
        self.bring_wal_files_home(&repository, sysid, &keep, job).await;
    }
}

/// Lays the chain down at `dest` and, where the cluster has data checksums, reads every page
/// back before anything starts on it (see [`page_checksums`]).
pub fn lay_down_chain(engine: &Engine, chain: &[&Base], dest: &Path, major: u32) -> Result<Option<PageCheck>> {
    for base in chain {
        // Listed from another repository: its files come first.
        let record = engine.catalog().backup(&base.candidate.id)?;
        engine.bring_backup_home(&record)?;
    }
    let newest = chain.last().expect("a chain has a backup");
    if chain.len() == 1 {
        crate::physical::laydown::lay_down(&newest.path, &newest.manifest, dest)?;
    } else {
        combine(engine, chain, dest, major)?;
    }
    let Some(physical) = newest.manifest.physical.as_ref().filter(|p| p.data_checksums == Some(true)) else {
        return Ok(None);
    };
    let replay_from = crate::pg::lsn::lsn(&physical.start_lsn).unwrap_or(0);
    let check = page_checksums::verify_data_dir(dest, replay_from)?;
    tracing::info!(verified = check.pages_verified, skipped = check.pages_skipped, "data page checksums read");
    Ok(Some(check))
}

/// An incremental chain combined by pg_combinebackup (full backup first), as PostgreSQL 17
/// requires.
fn combine(engine: &Engine, chain: &[&Base], dest: &Path, major: u32) -> Result<()> {
    // pg_combinebackup reads the backups where they are: each is checked against its
    // manifest first (a plain lay-down checks as it copies).
    for base in chain {
        let damaged = crate::repo::checksum::damaged(&base.path, &base.manifest.files);
        if !damaged.is_empty() {
            return Err(Error::new(
                ErrorCode::ChecksumMismatch,
                format!("base backup {} is damaged: {}", base.candidate.id, damaged.join("; ")),
                "Nothing was started from it. Choose another with --from-backup (`tideline backups list`), and check the disk the repository is on.",
            ));
        }
    }
    let tools = engine.tools()?;
    let combine = tools.client_for(major, "pg_combinebackup")?;
    let mut cmd = std::process::Command::new(combine.path("pg_combinebackup"));
    cmd.arg("-o").arg(dest);
    // No fsync and no manifest: a base backup's pg_control says the cluster was running, so
    // PostgreSQL syncs the whole data directory itself before it replays (StartupXLOG), and
    // nothing reads a sandbox's backup_manifest. Where both sides share a filesystem, the
    // kernel copies (copy_file_range): half pg_combinebackup's default time (docs/benchmarks.md,
    // "Measurements behind defaults"). Never --link: the sandbox's server writes into the files
    // it starts on, and hard links would make them the repository's own backup files.
    cmd.args(["--no-sync", "--no-manifest"]);
    if same_filesystem(&chain[0].path, dest.parent().unwrap_or(dest)) && cfg!(target_os = "linux") {
        cmd.arg("--copy-file-range");
    }
    for b in chain {
        cmd.arg(b.path.join(crate::physical::basebackup::DATA_DIR));
    }
    let out = engine.runner().output(&mut cmd).map_err(|e| Error::io("running pg_combinebackup", e))?;
    if !out.status.success() {
        return Err(Error::new(
            ErrorCode::ToolFailed,
            format!("pg_combinebackup failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
            "The incremental chain may be damaged: `tideline verify ID` each backup, or choose a full one with --from-backup.",
        ));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::io("chmod data", e))
}

fn same_filesystem(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

impl Engine {
    /// The cluster's base backups, whichever profile made them: another profile's incremental
    /// backup may build on this one's, and every one of them restores the same cluster.
    /// Only backups whose whole incremental chain is there: one whose parent is gone restores
    /// nothing, and must not draw a window.
    pub(crate) fn base_backups_of(&self, sysid: &str) -> Result<Vec<Base>> {
        let records = self.catalog().backups(None)?;
        let mut out = Vec::new();
        for b in records.into_iter().filter(|b| {
            b.kind == crate::repo::manifest::BackupKind::Base
                && b.status == crate::repo::manifest::BackupStatus::Complete
        }) {
            let manifest = self.catalog().backup_manifest(&b.id)?;
            let Some(p) = manifest.physical.clone() else { continue };
            if p.system_identifier != sysid {
                continue;
            }
            let finished_at = chrono::DateTime::parse_from_rfc3339(&manifest.finished_at)
                .map_err(|e| Error::internal(format!("backup {} has a bad finish time: {e}", b.id)))?;
            out.push(Base {
                candidate: Candidate {
                    id: b.id.clone(),
                    timeline: p.timeline,
                    stop_lsn: lsn(&p.stop_lsn).unwrap_or(0),
                    finished_at,
                    incremental_of: p.incremental_of.clone(),
                },
                manifest,
                path: PathBuf::from(&b.path),
                bytes: b.size_bytes,
            });
        }
        loop {
            let before = out.len();
            let ids: std::collections::HashSet<String> = out.iter().map(|b| b.candidate.id.clone()).collect();
            out.retain(|b| b.candidate.incremental_of.as_ref().is_none_or(|p| ids.contains(p)));
            if out.len() == before {
                return Ok(out);
            }
        }
    }

    /// Everything checkable about a recovery, checked: refuses a target before consistency, in
    /// a gap, past the WAL, or on an unreachable timeline with its own code.
    pub async fn plan_recovery(
        &self,
        profile_name: &str,
        target: &RecoveryTarget,
        from_backup: Option<&str>,
    ) -> Result<Plan> {
        let profile = self.profile(profile_name)?;
        let mut point = target.point.clone().normalised()?;
        let view = self.timeline(&profile.name).await?;
        let window = &view.window;
        let mut target = target.clone();
        let mut label = None;
        if let TargetPoint::BeforeEvent(id) = &point {
            let event = self.find_event(&window.system_identifier, &profile.database, id)?;
            tracing::info!(event = %id, lsn = %event.lsn, what = %event.description, "recovering to just before an event");
            label = Some(format!("Before {}", event.description));
            point = TargetPoint::Lsn(event.lsn);
            target = RecoveryTarget { point: point.clone(), exclusive: true, timeline: Some(event.timeline) };
        }
        target.point = point.clone();
        let timeline = match target.timeline {
            Some(t) => t,
            None => {
                window.timelines.iter().filter(|w| w.earliest.is_some()).map(|w| w.timeline).max().ok_or_else(|| {
                    Error::new(
                    ErrorCode::TargetBeforeConsistency,
                    format!("the repository holds no base backup of profile {} to recover from", profile.name),
                    "Take one first: `tideline basebackup PROFILE` (and set up WAL with `tideline wal setup PROFILE`).",
                )
                })?
            }
        };
        let named_lsn = match &point {
            TargetPoint::Name(n) => view.restore_points.iter().rev().find(|p| &p.name == n).and_then(|p| lsn(&p.lsn)),
            _ => None,
        };
        let bound = bound_of(&point, named_lsn);
        match &bound {
            Bound::Lsn(l) => window.check_lsn(timeline, *l)?,
            Bound::Time(t) => window.check_time(timeline, t)?,
            Bound::None => window.check_reachable(timeline).map(|_| ())?,
        }
        let sysid = window.system_identifier.clone();
        let repo = self.repository()?;
        let wal = WalArchive::open(repo.root(), sysid.parse().unwrap_or(0));
        let forks = read_compressed(&wal.path_of(&format!("{timeline:08X}.history")))
            .map(|t| super::history::parse(&String::from_utf8_lossy(&t)))
            .unwrap_or_default();
        let mut bases = self.base_backups_of(&sysid)?;
        let candidates: Vec<Candidate> = bases.iter().map(|b| b.candidate.clone()).collect();
        let chosen = choose(&candidates, &bound, timeline, &forks, from_backup)?;
        let newest = chosen.last().expect("choose returns at least one");
        if let Bound::Lsn(l) = bound {
            if newest.stop_lsn > l {
                return Err(Error::new(
                    ErrorCode::TargetBeforeConsistency,
                    format!("backup {} becomes consistent after the target", newest.id),
                    "Choose an older backup with --from-backup, or a later target.",
                ));
            }
        }
        let end = window.timelines.iter().find(|w| w.timeline == timeline).and_then(|w| w.latest.as_ref());
        let mut timelines = vec![timeline];
        timelines.extend(forks.iter().rev().map(|f| f.parent));
        if let Some(end) = end.and_then(|l| lsn(&l.lsn)) {
            let range = (newest.stop_lsn, end);
            self.refuse_targets_not_in_wal(&point, &sysid, &timelines, range, window.segment_bytes)?;
        }
        let mut chain = Vec::new();
        for c in &chosen {
            let i = bases.iter().position(|b| b.candidate.id == c.id).expect("chosen from these");
            chain.push(bases.swap_remove(i));
        }
        Ok(Plan { profile, label, target, point, timeline, bound, view, repo, wal, forks, chain })
    }
}
