//! `tideline restore-in-place BACKUP_ID --data-dir DIR [target]`: the guide's restore of a
//! local cluster's own data directory — with the server stopped, the old directory moved aside
//! (never deleted), the backup laid down in its place, unarchived WAL carried over from the old
//! pg_wal, and recovery configured. The user starts the server as they always do.
//!
//! Safety order: refuse while a server runs on DIR and without confirmation; rename DIR aside
//! first (an atomic rename, so DIR is either the old cluster or being rebuilt, never a mix);
//! lay the backup down into a temporary sibling and rename it to DIR only when complete.

use super::recovery;
use crate::cluster::OsUser;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::recovery_target::RecoveryTarget;
use crate::sandbox::access;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InPlaceRequest {
    pub backup_id: String,
    pub data_dir: String,
    /// None: replay all the archived WAL (and what the old pg_wal still held).
    pub target: Option<RecoveryTarget>,
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InPlaceReport {
    pub data_dir: String,
    /// Where the old data directory now is: kept, never deleted.
    pub old_data_dir: String,
    pub backup_chain: Vec<String>,
    /// WAL segments from the old pg_wal that the archive did not have, copied over.
    pub carried_wal: Vec<String>,
    pub recovery_settings: Vec<String>,
    /// What to run next (the server is not started: the user's service manager owns it).
    pub next_step: String,
}

/// Whether a postmaster is alive on `data_dir` (postmaster.pid and a live process).
pub fn server_running(data_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let Some(pid) = text.lines().next().and_then(|l| l.trim().parse::<i32>().ok()) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

fn give_tree(root: &Path, uid: u32, gid: u32) -> Result<()> {
    crate::cluster::no_follow::give_tree(root, uid, gid)
        .map_err(|e| Error::io(format!("giving {} to its owner", root.display()), e))
}

/// Segments in the old pg_wal that the archive lacks (the newest WAL, not archived yet).
/// Regular files only, opened without following links: a link named like a segment (to
/// `/etc/shadow`, say) must not have root copy its target where the cluster's user reads it.
fn carry_wal(old: &Path, new: &Path, archived: &[String]) -> Result<Vec<String>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut carried = Vec::new();
    let Ok(entries) = std::fs::read_dir(old.join("pg_wal")) else {
        return Ok(carried);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let is_segment = name.len() == 24 && name.chars().all(|c| c.is_ascii_hexdigit());
        if is_segment && !archived.iter().any(|a| a == &name) {
            let carry = || -> std::io::Result<bool> {
                let mut from = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                    .open(entry.path())?;
                if !from.metadata()?.is_file() {
                    return Ok(false);
                }
                let mut to = std::fs::File::create_new(new.join("pg_wal").join(&name))?;
                std::io::copy(&mut from, &mut to)?;
                Ok(true)
            };
            match carry() {
                Ok(true) => carried.push(name),
                Ok(false) => tracing::warn!(file = %name, "not carried over: not a regular file"),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    tracing::warn!(file = %name, "not carried over: a symbolic link")
                }
                Err(e) => return Err(Error::io(format!("carrying {name} over"), e)),
            }
        }
    }
    carried.sort();
    Ok(carried)
}

impl Engine {
    pub async fn restore_in_place(&self, req: &InPlaceRequest) -> Result<InPlaceReport> {
        let dir = PathBuf::from(&req.data_dir);
        self.check_in_place(req, &dir)?;
        let target = req.target.clone().unwrap_or(RecoveryTarget {
            point: crate::pg::recovery_target::TargetPoint::Immediate,
            exclusive: false,
            timeline: None,
        });
        let owner = self.backup_record(&req.backup_id)?.profile;
        let plan = self.plan_recovery(&owner, &target, Some(&req.backup_id)).await?;
        self.bring_plan_wal_home(&plan, &crate::job::Job::silent()).await;
        let (uid, gid) = match std::fs::metadata(&dir) {
            Ok(m) => (m.uid(), m.gid()),
            Err(_) => std::fs::metadata(dir.parent().unwrap_or(Path::new("/")))
                .map(|m| (m.uid(), m.gid()))
                .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?,
        };
        let owner = OsUser::by_uid(uid);
        let cli = crate::cluster::runnable_cli::runnable_cli(
            &crate::cluster::runnable_cli::cli_binary()?,
            owner.as_ref(),
            &crate::sandbox::sandboxes_root(self.home()),
        )?;
        access::grant_wal_read(plan.repo.root(), plan.wal.dir(), owner.as_ref())?;

        let stamp = self.clock.now().format("%Y%m%d-%H%M%S");
        let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "data".into());
        let old = dir.with_file_name(format!("{name}.before-restore-{stamp}"));
        let staging = super::staging::Staging::create(dir.parent().unwrap_or(Path::new("/")))?;
        let building = staging.path("data");
        let chain: Vec<&super::plan::Base> = plan.chain.iter().collect();
        super::plan::lay_down_chain(self, &chain, &building, plan.chain[0].manifest.server_major)?;
        let had_old = dir.exists();
        let archived = plan.wal.names()?;
        let carried = if had_old { carry_wal(&dir, &building, &archived)? } else { Vec::new() };
        recovery::prepare(&building)?;
        let explicit = req.target.as_ref().map(|_| &plan.target);
        let timeline = req.target.as_ref().and(plan.target.timeline);
        let settings = recovery::recovery_settings(&cli, plan.repo.root(), None, explicit, timeline);
        append_auto_conf(&building, &settings)?;
        let tablespaces = crate::physical::laydown::tablespace_root(&building);
        let final_ts = crate::physical::laydown::tablespace_root(&dir);
        if tablespaces.exists() {
            aim_tablespace_links(&building, &final_ts)?;
            give_tree(&tablespaces, uid, gid)?;
        }
        give_tree(&building, uid, gid)?;
        crate::repo::sync_tree(&building)?;
        if had_old {
            std::fs::rename(&dir, &old).map_err(|e| Error::io(format!("moving {} aside", dir.display()), e))?;
        }
        staging.put("data", &name)?;
        if tablespaces.exists() {
            if final_ts.exists() {
                let _ = std::fs::rename(&final_ts, crate::physical::laydown::tablespace_root(&old));
            }
            let ts_name = final_ts.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            staging.put("data.tablespaces", &ts_name)?;
        }
        drop(staging);
        crate::repo::sync_dir(dir.parent().unwrap_or(Path::new("/")))?;
        tracing::info!(data_dir = %dir.display(), old = %old.display(), backup = %req.backup_id, "restored in place");
        Ok(InPlaceReport {
            data_dir: dir.to_string_lossy().into(),
            old_data_dir: if had_old { old.to_string_lossy().into() } else { String::new() },
            backup_chain: plan.chain.iter().map(|b| b.candidate.id.clone()).collect(),
            carried_wal: carried,
            recovery_settings: settings.iter().map(|(k, v)| format!("{k} = {v}")).collect(),
            next_step: format!(
                "Start the server as usual (e.g. `pg_ctl start -D {}`); it replays WAL to the target and promotes.",
                dir.display()
            ),
        })
    }

    /// Nothing is touched unless no server runs on `dir`, the backup is a base backup of the
    /// cluster `dir` holds (if it holds one), and the user confirmed.
    fn check_in_place(&self, req: &InPlaceRequest, dir: &Path) -> Result<()> {
        if server_running(dir) {
            return Err(Error::new(
                ErrorCode::ServerRunning,
                format!("a server is running on {}", dir.display()),
                "Stop it first (e.g. `pg_ctl stop -D DIR` or `systemctl stop postgresql`); Tideline never restores under a running server.",
            ));
        }
        let manifest = self.backup_manifest(&req.backup_id)?;
        let physical = manifest.physical.clone().ok_or_else(|| {
            Error::invalid_input(
                format!("{} is not a base backup", req.backup_id),
                "Restore in place takes a base backup.",
            )
        })?;
        if dir.join("global/pg_control").exists() {
            let sysid = crate::wal::control::data_dir_system_identifier(dir)?;
            if sysid.to_string() != physical.system_identifier {
                return Err(Error::new(
                    ErrorCode::WalForeignCluster,
                    format!("{} belongs to cluster {sysid}, the backup to {}", dir.display(), physical.system_identifier),
                    "Restore in place replaces a cluster with its own backup; use `tideline pitr` for a copy elsewhere.",
                ));
            }
        }
        if !req.confirmed {
            return Err(Error::new(
                ErrorCode::ConfirmationRequired,
                format!("restoring {} in place of {} needs confirmation", req.backup_id, dir.display()),
                "The current directory is kept beside it, renamed; add --yes to go ahead.",
            ));
        }
        Ok(())
    }
}

/// The recovery settings, after what the backup's postgresql.auto.conf already holds.
fn append_auto_conf(data: &Path, settings: &[(String, String)]) -> Result<()> {
    let auto = data.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
    text.push_str("# Tideline restore-in-place\n");
    for (k, v) in settings {
        text.push_str(&format!("{k} = {v}\n"));
    }
    std::fs::write(&auto, text).map_err(|e| Error::io("writing postgresql.auto.conf", e))
}

/// The tablespace links point into the staging directory: aim them at where the tablespaces
/// will be, while the tree is still root's alone.
fn aim_tablespace_links(building: &Path, final_ts: &Path) -> Result<()> {
    for entry in std::fs::read_dir(building.join("pg_tblspc")).into_iter().flatten().flatten() {
        let link = entry.path();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(final_ts.join(entry.file_name()), &link)
            .map_err(|e| Error::io(format!("linking {}", link.display()), e))?;
    }
    Ok(())
}
