//! The `tideline` CLI as another OS user can run it: a server's archive_command and
//! restore_command run `tideline wal-push` / `wal-fetch` as the server's own user, who may not
//! reach this binary (under /root, say) when Tideline runs as root.

use super::{os_user::check_reachable, running_as_root, OsUser};
use crate::error::{Error, ErrorCode, Result};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The `tideline` CLI: `TIDELINE_CLI` where it is installed elsewhere, this process when it is
/// the CLI, else the one beside this binary (the app ships them together).
pub fn cli_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TIDELINE_CLI").filter(|p| !p.is_empty()) {
        return Ok(path.into());
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the tideline binary", e))?;
    let name = if cfg!(windows) { "tideline.exe" } else { "tideline" };
    if exe.file_name().is_some_and(|n| n == name) {
        return Ok(exe);
    }
    let sibling = exe.with_file_name(name);
    if sibling.is_file() {
        return Ok(sibling);
    }
    Err(Error::new(
        ErrorCode::ToolMissing,
        "the tideline CLI was not found beside the app".to_string(),
        "Set TIDELINE_CLI to the tideline binary: recovery runs `tideline wal-fetch`.",
    ))
}

fn can_execute(path: &Path, user: &OsUser) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let bit = if meta.uid() == user.uid {
        0o100
    } else if meta.gid() == user.gid {
        0o010
    } else {
        0o001
    };
    meta.mode() & bit != 0 && check_reachable(path, user).is_ok()
}

/// A path to the CLI that `user` can run: the binary itself, or a copy under `shared_dir`
/// (0755) named by its size and time, so one copy serves every sandbox of that build.
pub fn runnable_cli(cli: &Path, user: Option<&OsUser>, shared_dir: &Path) -> Result<PathBuf> {
    let Some(user) = user.filter(|_| running_as_root()) else {
        return Ok(cli.to_path_buf());
    };
    if can_execute(cli, user) {
        return Ok(cli.to_path_buf());
    }
    let meta = std::fs::metadata(cli).map_err(|e| Error::io(format!("reading {}", cli.display()), e))?;
    let copy = shared_dir.join(".bin").join(format!("tideline-{}-{}", meta.len(), meta.mtime()));
    if !copy.is_file() {
        let dir = copy.parent().expect("has a parent");
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("chmod {}", dir.display()), e))?;
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::copy(cli, &tmp).map_err(|e| Error::io(format!("copying {}", cli.display()), e))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("chmod {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &copy).map_err(|e| Error::io(format!("renaming {}", copy.display()), e))?;
    }
    Ok(copy)
}

/// Where sandboxes live, and the CLI copies other users run: `TIDELINE_SANDBOX_ROOT`, else `<data dir>/sandboxes`; as root (the
/// server must run as another user, who cannot enter root's private data directory)
/// `/var/lib/tideline/sandboxes`.
pub fn sandboxes_root(home: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("TIDELINE_SANDBOX_ROOT").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    if running_as_root() {
        return PathBuf::from("/var/lib/tideline/sandboxes");
    }
    home.join("sandboxes")
}
