//! The one data directory shared by the app and the CLI (brief §3): `TIDELINE_HOME` if set,
//! else the platform data directory + `tideline`. It holds the catalog and the logs.

use crate::error::{Error, ErrorCode, Result};
use std::path::{Path, PathBuf};

pub fn data_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("TIDELINE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    dirs::data_dir().map(|d| d.join("tideline")).ok_or_else(|| {
        Error::new(
            ErrorCode::Io,
            "no data directory could be found for this user",
            "Set TIDELINE_HOME to a directory Tideline may write to.",
        )
    })
}

/// Creates `dir` (and parents) private to this user: it will hold the catalog and logs. The
/// parents it creates are 0700 too: their names (profiles, databases) are nobody else's business.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("restricting {}", dir.display()), e))?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents so that others may pass through (a server's OS user
/// reads WAL in a repository it was shown the way to) but never list what is inside: the
/// repository's folders, made by whoever writes first (wal-push, the stream, a sync).
pub fn ensure_passable_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o711);
    builder.create(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}
