//! A throwaway managed cluster for work that must not touch the user's servers (test restores,
//! schema renames): a random password, fsync off, removed when dropped.

use super::{ClusterSpec, ManagedCluster};
use crate::error::{Error, Result};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use crate::tools::Installation;

pub struct ScratchCluster {
    cluster: Option<ManagedCluster>,
    pub password: Secret,
    // Removed after the cluster (fields drop in order).
    _parent: tempfile::TempDir,
}

impl ScratchCluster {
    pub fn start(server: &Installation, purpose: &str) -> Result<ScratchCluster> {
        // Under the system temp dir: when we run as root, the cluster's owner must reach it.
        let parent = tempfile::Builder::new()
            .prefix(&format!("tideline-{purpose}-"))
            .tempdir()
            .map_err(|e| Error::io("creating a scratch directory", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755));
        }
        let password = Secret::new(uuid::Uuid::new_v4().simple().to_string());
        let spec = ClusterSpec {
            superuser: "tideline".into(),
            password: Some(password.clone()),
            settings: vec![("fsync".into(), "off".into()), ("full_page_writes".into(), "off".into())],
            sandbox_rules: true,
            wal_segment_mb: None,
        };
        let mut cluster = ManagedCluster::create(&parent.path().join("cluster"), server, &spec)?;
        let started = cluster.start();
        let scratch = ScratchCluster { cluster: Some(cluster), password, _parent: parent };
        started.map(|_| scratch)
    }

    pub fn major(&self) -> u32 {
        self.cluster.as_ref().map(|c| c.major).unwrap_or_default()
    }

    pub fn draft(&self, database: &str) -> ProfileDraft {
        self.cluster.as_ref().expect("a started scratch cluster").tcp_draft("scratch", "tideline", database)
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            if let Err(e) = c.remove() {
                tracing::warn!(error = %e.message, "removing a scratch cluster failed");
            }
        }
    }
}
