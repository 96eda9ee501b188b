//! Where archive_command sends a profile's WAL: a repository folder (this computer's, or a
//! folder repository the profile keeps its backups in) through `wal-push --repo DIR`, or the
//! profile's bucket through `wal-push --repo-config FILE`. The config file holds the bucket's
//! access key, so it is written for the server's OS user alone (0600, theirs), in a directory
//! others may pass through but not list.

use crate::catalog::repositories::{RepositoryPlace, RepositoryRecord};
use crate::cluster::os_user::{running_as_root, OsUser};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pg::recovery_target::command_path;
use std::path::{Path, PathBuf};

pub(crate) enum ArchiveTarget {
    Dir { root: PathBuf },
    Bucket { repository: Box<RepositoryRecord>, config: PathBuf },
}

impl ArchiveTarget {
    /// The WAL directory, or the bucket's prefix for it.
    pub fn wal_place(&self, sysid: &str) -> String {
        match self {
            ArchiveTarget::Dir { root } => self.wal_dir(root, sysid).display().to_string(),
            ArchiveTarget::Bucket { repository, .. } => format!("{}/clusters/{sysid}/wal/", repository.location()),
        }
    }

    fn wal_dir(&self, root: &Path, sysid: &str) -> PathBuf {
        super::archive::cluster_dir(root, sysid.parse().unwrap_or(0)).join("wal")
    }

    /// The local file a pushed segment becomes, where there is one to watch.
    pub fn local_wal_dir(&self, sysid: &str) -> Option<PathBuf> {
        match self {
            ArchiveTarget::Dir { root } => Some(self.wal_dir(root, sysid)),
            ArchiveTarget::Bucket { .. } => None,
        }
    }

    /// archive_command for this binary. Paths are single-quoted for the shell.
    pub fn command(&self, binary: &Path) -> String {
        match self {
            ArchiveTarget::Dir { root } => super::setup::archive_command(binary, root),
            ArchiveTarget::Bucket { config, .. } => {
                format!("{} wal-push --repo-config {} %p", command_path(binary), command_path(config))
            }
        }
    }

    /// Why the server's OS user could not archive this way, if it could not.
    pub fn blocker(&self, user: &OsUser, binary: &Path, sysid: &str) -> Option<String> {
        match self {
            ArchiveTarget::Dir { root } => super::setup::archive_blocker(user, binary, &self.wal_dir(root, sysid)),
            ArchiveTarget::Bucket { .. } => {
                if let Err(e) = crate::cluster::os_user::check_reachable(binary, user) {
                    return Some(format!("{} (the tideline binary)", e.message));
                }
                let me = OsUser::current();
                (me.as_ref().map(|m| m.uid) != Some(user.uid) && !running_as_root()).then(|| {
                    format!(
                        "the server runs as OS user '{}' and Tideline as '{}': the bucket's config cannot be made theirs",
                        user.name,
                        me.map(|m| m.name).unwrap_or_default()
                    )
                })
            }
        }
    }

    /// The bucket's config, when archiving there: teardown removes it (it holds a key).
    pub fn config(&self) -> Option<&Path> {
        match self {
            ArchiveTarget::Dir { .. } => None,
            ArchiveTarget::Bucket { config, .. } => Some(config),
        }
    }

    /// What the server's user needs before archiving starts: its WAL directory, or its config.
    pub fn prepare(&self, engine: &Engine, user: Option<&OsUser>, sysid: &str) -> Result<()> {
        match self {
            ArchiveTarget::Dir { root } => super::setup::prepare_wal_dir(&self.wal_dir(root, sysid), user),
            ArchiveTarget::Bucket { repository, config } => {
                let dir = config.parent().expect("a config has a directory");
                let mut builder = std::fs::DirBuilder::new();
                std::os::unix::fs::DirBuilderExt::mode(builder.recursive(true), 0o711);
                builder.create(dir).map_err(|e| crate::error::Error::io(format!("creating {}", dir.display()), e))?;
                engine.write_wal_config(&repository.name, config, user.map(|u| u.name.as_str()), false)
            }
        }
    }
}

impl Engine {
    /// The configs `wal setup` wrote for repository `id` (`<sandboxes>/.wal-configs/<id>-*.json`),
    /// written again for the same owner.
    pub(crate) fn rewrite_wal_configs(&self, id: &str, name: &str) -> Result<Vec<String>> {
        use std::os::unix::fs::MetadataExt;
        let dir = self.wal_configs_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(vec![]) };
        let mut rewritten = Vec::new();
        for path in entries.flatten().map(|e| e.path()) {
            let file = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if !(file.starts_with(&format!("{id}-")) && file.ends_with(".json")) {
                continue;
            }
            let meta =
                std::fs::symlink_metadata(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            let owner = crate::cluster::os_user::OsUser::by_uid(meta.uid()).map(|u| u.name);
            self.write_wal_config(name, &path, owner.as_deref(), false)?;
            rewritten.push(path.display().to_string());
        }
        Ok(rewritten)
    }

    /// Where `wal setup` writes the configs of bucket repositories.
    fn wal_configs_dir(&self) -> PathBuf {
        crate::cluster::runnable_cli::sandboxes_root(self.home()).join(".wal-configs")
    }

    /// Where archive_command should send `profile`'s WAL (see the module comment).
    pub(crate) fn archive_target(&self, profile_id: &str, sysid: &str) -> Result<ArchiveTarget> {
        // Bound first: a catalog guard held across the match would lock the engine.
        let repository = self.catalog().profile_repository(profile_id)?;
        Ok(match repository {
            Some(RepositoryRecord { place: RepositoryPlace::Dir { path }, .. }) => {
                ArchiveTarget::Dir { root: path.into() }
            }
            Some(repository) => {
                let config = self.wal_configs_dir().join(format!("{}-{sysid}.json", repository.id));
                ArchiveTarget::Bucket { repository: Box::new(repository), config }
            }
            None => ArchiveTarget::Dir { root: self.repository()?.root().to_path_buf() },
        })
    }
}
