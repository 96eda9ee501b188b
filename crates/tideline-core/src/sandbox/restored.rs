//! Sandboxes a logical backup is restored into (`tideline restore ID --sandbox`): a new
//! Tideline-managed cluster of the backup's major (or the nearest newer one), whose superuser is
//! the profile's role. Tideline reaches it over its private socket; anyone else needs the
//! random superuser password Tideline chose and keeps in the keychain (`sandbox password ID`).
//! A failed restore removes it.

use super::{new_id, sandboxes_root, SandboxKind, SandboxRecord};
use crate::cluster::{ClusterSpec, ManagedCluster};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileDraft};
use crate::secret::Secret;

/// A sandbox being restored into: removed when dropped unless kept (its directory, and the
/// record that listed it while it was being made, from the catalog in `home`).
pub struct NewSandbox {
    pub record: SandboxRecord,
    cluster: Option<ManagedCluster>,
    /// The keychain holding its password (stored before anything is made, so a machine
    /// without a keychain is told at once), forgotten again unless the sandbox is kept.
    secrets: std::sync::Arc<dyn crate::keychain::SecretStore>,
    home: std::path::PathBuf,
    kept: bool,
}

impl Drop for NewSandbox {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Some(c) = self.cluster.take() {
            if let Err(e) = c.remove() {
                tracing::warn!(sandbox = %self.record.id, error = %e.message, "removing a failed restore's sandbox");
            }
        }
        if let Err(e) = crate::catalog::Catalog::open(&self.home).and_then(|c| c.delete_sandbox(&self.record.id)) {
            tracing::warn!(sandbox = %self.record.id, error = %e.message, "forgetting a failed restore's sandbox");
        }
        if let Err(e) = self.secrets.delete(&crate::keychain::sandbox_account(&self.record.id)) {
            tracing::warn!(sandbox = %self.record.id, error = %e.message, "forgetting a failed restore's password");
        }
    }
}

impl NewSandbox {
    /// How the restore connects: as the profile's role, to `database`, over the socket.
    pub fn draft(&self, database: &str) -> ProfileDraft {
        let c = self.cluster.as_ref().expect("a started sandbox");
        c.socket_draft(&self.record.id, &self.record.user, database)
    }

    pub fn major(&self) -> u32 {
        self.record.major
    }
}

impl Engine {
    /// Creates and starts the sandbox for restoring a backup taken with PostgreSQL `major`.
    pub(crate) async fn new_restore_sandbox(
        &self,
        backup_id: &str,
        major: u32,
        database: &str,
        profile: &Profile,
    ) -> Result<NewSandbox> {
        let server = self.tools()?.server_for(major, "postgres")?.clone();
        self.remove_unfinished_sandboxes();
        let id = new_id();
        let root = sandboxes_root(self.home()).join(&id);
        if let Some(parent) = root.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
            use std::os::unix::fs::PermissionsExt;
            // Search only: the server's OS user must reach its own sandbox, nothing more.
            let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o711));
        }
        let password = Secret::new(format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()));
        let spec = ClusterSpec {
            superuser: profile.user.clone(),
            password: Some(password.clone()),
            settings: vec![],
            sandbox_rules: true,
            wal_segment_mb: None,
        };
        let mut sandbox = NewSandbox {
            record: SandboxRecord {
                id: id.clone(),
                profile: profile.name.clone(),
                root: root.to_string_lossy().into(),
                major: server.major,
                database: database.to_string(),
                user: profile.user.clone(),
                backup_id: backup_id.to_string(),
                backup_chain: vec![backup_id.to_string()],
                ..SandboxRecord::being_made(SandboxKind::Restore, self.clock.now_rfc3339())
            },
            cluster: None,
            secrets: self.secrets.clone(),
            home: self.home().to_path_buf(),
            kept: false,
        };
        self.secrets.set(&crate::keychain::sandbox_account(&id), &password)?;
        // Listed before its server starts: a Tideline killed meanwhile leaves it as unfinished.
        self.catalog().save_sandbox(&sandbox.record)?;
        let mut cluster = ManagedCluster::create(&root, &server, &spec)?;
        sandbox.cluster = Some(cluster.clone());
        cluster.start()?;
        sandbox.record.port = cluster.port;
        sandbox.cluster = Some(cluster);
        let client = crate::connect::connect(&sandbox.draft("postgres"), None).await?;
        sandbox.record.system_identifier = crate::pg::server::system_identifier(&client).await?;
        Ok(sandbox)
    }

    /// The restore into it succeeded: it stays, and is listed with the others.
    pub(crate) fn keep_sandbox(&self, mut sandbox: NewSandbox, restore_ms: u64) -> Result<super::Sandbox> {
        sandbox.record.laydown_ms = restore_ms;
        sandbox.record.creating = None;
        self.catalog().save_sandbox(&sandbox.record)?;
        sandbox.kept = true;
        Ok(sandbox.record.clone().into_view())
    }
}
