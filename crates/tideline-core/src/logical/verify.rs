//! `tideline verify`: checksums of every file, readability by pg_restore, and with
//! `--restore-test` a restore into a throwaway Tideline-managed cluster of the server's major,
//! with per-table row counts compared against the manifest. The result is recorded on the backup.

use super::archive::Archive;
use super::row_counts::Counting;
use crate::cluster::scratch::ScratchCluster;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::repo::manifest::{Manifest, PhysicalInfo, RowCountStatus};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VerifyReport {
    pub id: String,
    /// `passed` or `failed`.
    pub status: String,
    pub files_checked: u32,
    pub readable: bool,
    pub restore_tested: bool,
    pub tables_compared: u32,
    /// Why row counts could not be compared, when they could not.
    pub row_counts_note: Option<String>,
    pub problems: Vec<String>,
    pub verified_at: String,
    /// Each copy in another repository, read back from there.
    #[serde(default)]
    pub copies: Vec<crate::repo::copy_check::CopyCheck>,
}

impl Engine {
    /// Checks a backup: checksums, readability, and (`restore_test`) a restore into a scratch
    /// cluster whose rows are counted. `job` reports each phase and cancels the test restore.
    pub async fn verify(&self, id: &str, restore_test: bool, job: &Job) -> Result<VerifyReport> {
        job.phase("checking checksums");
        let archive = self.archive(id)?;
        let mut report = VerifyReport {
            id: id.to_string(),
            status: "passed".into(),
            files_checked: 0,
            readable: false,
            restore_tested: false,
            tables_compared: 0,
            row_counts_note: None,
            problems: vec![],
            verified_at: self.clock.now_rfc3339(),
            copies: vec![],
        };
        check_manifest(&archive, &mut report);
        report.files_checked = archive.manifest.files.len() as u32;
        report.problems.extend(archive.damaged_files());
        job.check_cancelled()?;
        job.phase("reading copies back");
        report.copies = self.check_copies(&self.backup_record(id)?, &archive.manifest.files);
        for copy in report.copies.iter().filter(|c| c.status == "failed") {
            report.problems.extend(copy.problems.iter().map(|p| format!("copy in {}: {p}", copy.repository)));
        }
        job.phase("reading the archive");
        if let Some(physical) = &archive.manifest.physical {
            self.check_base_backup(&archive, physical, &mut report);
        } else if archive.is_plain() {
            let text = std::fs::read(archive.artifact()).unwrap_or_default();
            // pg_dumpall ends with its own marker; a cut-off cluster script may still hold a
            // database's, so each kind is held to its own tool's.
            let (marker, tool) = match archive.manifest.kind {
                crate::repo::manifest::BackupKind::Logical => ("PostgreSQL database dump complete", "pg_dump"),
                _ => ("PostgreSQL database cluster dump complete", "pg_dumpall"),
            };
            report.readable = String::from_utf8_lossy(&text[text.len().saturating_sub(4096)..]).contains(marker);
            if !report.readable {
                report.problems.push(format!("the plain dump does not end with {tool}'s completion marker"));
            }
        } else {
            let pg_restore = self.pg_restore_for(&archive.manifest, archive.manifest.server_major)?;
            match archive.toc(&pg_restore) {
                Ok(entries) => report.readable = !entries.is_empty(),
                Err(e) => report.problems.push(e.message),
            }
        }
        if restore_test && archive.manifest.physical.is_some() {
            report.row_counts_note = Some(format!(
                "a base backup is test-restored by recovering it into a sandbox: `tideline pitr {} --immediate --from-backup {id}`",
                archive.owner
            ));
        } else if restore_test && report.problems.is_empty() {
            job.check_cancelled()?;
            match self.restore_test(&archive, &mut report, job).await {
                Err(e) if e.code == ErrorCode::Cancelled => return Err(e),
                Err(e) => report.problems.push(format!("test restore: {} ({})", e.message, e.hint)),
                Ok(()) => {}
            }
        }
        if archive.manifest.row_counts.status == RowCountStatus::Skipped && archive.manifest.physical.is_none() {
            report.row_counts_note = Some(format!(
                "row counts were skipped when the backup was made ({}); rows were not compared",
                archive.manifest.row_counts.reason.clone().unwrap_or_default()
            ));
        }
        if !report.problems.is_empty() {
            report.status = "failed".into();
        }
        let detail = serde_json::to_string(&report).map_err(|e| Error::internal(e.to_string()))?;
        self.catalog().record_verification(id, &report.verified_at, &report.status, &detail)?;
        tracing::info!(id, status = %report.status, problems = report.problems.len(), "verified");
        Ok(report)
    }

    async fn restore_test(&self, archive: &Archive, report: &mut VerifyReport, job: &Job) -> Result<()> {
        job.phase("test restore: starting a scratch cluster");
        let server = self.tools()?.server_for(archive.manifest.server_major, "postgres")?.clone();
        let scratch = ScratchCluster::start(&server, "verify")?;
        let result = async {
            let admin = crate::connect::connect(&scratch.draft("postgres"), Some(&scratch.password)).await?;
            admin
                .batch_execute("CREATE DATABASE verify TEMPLATE template0")
                .await
                .map_err(crate::pg::server::query_failed("creating the scratch database"))?;
            let target = scratch.draft("verify");
            let opts = super::restore::RestoreOptions { to_db: "verify".into(), no_owner: true, ..Default::default() };
            let password = &scratch.password;
            let dest = super::restore::Destination::in_scratch(&scratch, &target, &admin).await;
            job.check_cancelled()?;
            job.phase("test restore: restoring");
            self.run_restore(archive, &dest, &opts, None, job).await?;
            report.restore_tested = true;
            job.phase("test restore: counting rows");
            let expected = &archive.manifest.row_counts.tables;
            let connections = super::dump_args::default_jobs() as usize;
            let restored =
                super::row_counts::restored_rows(&target, Some(password), expected, connections, Counting::Scan)
                    .await?;
            for want in expected {
                match restored.iter().find(|r| r.schema == want.schema && r.table == want.table) {
                    Some(got) if got.rows == want.rows => report.tables_compared += 1,
                    Some(got) => report.problems.push(format!(
                        "{}: {} rows restored, {} in the manifest",
                        crate::pg::table_names::display(&want.schema, &want.table),
                        got.rows,
                        want.rows
                    )),
                    None => report.problems.push(format!(
                        "{} is missing after the restore",
                        crate::pg::table_names::display(&want.schema, &want.table)
                    )),
                }
            }
            Ok::<(), Error>(())
        }
        .await;
        drop(scratch);
        result
    }
}

impl Engine {
    /// A base backup is read by pg_verifybackup (its own manifest, and the WAL it needs where
    /// the major's pg_waldump can read it), never by pg_restore.
    fn check_base_backup(&self, archive: &Archive, physical: &PhysicalInfo, report: &mut VerifyReport) {
        let major = archive.manifest.server_major;
        let inst = match self.tools().and_then(|t| t.client_for(major, "pg_verifybackup").cloned()) {
            Ok(inst) => inst,
            Err(e) => {
                report.problems.push(format!("pg_verifybackup could not run: {}", e.message));
                return;
            }
        };
        let data = archive.dir.join(&archive.manifest.artifact);
        match crate::physical::basebackup::verify_backup(
            self.runner(),
            &inst,
            &data,
            physical.format,
            major,
            &physical.stop_lsn,
        ) {
            Ok(outcome) if outcome.starts_with("verified") => report.readable = true,
            // Not run (a tar before 18): the checksums above are the check.
            Ok(_) => report.readable = report.problems.is_empty(),
            Err(e) => report.problems.push(e.message.replace("the new base backup", "the base backup")),
        }
    }
}

/// The manifest in the repository is what a restore reads: it must be readable and say what
/// the catalog's copy says.
fn check_manifest(archive: &Archive, report: &mut VerifyReport) {
    match Manifest::read(&archive.dir) {
        Ok(stored) => {
            if serde_json::to_value(&stored).ok() != serde_json::to_value(&archive.manifest).ok() {
                report
                    .problems
                    .push(format!("{} in the repository differs from the catalog's copy", crate::repo::MANIFEST));
            }
        }
        Err(e) => report.problems.push(e.message),
    }
}

/// The error a failed verification surfaces as, for the CLI's exit status.
pub fn failure(report: &VerifyReport) -> Error {
    let only_copies = report.problems.iter().all(|p| p.starts_with("copy in "));
    let hint = if only_copies {
        "This computer's copy is whole; the copy named above is not. Restores here read this computer's; check that store's health before relying on the copy there."
    } else {
        "Do not rely on this backup: make a new one. `tideline backups show ID` keeps the details."
    };
    Error::new(
        ErrorCode::VerifyFailed,
        format!("backup {} failed verification: {}", report.id, report.problems.join("; ")),
        hint,
    )
}
