//! `verify` reads each copy of a backup back from where it lives (a bucket, another folder)
//! and holds every file to the checksum its manifest records: a copy is only as good as what
//! comes back out of it. Files are read four at a time, decrypted as they stream, and never
//! stored here.

use crate::catalog::backups::BackupRecord;
use crate::engine::Engine;
use crate::repo::checksum::FileEntry;
use crate::repo::sync::Uploader;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use ts_rs::TS;

/// What reading one copy back found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyCheck {
    pub repository: String,
    /// `passed`, `failed`, or `not_copied` (the copy never completed: nothing to read).
    pub status: String,
    pub files_checked: u32,
    pub problems: Vec<String>,
}

/// Files read back at once: the store's latency hides behind the others' transfers.
const SIDE_BY_SIDE: usize = 4;

impl Engine {
    /// Reads back every copy of `record` the catalog knows of, file by file.
    pub(crate) fn check_copies(&self, record: &BackupRecord, files: &[FileEntry]) -> Vec<CopyCheck> {
        let copies = self.catalog().backup_copies(&record.id).unwrap_or_default();
        let dir = match self.prefixes_of(record) {
            Ok(prefixes) => prefixes[0].clone(),
            Err(_) => return vec![],
        };
        let mut checks = Vec::new();
        for copy in copies {
            let mut check = CopyCheck {
                repository: copy.repository.clone(),
                status: "not_copied".into(),
                files_checked: 0,
                problems: copy.detail.clone().into_iter().collect(),
            };
            if copy.complete {
                let handle = tokio::runtime::Handle::try_current();
                match handle.map_err(|e| e.to_string()).and_then(|rt| {
                    self.uploader(&copy.repository, rt).map_err(|e| format!("{}: {}", e.code.name(), e.message))
                }) {
                    Ok(there) => read_back(&there, &dir, files, &mut check),
                    Err(why) => check.problems.push(format!("could not open {}: {why}", copy.repository)),
                }
                check.status = if check.problems.is_empty() { "passed" } else { "failed" }.into();
            }
            tracing::info!(backup = %record.id, repository = %check.repository, status = %check.status, "copy read back");
            checks.push(check);
        }
        checks
    }
}

/// Reads the manifest and every file of the backup under `dir` back from `there`.
fn read_back(there: &Uploader, dir: &str, files: &[FileEntry], check: &mut CopyCheck) {
    let manifest = format!("{dir}{}", crate::repo::MANIFEST);
    let problems = Mutex::new(Vec::new());
    crate::repo::store::waiting(|| {
        match there.read_back(&manifest) {
            Ok(Some(_)) => {}
            Ok(None) => {
                problems.lock().expect("not poisoned").push(format!("{} is missing there", crate::repo::MANIFEST))
            }
            Err(e) => problems.lock().expect("not poisoned").push(e.message),
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..SIDE_BY_SIDE.min(files.len()) {
                scope.spawn(|| {
                    while let Some(file) = files.get(next.fetch_add(1, Ordering::SeqCst)) {
                        if let Err(problem) = same_as_recorded(there, dir, file) {
                            problems.lock().expect("not poisoned").push(problem);
                        }
                    }
                });
            }
        });
    });
    check.files_checked = files.len() as u32;
    let mut problems = problems.into_inner().expect("not poisoned");
    problems.sort();
    check.problems.extend(problems);
}

/// Whether one file there holds what the manifest records; the problem otherwise.
fn same_as_recorded(there: &Uploader, dir: &str, file: &FileEntry) -> std::result::Result<(), String> {
    let reader =
        there.read_back(&format!("{dir}{}", file.path)).map_err(|e| format!("{}: {}", file.path, e.message))?;
    let Some(reader) = reader else { return Err(format!("{} is missing there", file.path)) };
    let found = digest(reader, file).map_err(|e| format!("{}: reading it back: {e}", file.path))?;
    match (&file.blake3, &file.sha256) {
        (Some(want), _) | (None, Some(want)) if *want == found => Ok(()),
        _ => Err(format!("{} there differs from its checksum in the manifest", file.path)),
    }
}

/// The file's checksum, by the algorithm its manifest entry uses (BLAKE3; SHA-256 in format 1).
fn digest(mut reader: Box<dyn Read + Send>, file: &FileEntry) -> std::io::Result<String> {
    if file.blake3.is_some() || file.sha256.is_none() {
        let mut hasher = blake3::Hasher::new();
        std::io::copy(&mut reader, &mut hasher)?;
        return Ok(hasher.finalize().to_hex().to_string());
    }
    crate::repo::checksum::sha256_of(reader)
}
