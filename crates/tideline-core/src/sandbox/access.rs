//! A recovering server runs `tideline wal-fetch` as its own OS user. When Tideline runs as
//! root that user is someone else, who must be able to run the binary and read the archive;
//! this gives exactly that and no more (search permission inside the repository, the WAL
//! files' group), or says what is in the way.

use crate::cluster::{os_user::check_reachable, running_as_root, OsUser};
use crate::error::{Error, ErrorCode, Result};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Lets `user` read the WAL archive at `wal_dir` (inside `repo`): search permission on the
/// repository's own directories, and the WAL files' group set to the user's. Directories
/// above the repository are the user's business: refused with a hint when closed.
pub fn grant_wal_read(repo: &Path, wal_dir: &Path, user: Option<&OsUser>) -> Result<()> {
    let Some(user) = user.filter(|_| running_as_root()) else {
        return Ok(());
    };
    check_reachable(repo, user).map_err(|e| {
        Error::new(
            ErrorCode::ClusterFailed,
            format!("the recovering server runs as '{}', which cannot reach the repository: {}", user.name, e.message),
            "Put the repository where that user can traverse (e.g. /var/lib/tideline/repo: `tideline repo path DIR`), or run Tideline as a normal user.",
        )
    })?;
    // The server's user writes into the WAL directory (archive_command): every change here is
    // made on the opened file, so a link it planted is refused, never followed.
    let open_up = |p: &Path, add: u32, gid: Option<u32>| -> Result<()> {
        crate::cluster::no_follow::open_up(p, add, gid)
            .map(|_| ())
            .map_err(|e| Error::io(format!("opening {} to '{}'", p.display(), user.name), e))
    };
    for dir in wal_dir.ancestors().skip(1).take_while(|d| d.starts_with(repo)) {
        open_up(dir, 0o011, None)?;
    }
    let group = |meta: &std::fs::Metadata| (meta.uid() != user.uid && meta.gid() != user.gid).then_some(user.gid);
    let meta =
        std::fs::symlink_metadata(wal_dir).map_err(|e| Error::io(format!("reading {}", wal_dir.display()), e))?;
    // setgid: files stored later (by a root-run stream) take the directory's group.
    open_up(wal_dir, 0o2050, group(&meta))?;
    for entry in std::fs::read_dir(wal_dir).map_err(|e| Error::io(format!("reading {}", wal_dir.display()), e))? {
        let path = entry.map_err(|e| Error::io(format!("reading {}", wal_dir.display()), e))?.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_file() {
            open_up(&path, 0o040, group(&meta))?;
        }
    }
    Ok(())
}

/// Who may do what in the repository (`tideline repo path`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct RepositoryAccess {
    pub path: String,
    pub exists: bool,
    pub owner: Option<String>,
    /// Permission bits, octal (e.g. `711`).
    pub mode: Option<String>,
    /// As root: the OS user the servers run as (archive_command, a sandbox's restore_command).
    pub cluster_user: Option<String>,
    /// Whether that user can reach the repository (every directory above it searchable).
    pub cluster_user_reaches: Option<bool>,
    /// The above, as a sentence.
    pub summary: String,
    /// Free space on its file system (of its nearest existing folder), for backups to come.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub free_bytes: Option<u64>,
}

/// What `repo` allows: its owner and mode, and whether the servers' OS user gets in.
pub fn repository_access(repo: &Path) -> RepositoryAccess {
    let meta = std::fs::metadata(repo).ok();
    let owner = meta.as_ref().map(|m| OsUser::by_uid(m.uid()).map(|u| u.name).unwrap_or_else(|| m.uid().to_string()));
    let mode = meta.as_ref().map(|m| m.mode() & 0o7777);
    let cluster_user = crate::cluster::cluster_owner().ok().flatten();
    let reaches = cluster_user.as_ref().map(|u| check_reachable(&repo.join("x"), u).is_ok());
    let others = match mode {
        None => "it does not exist yet (it is made with the first backup)".to_string(),
        Some(m) if m & 0o004 != 0 => "every local user can list it".to_string(),
        Some(m) if m & 0o001 != 0 => "other users may pass through it but not list it".to_string(),
        Some(_) => "no other user can enter it".to_string(),
    };
    let mut summary = format!(
        "{}: owned by {}, mode {}; {others}.",
        repo.display(),
        owner.as_deref().unwrap_or("-"),
        mode.map(|m| format!("{m:o}")).unwrap_or_else(|| "-".into())
    );
    if let (Some(user), Some(ok)) = (&cluster_user, reaches) {
        summary.push_str(&if ok {
            format!(
                " The servers' OS user '{}' can reach it, and is given read access to the WAL archive only.",
                user.name
            )
        } else {
            format!(
                " The servers' OS user '{}' cannot reach it: archiving and recovery need a directory it can traverse.",
                user.name
            )
        });
    }
    RepositoryAccess {
        free_bytes: crate::repo::free_bytes(repo),
        path: repo.display().to_string(),
        exists: meta.is_some(),
        owner,
        mode: mode.map(|m| format!("{m:o}")),
        cluster_user: cluster_user.map(|u| u.name),
        cluster_user_reaches: reaches,
        summary,
    }
}
