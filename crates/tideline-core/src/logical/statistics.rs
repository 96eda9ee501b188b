//! pg_dump 18's planner statistics in a parallel restore. pg_restore 18 runs an archive's
//! STATISTICS DATA entries beside its TABLE DATA (measured: both launched together), and the
//! data worker's TRUNCATE before its COPY resets the table's `reltuples` to -1 when it runs
//! second — the statistics are lost at random. So a parallel restore leaves them out
//! (`--no-statistics`) and restores them in one transaction once every row is in.

use super::archive::Archive;
use crate::error::{ErrorCode, Result};
use crate::job::Job;
use crate::pg::tool_run::{run_logged, TableSizes};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use crate::tools::Installation;
use std::path::Path;

/// Whether a parallel restore of `archive` by `pg_restore` must restore statistics afterwards.
pub(crate) fn after_data(archive: &Archive, pg_restore: &Installation, sections: &[String]) -> Result<bool> {
    if pg_restore.major < 18 || !sections.is_empty() {
        return Ok(false);
    }
    Ok(archive.toc(pg_restore)?.iter().any(|e| e.kind == "STATISTICS DATA"))
}

/// The statistics pass: `pg_restore --statistics-only` in one transaction, logged to `log_path`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn restore(
    archive: &Archive,
    pg_restore: &Installation,
    shared: &[String],
    target: &ProfileDraft,
    password: Option<&Secret>,
    session_options: Option<&str>,
    log_path: &Path,
    job: &Job,
) -> Result<()> {
    let mut cc = crate::libpq_env::client_command(&pg_restore.path("pg_restore"), target, password)?;
    cc.command
        .args(["--verbose", "--exit-on-error", "--single-transaction", "--statistics-only"])
        .arg(crate::libpq_env::dbname_arg(&target.database))
        .args(shared)
        .arg(archive.artifact());
    if let Some(options) = session_options {
        cc.command.env("PGOPTIONS", options);
    }
    run_logged(
        archive.runner(),
        cc,
        log_path,
        "pg_restore",
        job,
        "restoring statistics",
        &TableSizes::new(),
        ErrorCode::RestoreFailed,
    )
    .await
}
