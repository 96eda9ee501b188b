//! `tideline sandbox list | show | stop | start | remove`. Whether a sandbox runs is read from
//! its server each time (pg_ctl status, i.e. postmaster.pid and the process), so the list is
//! right after a crash or a reboot.

use super::{missing, Sandbox, SandboxRecord};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::profile::{ProfileDraft, SslMode};
use crate::secret::Secret;

impl Engine {
    fn sandbox_record(&self, id: &str) -> Result<SandboxRecord> {
        self.catalog().sandbox(id)?.ok_or_else(|| missing(id))
    }

    pub fn sandboxes(&self) -> Result<Vec<Sandbox>> {
        let records = self.catalog().sandboxes()?;
        Ok(records.into_iter().map(SandboxRecord::into_view).collect())
    }

    pub fn sandbox(&self, id: &str) -> Result<Sandbox> {
        Ok(self.sandbox_record(id)?.into_view())
    }

    pub fn sandbox_stop(&self, id: &str) -> Result<Sandbox> {
        let record = self.sandbox_record(id)?;
        record.cluster()?.stop()?;
        Ok(record.into_view())
    }

    /// Starts a stopped sandbox, on its old port when that is still free.
    pub fn sandbox_start(&self, id: &str) -> Result<Sandbox> {
        let mut record = self.sandbox_record(id)?;
        if record.creating.is_some() {
            return Err(Error::new(
                crate::error::ErrorCode::SandboxFailed,
                format!("sandbox {id} was never finished"),
                "Its making was cut off; remove it (`tideline sandbox remove ID`) and make it again.",
            ));
        }
        let mut cluster = record.cluster()?;
        if !cluster.is_running() {
            cluster.start_on(Some(record.port))?;
        }
        if record.port != cluster.port {
            record.port = cluster.port;
            self.catalog().save_sandbox(&record)?;
        }
        Ok(record.into_view())
    }

    /// Removes the sandboxes whose making a killed Tideline cut off: their servers are stopped
    /// and their directories deleted. Called before a new sandbox is made; never fails it.
    pub(crate) fn remove_unfinished_sandboxes(&self) {
        let Ok(records) = self.catalog().sandboxes() else { return };
        for r in
            records.into_iter().filter(|r| r.creating.as_deref().is_some_and(|m| !crate::process::process_alive(m)))
        {
            tracing::warn!(sandbox = %r.id, "removing a sandbox whose making was cut off");
            if let Err(e) = self.sandbox_remove(&r.id) {
                tracing::warn!(sandbox = %r.id, error = %e.message, "could not remove an unfinished sandbox");
            }
        }
    }

    /// Stops the server and deletes the sandbox's directory (its measurements stay).
    pub fn sandbox_remove(&self, id: &str) -> Result<()> {
        let record = self.sandbox_record(id)?;
        let root = std::path::PathBuf::from(&record.root);
        match record.cluster() {
            Ok(cluster) => cluster.stop()?,
            // Stopped with the installed binaries of its major, never ones an untrusted file names.
            Err(_) if root.join("data").exists() => {
                let server = self.tools()?.server_for(record.major, "pg_ctl")?.clone();
                crate::cluster::ManagedCluster::for_removal(&root, &server)?.stop()?
            }
            Err(_) => {}
        }
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|e| Error::io(format!("removing {}", root.display()), e))?;
        }
        if record.kind == super::SandboxKind::Restore {
            self.secrets.delete(&crate::keychain::sandbox_account(id))?;
        }
        self.catalog().delete_sandbox(id)?;
        tracing::info!(sandbox = %id, "sandbox removed");
        Ok(())
    }

    /// The superuser password of a sandbox Tideline initialised (a restore sandbox), for its
    /// owner to connect with. A recovery sandbox has the source's roles and their passwords.
    pub fn sandbox_password(&self, id: &str) -> Result<Secret> {
        let record = self.sandbox_record(id)?;
        if record.kind != super::SandboxKind::Restore {
            return Err(Error::new(
                crate::error::ErrorCode::InvalidInput,
                format!("sandbox {id} is a recovered copy: its roles and passwords are the source's"),
                format!(
                    "Connect as {} with the password that role had on the source at the recovery target.",
                    record.user
                ),
            ));
        }
        self.secrets.get(&crate::keychain::sandbox_account(id))?.ok_or_else(|| {
            Error::new(
                crate::error::ErrorCode::PasswordMissing,
                format!("the keychain has no password for sandbox {id}"),
                "Remove the sandbox and restore into a new one; Tideline still reaches it over its private socket.",
            )
        })
    }

    /// How to connect to a running sandbox as its profile's role (same roles, same passwords).
    pub(crate) fn sandbox_connection(&self, id: &str) -> Result<(SandboxRecord, ProfileDraft, Option<Secret>)> {
        let sandbox = self.sandbox(id)?;
        if sandbox.status != super::SandboxStatus::Running {
            return Err(Error::new(
                crate::error::ErrorCode::ServerNotRunning,
                format!("sandbox {id} is not running"),
                "Start it with `tideline sandbox start ID`.",
            ));
        }
        let profile = self.profile(&sandbox.record.profile)?;
        let password = self.password(&profile)?;
        // The private socket, where the OS user Tideline runs as is let in as the profile's
        // role (peer): it works whether or not the source's role has a password.
        let draft = ProfileDraft {
            name: id.into(),
            host: std::path::Path::new(&sandbox.record.root).join("socket").to_string_lossy().into(),
            port: sandbox.record.port,
            database: sandbox.record.database.clone(),
            user: sandbox.record.user.clone(),
            sslmode: SslMode::Disable,
            ..ProfileDraft::default()
        };
        Ok((sandbox.record, draft, password))
    }
}
