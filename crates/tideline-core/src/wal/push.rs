//! `tideline wal-push --repo DIR PATH` (archive_command) and `wal-fetch --repo DIR NAME DEST`
//! (restore_command). They run as the server's OS user, in its data directory, with no
//! catalog, keychain or HOME: everything they need is the repository and the data directory.

use super::archive::{FetchOutcome, PushOutcome, WalArchive};
use super::control::{data_dir_system_identifier, segment_header};
use super::file_names::{classify, WalFileKind};
use crate::error::{Error, ErrorCode, Result};
use std::path::Path;

/// A file PostgreSQL hands archive_command, read and checked.
pub struct Archivable {
    pub name: String,
    pub kind: WalFileKind,
    pub sysid: u64,
    pub content: Vec<u8>,
}

/// Reads the file at `path` (PostgreSQL's %p, relative to the data directory `pgdata`). A
/// segment whose header names another cluster is refused: it would poison this cluster's
/// archive; so is a truncated one.
pub fn read_for_archive(path: &Path, pgdata: &Path) -> Result<Archivable> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid_input(format!("{} names no file", path.display()), "Pass %p."))?
        .to_string();
    let kind = classify(&name)?;
    let sysid = data_dir_system_identifier(pgdata)?;
    let full = if path.is_absolute() { path.to_path_buf() } else { pgdata.join(path) };
    let content = std::fs::read(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    if matches!(kind, WalFileKind::Segment | WalFileKind::Partial) {
        let header = segment_header(&content)?;
        if header.system_identifier != sysid {
            return Err(Error::new(
                ErrorCode::WalForeignCluster,
                format!(
                    "{name} was written by the cluster with system identifier {}, not by this one ({sysid}); it was not archived",
                    header.system_identifier
                ),
                "archive_command must push the segments of its own server only. Check that the data directory and the archive_command belong together.",
            ));
        }
        if kind == WalFileKind::Segment && content.len() as u64 != header.segment_bytes as u64 {
            return Err(Error::new(
                ErrorCode::WalInvalid,
                format!("{name} is {} bytes; its header says segments are {}", content.len(), header.segment_bytes),
                "PostgreSQL archives only whole segments; this file is truncated or not a segment.",
            ));
        }
    }
    Ok(Archivable { name, kind, sysid, content })
}

/// Archives the file at `path` for the cluster whose data directory is `pgdata`.
pub fn wal_push(repo: &Path, path: &Path, pgdata: &Path) -> Result<PushOutcome> {
    let Archivable { name, kind, sysid, content } = read_for_archive(path, pgdata)?;
    let archive = WalArchive::open(repo, sysid);
    let outcome = archive.push(&name, &content)?;
    if kind == WalFileKind::Segment && !archive.summary_path(&name).exists() {
        // The segment is safe already; a summary that fails is written later by `wal index`.
        let segment_bytes = segment_header(&content).map(|h| h.segment_bytes as u64).unwrap_or(16 << 20);
        if let Err(e) = archive.write_summary(&name, &content, segment_bytes, path.parent()) {
            eprintln!("tideline wal-push: {name} archived, but not summarised: {}", e.message);
        }
    }
    Ok(outcome)
}

/// Restores `name` into `dest` for the cluster of `pgdata` (the recovering server's data
/// directory, whose pg_control carries the backup's system identifier).
pub fn wal_fetch(repo: &Path, name: &str, dest: &Path, pgdata: &Path) -> Result<FetchOutcome> {
    let sysid = data_dir_system_identifier(pgdata)?;
    let dest = if dest.is_absolute() { dest.to_path_buf() } else { pgdata.join(dest) };
    WalArchive::open(repo, sysid).fetch(name, &dest)
}

/// The exit status restore_command owes PostgreSQL: 0 restored; 1 not in the archive (normal:
/// recovery asks for files past the end and for history files that may not exist); 126 for
/// anything else, which PostgreSQL treats as fatal (exit > 125) rather than as the end of the
/// archive — a damaged segment must stop recovery, not end it early at the wrong point.
pub fn fetch_exit_code(result: &Result<FetchOutcome>) -> i32 {
    match result {
        Ok(FetchOutcome::Restored | FetchOutcome::RestoredPartial) => 0,
        Ok(FetchOutcome::Missing) => 1,
        Err(_) => 126,
    }
}
