//! `tideline demo`: a Tideline-managed local cluster with sample data (pagila's schema, MIT
//! licence, plus generated rows), archiving its WAL into the repository, a base backup, and a
//! profile named `demo` — so a new user can go backup → accident → PITR in the first minute.
//! `tideline demo --accident` is the scripted accident: a restore point, then a DELETE
//! without WHERE, archived at once so the timeline shows it and PITR can undo it.

use crate::cluster::{cluster_owner, os_user::check_reachable, running_as_root, ClusterSpec, ManagedCluster};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::physical::options::BaseBackupOptions;
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

pub const PROFILE: &str = "demo";
const DATABASE: &str = "pagila";
// pagila's schema assigns its objects to postgres.
const SUPERUSER: &str = "postgres";
const SCHEMA: &str = include_str!("pagila-schema.sql");
/// The restore point `--accident` leaves just before it strikes.
pub const ACCIDENT_MARK: &str = "before-accident";

// pagila's schema empties search_path for the session it runs in.
const ROWS: &str = "
SET search_path TO public;
INSERT INTO language (name) SELECT 'lang ' || g FROM generate_series(1, 20) g;
INSERT INTO actor (first_name, last_name) SELECT 'First' || g, initcap(md5(g::text)) FROM generate_series(1, 2000) g;
INSERT INTO category (name) SELECT 'cat ' || g FROM generate_series(1, 16) g;
INSERT INTO film (title, description, language_id, fulltext, rental_rate, length)
  SELECT 'Film ' || g, repeat(md5(g::text), 3), 1 + g % 20, to_tsvector('film ' || g), 0.99 + g % 5, 60 + g % 120
  FROM generate_series(1, 1000) g;
INSERT INTO film_actor (actor_id, film_id) SELECT 1 + g % 2000, 1 + g % 1000 FROM generate_series(1, 5000) g ON CONFLICT DO NOTHING;
INSERT INTO film_category (film_id, category_id) SELECT g, 1 + g % 16 FROM generate_series(1, 1000) g;
ANALYZE;";

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DemoReport {
    pub profile: String,
    pub database: String,
    pub major: u32,
    pub port: u16,
    pub root: String,
    pub repository: String,
    /// True when this call created it (false: it existed and was started if needed).
    pub created: bool,
    pub base_backup_id: Option<String>,
    /// Set by `--accident`: what was deleted and the restore point before it.
    pub accident: Option<String>,
    pub next_steps: Vec<String>,
}

/// Where the demo cluster lives: beside the sandboxes (reachable by the server's OS user).
/// Outside the data directory (as root), the name says whose it is: one demo per data directory.
pub fn demo_root(home: &Path) -> PathBuf {
    let sandboxes = crate::sandbox::sandboxes_root(home);
    if sandboxes.starts_with(home) {
        return sandboxes.with_file_name("demo");
    }
    let owner = blake3::hash(home.as_os_str().as_encoded_bytes()).to_hex();
    sandboxes.with_file_name(format!("demo-{}", &owner[..8]))
}

impl Engine {
    fn demo_cluster(&self) -> Option<ManagedCluster> {
        ManagedCluster::open(&demo_root(self.home()).join("cluster")).ok()
    }

    /// Creates the demo (or starts the existing one); `reset` removes it first.
    pub async fn demo(&self, reset: bool, job: &Job) -> Result<DemoReport> {
        if reset {
            self.demo_remove()?;
        }
        if let Some(mut cluster) = self.demo_cluster() {
            if !cluster.is_running() {
                let port = self.profile(PROFILE).map(|p| p.port).ok();
                cluster.start_on(port)?;
                self.demo_profile_port(cluster.port)?;
            }
            return self.demo_report(&cluster, false, None);
        }
        let created = self.demo_create(job).await;
        if created.is_err() {
            // A half-made demo (say, the keychain refused its password) would be found next
            // time and never finished: take it away so the next attempt starts clean.
            if let Err(e) = self.demo_remove() {
                tracing::warn!(error = %e.message, "removing a half-made demo");
            }
        }
        created
    }

    fn demo_profile_port(&self, port: u16) -> Result<()> {
        let mut draft = self.profile(PROFILE)?.draft();
        if draft.port != port {
            draft.port = port;
            self.update_profile(PROFILE, &draft, &crate::profile::PasswordChange::Keep)?;
        }
        Ok(())
    }

    fn demo_report(&self, cluster: &ManagedCluster, created: bool, accident: Option<String>) -> Result<DemoReport> {
        let base = self
            .backups(Some(PROFILE))?
            .into_iter()
            .rev()
            .find(|b| b.kind == crate::repo::manifest::BackupKind::Base)
            .map(|b| b.id);
        Ok(DemoReport {
            profile: PROFILE.into(),
            database: DATABASE.into(),
            major: cluster.major,
            port: cluster.port,
            root: cluster.root().display().to_string(),
            repository: self.repository()?.root().display().to_string(),
            created,
            base_backup_id: base,
            accident,
            next_steps: vec![
                "tideline demo --accident          # DELETE FROM film_actor, after a restore point".into(),
                format!("tideline pitr demo --name {ACCIDENT_MARK}   # the rows back, in a sandbox"),
                "tideline timeline demo".into(),
            ],
        })
    }

    /// The repository the demo's server can write WAL into: as root, the server runs as
    /// another user who cannot enter root's private data directory, so an untouched default
    /// repository moves to /var/lib/tideline/repo.
    fn demo_repository(&self) -> Result<PathBuf> {
        let repo = self.repository()?.root().to_path_buf();
        let Some(owner) = cluster_owner()? else {
            return Ok(repo);
        };
        if check_reachable(&repo, &owner).is_ok() {
            return Ok(repo);
        }
        if !self.backups(None)?.is_empty() {
            return Err(Error::new(
                ErrorCode::WalSetupBlocked,
                format!(
                    "the demo server runs as '{}', which cannot reach the repository {}",
                    owner.name,
                    repo.display()
                ),
                "Move the repository where that user can traverse: `tideline repo path /var/lib/tideline/repo`.",
            ));
        }
        let moved = PathBuf::from("/var/lib/tideline/repo");
        self.set_repository(&moved)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&moved, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| Error::io(format!("chmod {}", moved.display()), e))?;
        Ok(moved)
    }

    async fn demo_create(&self, job: &Job) -> Result<DemoReport> {
        job.phase("creating the demo cluster");
        let tools = self.tools()?;
        let install = tools
            .installations
            .iter()
            .filter(|i| ["initdb", "pg_ctl", "postgres"].iter().all(|t| i.has(t)))
            .filter(|i| tools.client_for(i.major, "pg_basebackup").is_ok())
            .max_by_key(|i| i.major)
            .cloned()
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ToolMissing,
                    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found".to_string(),
                    "Install a PostgreSQL server (e.g. `apt install postgresql`) and run `tideline tools`.",
                )
            })?;
        let repo = self.demo_repository()?;
        let owner = cluster_owner()?;
        let root = demo_root(self.home());
        std::fs::create_dir_all(&root).map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        if running_as_root() {
            use std::os::unix::fs::PermissionsExt;
            for dir in [root.as_path(), root.parent().unwrap_or(Path::new("/"))] {
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711));
            }
        }
        let cli = crate::cluster::runnable_cli::runnable_cli(
            &crate::cluster::runnable_cli::cli_binary()?,
            owner.as_ref(),
            &crate::sandbox::sandboxes_root(self.home()),
        )?;
        let push = format!(
            "{} wal-push --repo {} %p",
            crate::pg::recovery_target::command_path(&cli),
            crate::pg::recovery_target::command_path(&repo)
        );
        let password = Secret::new(uuid::Uuid::new_v4().simple().to_string());
        let spec = ClusterSpec {
            superuser: SUPERUSER.into(),
            password: Some(password.clone()),
            settings: vec![
                ("wal_level".into(), "replica".into()),
                ("archive_mode".into(), "on".into()),
                ("archive_command".into(), crate::pg::recovery_target::conf_quote(&push)),
                // A quiet demo still shows up on the timeline within a minute.
                ("archive_timeout".into(), "60".into()),
            ],
            sandbox_rules: false,
            wal_segment_mb: None,
        };
        let mut cluster = ManagedCluster::create(&root.join("cluster"), &install, &spec)?;
        let sysid = crate::wal::control::data_dir_system_identifier(&cluster.data_dir())?;
        let wal_dir = crate::wal::archive::cluster_dir(&repo, sysid).join("wal");
        crate::wal::setup::prepare_wal_dir(&wal_dir, owner.as_ref())?;
        cluster.start()?;
        let draft = ProfileDraft { database: "postgres".into(), ..cluster.tcp_draft(PROFILE, SUPERUSER, "postgres") };
        let client = crate::connect::connect(&draft, Some(&password)).await?;
        let fail = |what: &'static str| crate::pg::server::query_failed(what);
        client
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .await
            .map_err(fail("creating the demo database"))?;
        let db = crate::connect::connect(&ProfileDraft { database: DATABASE.into(), ..draft.clone() }, Some(&password))
            .await?;
        job.phase("loading sample data");
        db.batch_execute(SCHEMA).await.map_err(fail("loading pagila's schema"))?;
        db.batch_execute(ROWS).await.map_err(fail("generating sample rows"))?;
        self.add_profile(&ProfileDraft { database: DATABASE.into(), ..draft }, Some(&password))?;
        job.phase("taking a base backup");
        let backup = self.basebackup(PROFILE, &BaseBackupOptions::default(), job).await?;
        // Some traffic after the backup, so there is WAL to recover through.
        // Separate statements: in one batch they would be one transaction, committed after the
        // switch, and the timeline would see no commit after the backup.
        db.batch_execute(
            "INSERT INTO actor (first_name, last_name) SELECT 'Later' || g, 'Actor' FROM generate_series(1, 50) g",
        )
        .await
        .map_err(fail("writing after the backup"))?;
        db.batch_execute("SELECT pg_switch_wal()").await.map_err(fail("switching WAL"))?;
        tracing::info!(port = cluster.port, major = cluster.major, backup = %backup.id, "demo created");
        self.demo_report(&cluster, true, None)
    }

    /// The scripted accident: a restore point, then `DELETE FROM film_actor`, archived at once.
    pub async fn demo_accident(&self) -> Result<DemoReport> {
        let cluster = self.demo_cluster().ok_or_else(|| {
            Error::new(ErrorCode::ProfileMissing, "there is no demo yet".to_string(), "Create it with `tideline demo`.")
        })?;
        self.mark(PROFILE, ACCIDENT_MARK).await?;
        let profile = self.profile(PROFILE)?;
        let client = crate::connect::connect(&profile.draft(), self.password(&profile)?.as_ref()).await?;
        let deleted = client
            .execute("DELETE FROM film_actor", &[])
            .await
            .map_err(crate::pg::server::query_failed("the accident"))?;
        client
            .batch_execute("SELECT pg_switch_wal()")
            .await
            .map_err(crate::pg::server::query_failed("switching WAL"))?;
        let what = format!("DELETE FROM film_actor removed {deleted} rows after restore point '{ACCIDENT_MARK}'");
        self.demo_report(&cluster, false, Some(what))
    }

    /// Stops and deletes the demo cluster, its profile, and its backups and WAL.
    pub fn demo_remove(&self) -> Result<()> {
        if let Some(cluster) = self.demo_cluster() {
            cluster.stop()?;
            // Its WAL and base backups in the repository are the demo's alone.
            if let Ok(sysid) = crate::wal::control::data_dir_system_identifier(&cluster.data_dir()) {
                let dir = crate::wal::archive::cluster_dir(self.repository()?.root(), sysid);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(format!("removing {}", dir.display()), e))?;
                }
            }
        }
        let root = demo_root(self.home());
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|e| Error::io(format!("removing {}", root.display()), e))?;
        }
        if self.profile(PROFILE).is_ok() {
            for b in self.backups(Some(PROFILE))? {
                let _ = std::fs::remove_dir_all(&b.path);
                self.catalog().delete_backup(&b.id)?;
            }
            self.remove_profile(PROFILE)?;
        }
        Ok(())
    }
}
