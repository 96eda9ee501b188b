//! PostgreSQL binaries: which majors are installed where, what each build supports, and which
//! one to use for a given server (client tools of major ≥ the server's, server binaries of
//! exactly its major).

mod choose;
mod discover;
mod probe;

pub use discover::{candidate_dirs, discover, fingerprint, CandidateDir, TOOL_NAMES};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Capabilities {
    /// Methods `pg_dump -Z` accepts with this build (gzip, lz4, zstd).
    pub dump_compression: Vec<String>,
    /// Client-side methods `pg_basebackup --compress` accepts with this build.
    pub basebackup_compression: Vec<String>,
    /// PG 17+: `pg_basebackup --incremental` and `pg_combinebackup`.
    pub incremental_backup: bool,
    /// PG 16+: `pg_dump --table-and-children`.
    pub table_and_children: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Installation {
    pub major: u32,
    pub version: String,
    pub dir: String,
    /// Where it was found: configured, path, debian, pgdg, homebrew, postgres-app, windows.
    pub source: String,
    pub tools: Vec<String>,
    pub capabilities: Capabilities,
}

impl Installation {
    pub fn has(&self, tool: &str) -> bool {
        self.tools.iter().any(|t| t == tool)
    }

    pub fn path(&self, tool: &str) -> std::path::PathBuf {
        let name = if cfg!(windows) { format!("{tool}.exe") } else { tool.to_string() };
        std::path::Path::new(&self.dir).join(name)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ToolInventory {
    pub installations: Vec<Installation>,
}
