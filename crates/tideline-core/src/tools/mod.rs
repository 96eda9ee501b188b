//! PostgreSQL binaries: which majors are installed where, what each build supports, and which
//! one to use for a given server (client tools of major ≥ the server's, server binaries of
//! exactly its major).

mod choose;
pub use choose::{choice_reason, choice_reason_for_archive};
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
    /// Known problems of this version that affect what Tideline runs it for.
    #[serde(default)]
    pub advisories: Vec<String>,
}

/// The first minor of each major with the fix for CVE-2025-8714: a superuser of the server a
/// plain dump came from could make psql run shell commands when the script is restored.
const PLAIN_SCRIPT_FIX: [(u32, u32); 5] = [(13, 22), (14, 19), (15, 14), (16, 10), (17, 6)];

/// What is known to be wrong with `version` (e.g. `17.5`) for the tools Tideline runs.
pub fn advisories_for(major: u32, version: &str, tools: &[String]) -> Vec<String> {
    let minor = version.split(['.', ' ', '-']).nth(1).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let unfixed = major < 13 || PLAIN_SCRIPT_FIX.iter().any(|(m, fixed)| *m == major && minor < *fixed);
    let scripts = tools.iter().any(|t| t == "psql" || t == "pg_dumpall" || t == "pg_dump");
    if unfixed && scripts {
        vec![format!(
            "PostgreSQL {version}'s pg_dump, pg_dumpall and psql lack the fix for CVE-2025-8714: restoring a plain script (pg_dumpall, --format plain) from a server whose superuser you do not trust can run commands on this machine. Upgrade to the newest {major}.x."
        )]
    } else {
        Vec::new()
    }
}

impl Installation {
    /// This installation's `tool`, run with `args` for a server of `server_major`, as a
    /// backup's manifest records it.
    pub fn used(&self, tool: &'static str, server_major: u32, args: Vec<String>) -> crate::repo::finished::ToolUsed {
        crate::repo::finished::ToolUsed {
            name: tool,
            version: self.version.clone(),
            major: self.major,
            choice: choice_reason(tool, self, server_major),
            args,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_without_the_plain_script_fix_are_flagged() {
        let tools = vec!["psql".to_string(), "pg_dumpall".to_string()];
        assert_eq!(advisories_for(17, "17.5", &tools).len(), 1);
        assert!(advisories_for(17, "17.6", &tools).is_empty());
        assert_eq!(advisories_for(16, "16.9", &tools).len(), 1);
        assert!(advisories_for(16, "16.10", &tools).is_empty());
        assert!(advisories_for(15, "15.14", &tools).is_empty());
        assert!(advisories_for(18, "18.0", &tools).is_empty());
        assert!(advisories_for(15, "15.3", &["postgres".to_string()]).is_empty(), "a server alone runs no scripts");
        assert!(advisories_for(15, "15.3 (Debian 15.3-0+deb12u1)", &tools)[0].contains("CVE-2025-8714"));
    }
}
