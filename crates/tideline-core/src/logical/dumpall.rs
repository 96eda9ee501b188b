//! `tideline dumpall`: pg_dumpall of the whole cluster, its globals (roles, tablespaces), or
//! its roles only, as a plain SQL script in the repository.

use crate::catalog::backups::BackupRecord;
use crate::engine::Engine;
use crate::error::ErrorCode;
use crate::error::Result;
use crate::job::Job;
use crate::pg::server::server_version;
use crate::pg::tool_run::{run_logged, TableSizes};
use crate::repo::checksum;
use crate::repo::finished::FinishedRun;
use crate::repo::ids::new_backup_id;
use crate::repo::manifest::RowCounts;
use crate::repo::options::{DumpFormat, DumpOptions};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DumpallMode {
    /// Every database, with the globals first.
    Cluster,
    /// Roles and tablespaces.
    Globals,
    Roles,
}

impl DumpallMode {
    pub fn kind(self) -> crate::repo::manifest::BackupKind {
        match self {
            DumpallMode::Cluster => crate::repo::manifest::BackupKind::Dumpall,
            DumpallMode::Globals => crate::repo::manifest::BackupKind::Globals,
            DumpallMode::Roles => crate::repo::manifest::BackupKind::Roles,
        }
    }
}

impl Engine {
    /// The backup, then its upload to the profile's repository and its second copy, where
    /// it has them (`repo::copies`).
    pub async fn dumpall(&self, profile_name: &str, mode: DumpallMode, job: &Job) -> Result<BackupRecord> {
        let record = self.dump_cluster(profile_name, mode, job).await?;
        self.copy_to_repositories(&record, job).await?;
        Ok(record)
    }

    async fn dump_cluster(&self, profile_name: &str, mode: DumpallMode, job: &Job) -> Result<BackupRecord> {
        job.phase("connecting");
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let client = crate::connect::connect(&draft, password.as_ref()).await?;
        let (server_version, server_major) = server_version(&client).await?;
        let inst = self.tools()?.client_for(server_major, "pg_dumpall")?.clone();

        let id = new_backup_id(&self.clock.now());
        let repo = self.repository()?;
        let staging = repo.stage(repo.cluster_dir(&profile.name).join(&id))?;
        let artifact = "cluster.sql";
        let mut args = vec![
            "--verbose".to_string(),
            format!("--file={}", staging.path().join(artifact).display()),
            format!("--database={}", draft.database),
        ];
        match mode {
            DumpallMode::Cluster => {}
            DumpallMode::Globals => args.push("--globals-only".into()),
            DumpallMode::Roles => args.push("--roles-only".into()),
        }
        let started_at = self.clock.now_rfc3339();
        let started = Instant::now();
        let log_path = staging.path().join("pg_dump.log");
        let mut cc = crate::libpq_env::client_command(&inst.path("pg_dumpall"), &draft, password.as_ref())?;
        cc.command.args(&args);
        run_logged(
            self.runner(),
            cc,
            &log_path,
            "pg_dumpall",
            job,
            "dumping",
            &TableSizes::new(),
            ErrorCode::BackupFailed,
        )
        .await?;
        job.phase("checksumming");

        let files = checksum::inventory(staging.path(), &[crate::repo::MANIFEST])?;
        let run = FinishedRun {
            id,
            kind: mode.kind(),
            profile: (profile.name.clone(), profile.id.clone()),
            database: crate::repo::CLUSTER_DIR.into(),
            server: (server_version, server_major),
            tool: inst.used("pg_dumpall", server_major, args),
            options: DumpOptions { format: DumpFormat::Plain, ..Default::default() },
            artifact: artifact.into(),
            started_at,
            started,
            files,
            row_counts: RowCounts::skipped("pg_dumpall backups carry no row counts; back up each database for those"),
            database_size_bytes: None,
            physical: None,
        };
        self.finish_backup(staging, run)
    }
}
