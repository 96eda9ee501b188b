//! `tideline pitr PROFILE …`: recover the profile's cluster to a moment, into a new sandbox.
//!
//! Order matters for safety: every check against the recovery window happens before anything
//! is written; the sandbox directory is new for each attempt and removed when the attempt
//! fails (a replayed copy has moved past the target and must never be reused); the catalog
//! records the sandbox only once it has promoted.

use super::choose::Bound;
use super::plan::{lay_down_chain, Base};
use super::recovery;
use crate::catalog::sandboxes::RecoveryMeasurement;
use crate::cluster::ManagedCluster;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::pg::lsn::lsn;
use crate::pg::recovery_target::RecoveryTarget;
use crate::sandbox::{self, access, watch, Reached, Sandbox, SandboxRecord};
use crate::wal::archive::{read_compressed, WalArchive};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PitrRequest {
    pub target: RecoveryTarget,
    /// Recover from this base backup instead of the best one.
    pub from_backup: Option<String>,
    /// Listen on this port (when free) instead of any free one.
    pub port: Option<u16>,
}

/// Deletes a failed attempt's directory (stopping its server first) unless disarmed; the caller
/// forgets its catalog record ([`Engine::pitr`]).
struct Attempt {
    root: PathBuf,
    cluster: Option<ManagedCluster>,
    armed: bool,
    /// Where the server's log is kept when the attempt is removed: errors point there.
    kept_log: PathBuf,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(c) = &self.cluster {
            let _ = c.stop();
            if let Err(e) = keep_log(&c.log_path(), &self.kept_log) {
                tracing::warn!(log = %self.kept_log.display(), error = %e, "keeping a failed sandbox's server log");
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!(root = %self.root.display(), error = %e, "removing a failed sandbox");
        }
    }
}

fn keep_log(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(from, to).map(|_| ())
}

/// The last commit replayed: the newest commit at or before `at` (strictly before when the
/// server stopped *before* a commit) in the segment holding `at`, or the one before it.
fn last_replayed_commit(
    wal: &WalArchive,
    tlis: &[u32],
    seg_bytes: u64,
    at: u64,
    before: bool,
) -> Option<super::commits::Commit> {
    let number = at / seg_bytes;
    for n in [number, number.saturating_sub(1)] {
        for &tli in tlis {
            let name = crate::wal::file_names::SegmentName { timeline: tli, number: n }.file_name(seg_bytes);
            let bytes = read_compressed(&wal.path_of(&name))
                .or_else(|_| read_compressed(&wal.path_of(&format!("{name}.partial"))));
            let Ok(bytes) = bytes else { continue };
            let found = super::commits::commits_in(&bytes)
                .into_iter()
                .rev()
                .find(|c| lsn(&c.lsn).is_some_and(|l| if before { l < at } else { l <= at }));
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

impl Engine {
    pub async fn pitr(&self, profile_name: &str, request: &PitrRequest, job: &Job) -> Result<Sandbox> {
        self.remove_unfinished_sandboxes();
        let id = sandbox::new_id();
        let made = self.recover_into_sandbox(&id, profile_name, request, job).await;
        if made.is_err() {
            // The attempt removed its directory and stopped its server.
            let _ = self.catalog().delete_sandbox(&id);
        }
        made
    }

    async fn recover_into_sandbox(
        &self,
        id: &str,
        profile_name: &str,
        request: &PitrRequest,
        job: &Job,
    ) -> Result<Sandbox> {
        job.phase("checking the target");
        let plan = self.plan_recovery(profile_name, &request.target, request.from_backup.as_deref()).await?;
        let chain: Vec<&Base> = plan.chain.iter().collect();
        let newest = *chain.last().expect("a plan has a backup");
        let major = newest.manifest.server_major;
        let server = self.tools()?.server_for(major, "postgres")?.clone();

        let root = sandbox::sandboxes_root(self.home()).join(id);
        let kept_log = self.home().join("logs").join("sandboxes").join(format!("{id}-server.log"));
        let mut attempt = Attempt { root: root.clone(), cluster: None, armed: true, kept_log: kept_log.clone() };
        std::fs::create_dir_all(&root).map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        if let Some(parent) = root.parent() {
            use std::os::unix::fs::PermissionsExt;
            // Search only: the server's OS user must reach its own sandbox, nothing more.
            let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o711));
        }
        let target = RecoveryTarget {
            point: plan.point.clone(),
            exclusive: plan.target.exclusive,
            timeline: Some(plan.timeline),
        };
        // In the catalog before anything is laid down or started: a Tideline killed from here on
        // leaves a sandbox `sandbox list` shows as unfinished, never a hidden server.
        let record = self.unfinished_record(id, &plan, &chain, &root, target.clone());
        self.catalog().save_sandbox(&record)?;
        // Logged: the point after which a refused target would be too late (tests read it).
        tracing::info!(sandbox = %id, backup = %newest.candidate.id, "sandbox lay-down starting");
        job.progress("laying down", Some(newest.candidate.id.clone()), 0, Some(newest.bytes));
        let laydown_started = Instant::now();
        let data = root.join("data");
        let page_checksums = lay_down_chain(self, &chain, &data, major)?;
        let laydown_ms = laydown_started.elapsed().as_millis() as u64;
        job.check_cancelled()?;

        job.phase("bringing WAL home");
        self.bring_plan_wal_home(&plan, job).await;
        job.check_cancelled()?;

        job.phase("replaying WAL");
        let replay_started = Instant::now();
        let cluster = self.start_recovery(&plan, &root, &server, &target, request.port)?;
        attempt.cluster = Some(cluster.clone());
        let (first_segment, total) = segments_to_replay(&plan);
        let seg_bytes = plan.view.window.segment_bytes;
        let facts = watch::until_promoted(&cluster, job, total, first_segment, seg_bytes, &kept_log).await;
        // It holds the key that opens every backup in the bucket: gone once replay is over.
        remove_bucket_config(&root);
        let facts = facts?;
        let replay_ms = replay_started.elapsed().as_millis() as u64;
        let reached = reached_with_last_commit(&plan, &facts);

        let record = SandboxRecord {
            port: cluster.port,
            reached: reached.clone(),
            created_at: self.clock.now_rfc3339(),
            laydown_ms,
            replay_ms,
            page_checksums,
            creating: None,
            ..record
        };
        self.catalog().save_sandbox(&record)?;
        let replayed = reached.lsn.as_deref().and_then(lsn).unwrap_or(0).saturating_sub(newest.candidate.stop_lsn);
        self.catalog().record_measurement(&RecoveryMeasurement {
            profile: plan.profile.name.clone(),
            sandbox_id: id.to_string(),
            backup_id: newest.candidate.id.clone(),
            measured_at: record.created_at.clone(),
            backup_bytes: chain.iter().map(|b| b.bytes).sum(),
            laydown_ms,
            replayed_wal_bytes: replayed,
            replay_ms,
        })?;
        attempt.armed = false;
        tracing::info!(sandbox = %id, port = cluster.port, target = %plan.point.describe(), "sandbox recovered");
        Ok(record.into_view())
    }

    /// The sandbox as the catalog holds it while it is being made (`creating` names us).
    fn unfinished_record(
        &self,
        id: &str,
        plan: &super::plan::Plan,
        chain: &[&Base],
        root: &std::path::Path,
        target: RecoveryTarget,
    ) -> SandboxRecord {
        let newest = chain.last().expect("a plan has a backup");
        SandboxRecord {
            id: id.to_string(),
            profile: plan.profile.name.clone(),
            system_identifier: plan.view.window.system_identifier.clone(),
            root: root.to_string_lossy().into(),
            major: newest.manifest.server_major,
            database: plan.profile.database.clone(),
            user: plan.profile.user.clone(),
            backup_id: newest.candidate.id.clone(),
            backup_chain: chain.iter().map(|b| b.candidate.id.clone()).collect(),
            target,
            label: plan.label.clone(),
            timeline: plan.timeline,
            ..SandboxRecord::being_made(sandbox::SandboxKind::Recovery, self.clock.now_rfc3339())
        }
    }

    /// The laid-down data directory set to recover to the target, and its server started.
    fn start_recovery(
        &self,
        plan: &super::plan::Plan,
        root: &std::path::Path,
        server: &crate::tools::Installation,
        target: &RecoveryTarget,
        port: Option<u16>,
    ) -> Result<ManagedCluster> {
        let owner = crate::cluster::cluster_owner()?;
        let cli = crate::cluster::runnable_cli::runnable_cli(
            &crate::cluster::runnable_cli::cli_binary()?,
            owner.as_ref(),
            &sandbox::sandboxes_root(self.home()),
        )?;
        access::grant_wal_read(plan.repo.root(), plan.wal.dir(), owner.as_ref())?;
        recovery::prepare(&root.join("data"))?;
        let bucket = self.bucket_config_for_recovery(plan, root, owner.as_ref());
        let mut settings = recovery::sandbox_settings(root);
        settings.extend(recovery::recovery_settings(
            &cli,
            plan.repo.root(),
            bucket.as_deref(),
            Some(target),
            Some(plan.timeline),
        ));
        let mut cluster = ManagedCluster::adopt(root, server, &plan.profile.user, &settings)?;
        cluster.launch(port)?;
        Ok(cluster)
    }
}

/// restore_command's config for the bucket, in the sandbox's root.
const BUCKET_CONFIG: &str = "restore-from-bucket.json";

fn remove_bucket_config(root: &std::path::Path) {
    match std::fs::remove_file(root.join(BUCKET_CONFIG)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(root = %root.display(), error = %e, "removing restore_command's bucket config")
        }
        _ => {}
    }
}

impl Engine {
    /// For a profile whose WAL is read from a bucket ([`Engine::wal_repository`]), the config
    /// restore_command reads the bucket with when this computer lacks a file or holds it
    /// damaged: the bucket, its key and the identity that opens it, 0600 for the server's OS
    /// user, removed once the server has promoted. None — this computer's copy alone — for a
    /// profile kept here, or when it cannot be written (the window was drawn from what is
    /// here, so the recovery can still go on).
    fn bucket_config_for_recovery(
        &self,
        plan: &super::plan::Plan,
        root: &std::path::Path,
        owner: Option<&crate::cluster::os_user::OsUser>,
    ) -> Option<PathBuf> {
        use crate::catalog::repositories::RepositoryPlace;
        let repository = self.wal_repository(&plan.profile.id, &plan.view.window.system_identifier)?;
        if !matches!(repository.place, RepositoryPlace::S3 { .. }) {
            return None;
        }
        let path = root.join(BUCKET_CONFIG);
        match self.write_wal_config(&repository.name, &path, owner.map(|u| u.name.as_str()), true) {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(repository = %repository.name, error = %e.message, "restore_command reads this computer's WAL only");
                None
            }
        }
    }
}

/// The first segment replay reads, and how many it will read when the end is known.
fn segments_to_replay(plan: &super::plan::Plan) -> (u64, Option<u64>) {
    let seg_bytes = plan.view.window.segment_bytes;
    let first_segment = plan.first_replayed_segment();
    let last_segment = match &plan.bound {
        Bound::Lsn(l) => Some(*l / seg_bytes),
        _ => plan
            .view
            .window
            .timelines
            .iter()
            .find(|w| w.timeline == plan.timeline)
            .and_then(|w| w.latest.as_ref())
            .and_then(|r| lsn(&r.lsn))
            .map(|l| l.saturating_sub(1) / seg_bytes),
    };
    (first_segment, last_segment.map(|l| l.saturating_sub(first_segment) + 1))
}

/// Where replay stopped, with the last transaction it replayed read from the WAL.
fn reached_with_last_commit(plan: &super::plan::Plan, facts: &watch::LogFacts) -> Reached {
    let mut reached: Reached = watch::reached_from(facts);
    if let Some(at) = reached.lsn.as_deref().and_then(lsn) {
        let mut tlis = vec![plan.timeline];
        tlis.extend(plan.forks.iter().rev().map(|f| f.parent));
        let before = facts.stop.as_deref().is_some_and(|s| s.contains("before"));
        let seg_bytes = plan.view.window.segment_bytes;
        if let Some(c) = last_replayed_commit(&plan.wal, &tlis, seg_bytes, at, before) {
            reached.xid = Some(c.xid);
            reached.time.get_or_insert(c.time);
        }
    }
    reached
}
