//! Where restore-in-place lays a backup down before it takes the data directory's place: a new
//! root-only directory beside it. The data directory's parent usually belongs to the cluster's
//! OS user, who may rename entries there at any moment — and, with Tideline running as root,
//! swap a predictable staging name for a link to `/etc`. So the staging directory gets a random
//! name, is opened once, and is reached from then on only through that descriptor
//! (`/proc/<pid>/fd/N`), and its contents are moved out with `renameat` on opened directories.

use crate::cluster::no_follow;
use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Staging {
    parent: OwnedFd,
    dir: OwnedFd,
    name: String,
}

impl Staging {
    /// A new, empty, 0700 directory in `parent`.
    pub fn create(parent: &Path) -> Result<Staging> {
        let failed = |e: std::io::Error| Error::io(format!("making a staging directory in {}", parent.display()), e);
        let parent_fd = no_follow::open_dir(parent).map_err(failed)?;
        let name = format!(".tideline-restoring-{}", uuid::Uuid::new_v4().simple());
        rustix::fs::mkdirat(&parent_fd, name.as_str(), rustix::fs::Mode::from_raw_mode(0o700))
            .map_err(|e| failed(std::io::Error::from_raw_os_error(e.raw_os_error())))?;
        let dir = no_follow::open_subdir(&parent_fd, &name).map_err(failed)?;
        Ok(Staging { parent: parent_fd, dir, name })
    }

    /// A path to `entry` inside the staging directory that no rename or link in the parent
    /// can redirect (children of this process may use it too).
    pub fn path(&self, entry: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), self.dir.as_raw_fd())).join(entry)
    }

    /// Moves `entry` out of the staging directory to `name` in the parent.
    pub fn put(&self, entry: &str, name: &str) -> Result<()> {
        rustix::fs::renameat(&self.dir, entry, &self.parent, name).map_err(|e| {
            Error::io(
                format!("moving {entry} into place as {name}"),
                std::io::Error::from_raw_os_error(e.raw_os_error()),
            )
        })
    }
}

impl Drop for Staging {
    /// Whatever is left (a failed attempt) is removed, then the directory itself.
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.path("")) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let _ = rustix::fs::unlinkat(&self.parent, self.name.as_str(), rustix::fs::AtFlags::REMOVEDIR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swapped_name_does_not_redirect_the_staging_directory() {
        let parent = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let staging = Staging::create(parent.path()).unwrap();
        // The parent's owner renames the staging directory and plants a link in its place.
        let planted = parent.path().join(&staging.name);
        std::fs::rename(&planted, parent.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), &planted).unwrap();
        std::fs::create_dir(staging.path("data")).unwrap();
        std::fs::write(staging.path("data").join("PG_VERSION"), "17").unwrap();
        assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(), "nothing written through the link");
        staging.put("data", "main").unwrap();
        assert_eq!(std::fs::read_to_string(parent.path().join("main/PG_VERSION")).unwrap(), "17");
    }
}
