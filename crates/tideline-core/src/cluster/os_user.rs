//! `postgres` refuses to run as root. When Tideline runs as root, the clusters it manages are
//! owned and run by an unprivileged OS user: `TIDELINE_CLUSTER_USER`, else `postgres`.

use crate::error::{Error, ErrorCode, Result};
use std::ffi::CString;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl OsUser {
    pub fn lookup(name: &str) -> Option<OsUser> {
        let cname = CString::new(name).ok()?;
        // SAFETY: getpwnam returns a pointer into static storage or null; we copy out at once.
        let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
        if pw.is_null() {
            return None;
        }
        let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
        Some(OsUser { name: name.to_string(), uid, gid })
    }
}

impl OsUser {
    /// The user with this uid (the owner of a data directory, say).
    pub fn by_uid(uid: u32) -> Option<OsUser> {
        // SAFETY: getpwuid returns a pointer into static storage or null; we copy out at once.
        let pw = unsafe { libc::getpwuid(uid) };
        if pw.is_null() {
            return None;
        }
        let name = unsafe { std::ffi::CStr::from_ptr((*pw).pw_name) }.to_string_lossy().to_string();
        let gid = unsafe { (*pw).pw_gid };
        Some(OsUser { name, uid, gid })
    }

    pub fn current() -> Option<OsUser> {
        // SAFETY: geteuid has no preconditions.
        Self::by_uid(unsafe { libc::geteuid() })
    }
}

pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The user that owns and runs managed clusters, or None to run them as ourselves. Never
/// `nobody`: that account is shared by every daemon that drops privileges, and whatever it owns
/// (a sandbox's data, its password file) is theirs too.
pub fn cluster_owner() -> Result<Option<OsUser>> {
    if !running_as_root() {
        return Ok(None);
    }
    let wanted = std::env::var("TIDELINE_CLUSTER_USER").ok().filter(|s| !s.is_empty());
    let name = wanted.clone().unwrap_or_else(|| "postgres".into());
    if name == "nobody" || name == "root" {
        return Err(Error::new(
            ErrorCode::ClusterFailed,
            format!("TIDELINE_CLUSTER_USER names '{name}', which must not own PostgreSQL data"),
            "Give PostgreSQL a user of its own: `useradd --system --home-dir /var/lib/tideline tideline-pg`, then set TIDELINE_CLUSTER_USER=tideline-pg.",
        ));
    }
    OsUser::lookup(&name).map(Some).ok_or_else(|| {
        Error::new(
            ErrorCode::ClusterFailed,
            format!("PostgreSQL cannot run as root, and no OS user named '{name}' exists to run it"),
            "Install PostgreSQL's packages (they create the postgres user), or create one: `useradd --system --home-dir /var/lib/tideline tideline-pg`, then set TIDELINE_CLUSTER_USER=tideline-pg.",
        )
    })
}

/// The owner must be able to reach `dir`: every ancestor needs search permission for it.
pub fn check_reachable(dir: &Path, owner: &OsUser) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.mode();
        let ok = if meta.uid() == owner.uid {
            mode & 0o100 != 0
        } else if meta.gid() == owner.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(Error::new(
                ErrorCode::ClusterFailed,
                format!("OS user '{}' cannot reach {} ({} is mode {:o})", owner.name, dir.display(), ancestor.display(), mode & 0o7777),
                "Put managed clusters under a directory that user can traverse (e.g. /var/lib/tideline), or run Tideline as a normal user.",
            ));
        }
    }
    Ok(())
}
