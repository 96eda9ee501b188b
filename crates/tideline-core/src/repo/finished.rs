//! What a backup run hands over once its files are staged: what only the run knows. The rest
//! of the manifest — the command as it will read in place, sizes, times, format, status — is
//! the same for every kind, and `Engine::finish_backup` adds it and commits.

use super::checksum::FileEntry;
use super::manifest::{BackupKind, BackupStatus, Manifest, PhysicalInfo, RowCounts, FORMAT_VERSION};
use super::options::DumpOptions;
use super::Staging;
use std::time::Instant;

pub struct FinishedRun {
    pub id: String,
    pub kind: BackupKind,
    /// The profile's name and id.
    pub profile: (String, String),
    pub database: String,
    /// The server's version and major.
    pub server: (String, u32),
    pub tool: ToolUsed,
    pub options: DumpOptions,
    pub artifact: String,
    pub started_at: String,
    pub started: Instant,
    pub files: Vec<FileEntry>,
    pub row_counts: RowCounts,
    pub database_size_bytes: Option<u64>,
    pub physical: Option<PhysicalInfo>,
}

/// The client tool that wrote the backup, and the arguments it ran with.
pub struct ToolUsed {
    pub name: &'static str,
    pub version: String,
    pub major: u32,
    pub choice: String,
    pub args: Vec<String>,
}

impl FinishedRun {
    /// The manifest of this run, finished at `finished_at`, as it reads once `staging` is in place.
    pub fn manifest(self, staging: &Staging, finished_at: String) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            id: self.id,
            kind: self.kind,
            profile: self.profile.0,
            profile_id: Some(self.profile.1),
            database: self.database,
            server_version: self.server.0,
            server_major: self.server.1,
            tool_version: self.tool.version,
            tool_major: self.tool.major,
            tool_choice: Some(self.tool.choice),
            options: self.options,
            artifact: self.artifact,
            command: staging.recorded_command(self.tool.name, &self.tool.args),
            started_at: self.started_at,
            finished_at,
            duration_ms: self.started.elapsed().as_millis() as u64,
            size_bytes: self.files.iter().map(|f| f.size_bytes).sum(),
            files: self.files,
            row_counts: self.row_counts,
            database_size_bytes: self.database_size_bytes,
            physical: self.physical,
            status: BackupStatus::Complete,
        }
    }
}

impl RowCounts {
    /// No counts, for the reason given (a kind of backup that has none).
    pub fn skipped(reason: &str) -> RowCounts {
        RowCounts { status: super::manifest::RowCountStatus::Skipped, reason: Some(reason.into()), tables: vec![] }
    }
}
