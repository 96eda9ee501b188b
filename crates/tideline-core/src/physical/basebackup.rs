//! `tideline basebackup`: pg_basebackup with `-X stream` (so the backup carries the WAL it
//! needs to become consistent) into `<repo>/clusters/<system_identifier>/base/<id>/`, checked
//! with pg_verifybackup where the binary can read the format, and recorded with the LSNs and
//! timeline that make it a starting point for point-in-time recovery.

use super::compression;
use super::options::{BaseBackupOptions, CheckpointMode};
use super::pg_basebackup_output::{parse_progress, wal_range};
use crate::catalog::backups::BackupRecord;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::pg::server::{query_failed, server_version};
use crate::pg::tool_run::{run_watched, TableSizes};
use crate::repo::checksum;
use crate::repo::finished::FinishedRun;
use crate::repo::ids::new_backup_id;
use crate::repo::manifest::{PhysicalInfo, RowCounts};
use crate::repo::options::BaseFormat;
use crate::repo::options::DumpOptions;
use std::path::Path;
use std::time::Instant;

/// Where pg_basebackup writes inside the backup directory.
pub const DATA_DIR: &str = "data";

/// pg_verifybackup reads tar backups from 18 on; plain ones always. Its WAL check runs
/// pg_waldump of its own major, which reads only that major's WAL: for another major's plain
/// backup (a 16 server has no pg_verifybackup 16 where only 17's client tools are installed),
/// Tideline's own reader checks the WAL instead.
pub(crate) fn verify_backup(
    runner: &dyn crate::process::Runner,
    inst: &crate::tools::Installation,
    dir: &Path,
    format: BaseFormat,
    server_major: u32,
    stop_lsn: &str,
) -> Result<String> {
    if format == BaseFormat::Tar && inst.major < 18 {
        return Ok(format!("not run: pg_verifybackup {} reads plain backups only (tar from 18 on)", inst.major));
    }
    if !inst.has("pg_verifybackup") {
        return Ok(format!("not run: no pg_verifybackup in {}", inst.dir));
    }
    let mut cmd = std::process::Command::new(inst.path("pg_verifybackup"));
    let parse_wal = format == BaseFormat::Plain && inst.major == server_major;
    if !parse_wal {
        // pg_waldump cannot read pg_wal.tar, nor another major's WAL; the files are still
        // checked against the manifest.
        cmd.arg("--no-parse-wal");
    }
    let out = runner.output(cmd.arg(dir)).map_err(|e| Error::io("running pg_verifybackup", e))?;
    if !out.status.success() {
        return Err(Error::new(
            ErrorCode::VerifyFailed,
            format!("pg_verifybackup rejected the new base backup: {}", String::from_utf8_lossy(&out.stderr).trim()),
            "Nothing was kept. Run the base backup again; if it fails again, check the disk the repository is on.",
        ));
    }
    Ok(match (format, parse_wal) {
        (_, true) => "verified".into(),
        (BaseFormat::Tar, false) => "verified (files; pg_waldump cannot read the WAL in a tar)".into(),
        (BaseFormat::Plain, false) => {
            let records = read_wal_to(&dir.join("pg_wal"), stop_lsn)?;
            format!(
                "verified (files by pg_verifybackup {}; WAL by Tideline's reader, {records} records to {stop_lsn})",
                inst.major
            )
        }
    })
}

/// Reads the backup's WAL with Tideline's reader, CRCs checked: every record up to `stop_lsn`
/// (where the backup becomes consistent) must be there. Returns how many records were read.
fn read_wal_to(pg_wal: &Path, stop_lsn: &str) -> Result<u64> {
    let broken = |what: String| {
        Error::new(
            ErrorCode::VerifyFailed,
            format!("the base backup's WAL is damaged: {what}"),
            "Nothing was kept. Run the base backup again; if it fails again, check the disk the repository is on.",
        )
    };
    let stop = crate::pg::lsn::lsn(stop_lsn).ok_or_else(|| Error::internal(format!("stop LSN {stop_lsn}")))?;
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(pg_wal)
        .map_err(|e| Error::io(format!("reading {}", pg_wal.display()), e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| n.len() == 24 && n.to_string_lossy().chars().all(|c| c.is_ascii_hexdigit()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(broken("pg_wal holds no segment".into()));
    }
    let report = crate::wal::inspect::inspect(&files, true, crate::wal::inspect::Detail::Transactions)
        .map_err(|e| broken(e.message))?;
    if let Some(end) = report.end_of_wal.as_deref().and_then(crate::pg::lsn::lsn) {
        if end < stop {
            return Err(broken(format!(
                "valid WAL ends at {} before the backup's end {stop_lsn}",
                report.end_of_wal.unwrap_or_default()
            )));
        }
    }
    Ok(report.records)
}

/// pg_basebackup's own words, made into a coded error where the cause is a known setting.
fn failure(log_path: &Path, e: Error, user: &str) -> Error {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    if text.contains("pg_hba.conf") && text.contains("replication") {
        return Error::new(
            ErrorCode::AccessDenied,
            format!("the server refused a replication connection for {user}: no pg_hba.conf rule allows it"),
            format!("Add a line like `host replication {user} 127.0.0.1/32 scram-sha-256` to pg_hba.conf and reload the server (`tideline wal setup` checks this)."),
        );
    }
    if text.contains("number of requested standby connections exceeds") || text.contains("max_wal_senders") {
        return Error::new(
            ErrorCode::ServerError,
            "the server has no free WAL sender for the backup (max_wal_senders)",
            "A streamed base backup needs two WAL senders; raise max_wal_senders and restart the server.",
        );
    }
    e
}

impl Engine {
    /// The parent of an incremental backup: the newest complete plain base backup of this
    /// cluster (pg_combinebackup reads plain backups only), and its backup_manifest.
    async fn incremental_parent(
        &self,
        client: &tokio_postgres::Client,
        sysid: &str,
        major: u32,
        inst: &crate::tools::Installation,
        opts: &BaseBackupOptions,
    ) -> Result<(String, std::path::PathBuf)> {
        if major < 17 || !inst.capabilities.incremental_backup {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("incremental base backups need PostgreSQL 17 or later; this server runs {major}"),
                "Take a full base backup (leave out --incremental).",
            ));
        }
        if opts.format != BaseFormat::Plain {
            return Err(Error::invalid_input(
                "an incremental base backup is written in the plain format (pg_combinebackup reads only that)",
                "Add --format plain.",
            ));
        }
        let summarize: String =
            client.query_one("SHOW summarize_wal", &[]).await.map_err(query_failed("reading summarize_wal"))?.get(0);
        if summarize != "on" {
            return Err(Error::new(
                ErrorCode::ServerError,
                "the server does not summarize WAL (summarize_wal is off), so it cannot tell what changed",
                "As a superuser: ALTER SYSTEM SET summarize_wal = on; SELECT pg_reload_conf(); then take a full base backup, then incremental ones.",
            ));
        }
        // Bound first: the catalog's lock must not be held across the loop, which takes it again.
        let backups = self.catalog().backups(None)?;
        for b in backups.into_iter().filter(|b| {
            b.kind == crate::repo::manifest::BackupKind::Base
                && b.status == crate::repo::manifest::BackupStatus::Complete
        }) {
            let m = self.catalog().backup_manifest(&b.id)?;
            let Some(p) = m.physical else { continue };
            if p.system_identifier == sysid && p.format == BaseFormat::Plain {
                let manifest = Path::new(&b.path).join(DATA_DIR).join("backup_manifest");
                if manifest.is_file() {
                    return Ok((b.id, manifest));
                }
            }
        }
        Err(Error::new(
            ErrorCode::BackupMissing,
            "there is no plain base backup of this cluster for an incremental one to build on",
            "Take a full one first: `tideline basebackup PROFILE --format plain`.",
        ))
    }

    /// The backup, then its upload to the profile's repository and its second copy, where
    /// it has them (`repo::copies`).
    pub async fn basebackup(&self, profile_name: &str, opts: &BaseBackupOptions, job: &Job) -> Result<BackupRecord> {
        let record = self.take_base_backup(profile_name, opts, job).await?;
        self.copy_to_repositories(&record, job).await?;
        Ok(record)
    }

    async fn take_base_backup(&self, profile_name: &str, opts: &BaseBackupOptions, job: &Job) -> Result<BackupRecord> {
        job.phase("connecting");
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let client = crate::connect::connect(&draft, password.as_ref()).await?;
        let (version, major) = server_version(&client).await?;
        let (sysid, data_checksums) = may_take_base_backups(&client, &draft.user).await?;
        if let Some(rate) = &opts.max_rate {
            super::options::check_max_rate(rate)?;
        }
        let inst = self.tools()?.client_for(major, "pg_basebackup")?.clone();
        let compress = compression::choose(&inst, opts.format, opts.compress.as_deref())?;
        let parent = if opts.incremental {
            Some(self.incremental_parent(&client, &sysid, major, &inst, opts).await?)
        } else {
            None
        };

        let id = new_backup_id(&self.clock.now());
        let repo = self.repository()?;
        let compressed = opts.format == BaseFormat::Tar && compress.is_some();
        super::space::check_space(&client, &repo.base_dir(&sysid), compressed, opts.incremental).await?;
        let staging = repo.stage(repo.base_dir(&sysid).join(&id))?;
        let target = staging.path().join(DATA_DIR);
        let parent_manifest = parent.as_ref().map(|(_, manifest)| manifest.as_path());
        let args = base_backup_args(&id, &target, opts, compress.as_deref(), parent_manifest);
        let log_path = staging.path().join("pg_basebackup.log");
        let mut cc = crate::libpq_env::client_command(&inst.path("pg_basebackup"), &draft, password.as_ref())?;
        cc.command.args(&args);
        let started_at = self.clock.now_rfc3339();
        let started = Instant::now();
        tracing::info!(profile = %profile.name, id = %id, "pg_basebackup starting");
        // Declared after the staging directory, so dropped (and waited for) before it.
        let final_dir = repo.base_dir(&sysid).join(&id);
        let mut followed = match opts.format {
            BaseFormat::Tar => self.followed_uploads(&profile.id, &target, staging.path(), &final_dir),
            BaseFormat::Plain => None,
        };
        self.run_pg_basebackup(cc, &log_path, job).await.map_err(|e| failure(&log_path, e, &draft.user))?;
        if let Some(f) = &mut followed {
            f.writer_done();
        }
        job.phase("verifying");
        let manifest_text = std::fs::read_to_string(target.join("backup_manifest"))
            .map_err(|e| Error::io("reading the backup_manifest pg_basebackup wrote", e))?;
        let range = wal_range(&manifest_text)
            .ok_or_else(|| Error::internal("pg_basebackup's backup_manifest names no WAL range"))?;
        let verified = verify_backup(self.runner(), &inst, &target, opts.format, major, &range.end_lsn)?;
        job.phase("checksumming");
        let files = checksum::inventory(staging.path(), &[crate::repo::MANIFEST])?;
        if let Some(f) = &mut followed {
            f.check(&files);
        }
        let run = FinishedRun {
            id,
            kind: crate::repo::manifest::BackupKind::Base,
            profile: (profile.name.clone(), profile.id.clone()),
            database: crate::repo::CLUSTER_DIR.into(),
            server: (version, major),
            tool: inst.used("pg_basebackup", major, args),
            options: DumpOptions::default(),
            artifact: DATA_DIR.into(),
            started_at,
            started,
            files,
            row_counts: RowCounts::skipped(
                "a base backup copies the whole cluster; row counts belong to logical backups",
            ),
            database_size_bytes: None,
            physical: Some(PhysicalInfo {
                system_identifier: sysid,
                timeline: range.timeline,
                start_lsn: range.start_lsn,
                stop_lsn: range.end_lsn,
                format: opts.format,
                compression: compress,
                pg_verifybackup: verified,
                incremental_of: parent.map(|(id, _)| id),
                data_checksums: Some(data_checksums),
            }),
        };
        let record = self.finish_backup(staging, run)?;
        if let Some(f) = followed {
            f.keep();
        }
        // Names for the WAL's relation files as they were at this backup (events read them).
        self.try_snapshot_relation_names(&profile.name).await;
        Ok(record)
    }
}

impl Engine {
    /// pg_basebackup to its end, its progress reported as it copies.
    async fn run_pg_basebackup(&self, cc: crate::libpq_env::ClientCommand, log_path: &Path, job: &Job) -> Result<()> {
        let on_line = |line: &str| {
            if let Some((done, total)) = parse_progress(line) {
                job.progress("copying", None, done, Some(total));
            }
        };
        let sizes = TableSizes::new();
        run_watched(
            self.runner(),
            cc,
            log_path,
            "pg_basebackup",
            job,
            "copying",
            &sizes,
            ErrorCode::BackupFailed,
            &on_line,
        )
        .await
    }
}

/// The cluster's system identifier and whether it has data checksums, once the role is known
/// to be allowed to take base backups.
async fn may_take_base_backups(client: &tokio_postgres::Client, user: &str) -> Result<(String, bool)> {
    let row = client
        .query_one(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()),
                    (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),
                    current_setting('data_checksums') = 'on'",
            &[],
        )
        .await
        .map_err(query_failed("reading the cluster's identity"))?;
    if !row.get::<_, Option<bool>>(1).unwrap_or(false) {
        return Err(Error::new(
            ErrorCode::AccessDenied,
            format!("{user} may not take base backups: the role has neither REPLICATION nor SUPERUSER"),
            format!("As a superuser: ALTER ROLE {} REPLICATION;", crate::pg::table_names::quote_ident(user)),
        ));
    }
    Ok((row.get(0), row.get(2)))
}

/// pg_basebackup's arguments: into `target`, WAL streamed alongside, progress on.
fn base_backup_args(
    id: &str,
    target: &Path,
    opts: &BaseBackupOptions,
    compress: Option<&str>,
    parent_manifest: Option<&Path>,
) -> Vec<String> {
    let mut args = vec![
        format!("--pgdata={}", target.display()),
        format!("--format={}", if opts.format == BaseFormat::Tar { "tar" } else { "plain" }),
        "--wal-method=stream".into(),
        format!("--checkpoint={}", if opts.checkpoint == CheckpointMode::Fast { "fast" } else { "spread" }),
        format!("--label=tideline-{id}"),
        "--progress".into(),
        "--verbose".into(),
    ];
    if let Some(c) = compress {
        args.push(format!("--compress={c}"));
    }
    if let Some(manifest) = parent_manifest {
        args.push(format!("--incremental={}", manifest.display()));
    }
    if let Some(rate) = &opts.max_rate {
        args.push(format!("--max-rate={rate}"));
    }
    args
}
