//! Where PostgreSQL binaries are looked for, and what `--version` says about them.

use super::{probe, Installation, ToolInventory};
use crate::process::Runner;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TOOL_NAMES: &[&str] = &[
    "pg_dump",
    "pg_dumpall",
    "pg_restore",
    "psql",
    "pg_basebackup",
    "pg_receivewal",
    "pg_waldump",
    "pg_verifybackup",
    "pg_combinebackup",
    "initdb",
    "pg_ctl",
    "postgres",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateDir {
    pub dir: PathBuf,
    pub source: &'static str,
}

/// Configured directories first (they win over everything found), then PATH, then the
/// usual install locations of each platform.
pub fn candidate_dirs(configured: &[PathBuf]) -> Vec<CandidateDir> {
    let mut out: Vec<CandidateDir> =
        configured.iter().map(|d| CandidateDir { dir: d.clone(), source: "configured" }).collect();
    if let Some(path) = std::env::var_os("PATH") {
        out.extend(std::env::split_paths(&path).map(|dir| CandidateDir { dir, source: "path" }));
    }
    let patterns: &[(&str, &'static str)] = &[
        ("/usr/lib/postgresql/*/bin", "debian"),
        ("/usr/pgsql-*/bin", "pgdg"),
        ("/opt/homebrew/opt/postgresql@*/bin", "homebrew"),
        ("/usr/local/opt/postgresql@*/bin", "homebrew"),
        ("/Applications/Postgres.app/Contents/Versions/*/bin", "postgres-app"),
        ("C:\\Program Files\\PostgreSQL\\*\\bin", "windows"),
    ];
    for (pattern, source) in patterns {
        if let Ok(paths) = glob::glob(pattern) {
            out.extend(paths.flatten().map(|dir| CandidateDir { dir, source }));
        }
    }
    out
}

fn tools_in(dir: &Path) -> Vec<String> {
    TOOL_NAMES
        .iter()
        .filter(|t| {
            let name = if cfg!(windows) { format!("{t}.exe") } else { t.to_string() };
            dir.join(name).is_file()
        })
        .map(|t| t.to_string())
        .collect()
}

/// `pg_dump (PostgreSQL) 17.10` → (17, "17.10"); `postgres (PostgreSQL) 15.18 (Debian …)` too.
pub(crate) fn parse_version(output: &str) -> Option<(u32, String)> {
    let rest = output.split("(PostgreSQL)").nth(1)?.trim_start();
    let version: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    let major = version.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((major, version))
}

/// What discovery would look at, as a string: every candidate tool's path, size and mtime.
/// Unchanged binaries give the same fingerprint, so the probed inventory can be reused.
pub fn fingerprint(configured: &[PathBuf]) -> String {
    let mut out = String::new();
    for candidate in candidate_dirs(configured) {
        for tool in TOOL_NAMES {
            let path = candidate.dir.join(tool);
            if let Ok(meta) = std::fs::metadata(&path) {
                let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                out.push_str(&format!("{}:{}:{:?};", path.display(), meta.len(), mtime));
            }
        }
    }
    out
}

pub fn discover(configured: &[PathBuf], runner: &dyn Runner) -> ToolInventory {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut installations = Vec::new();
    for candidate in candidate_dirs(configured) {
        let Ok(real) = candidate.dir.canonicalize() else {
            continue;
        };
        // A directory of symlinks into one install (e.g. /usr/local/bin → /usr/lib/postgresql/15/bin)
        // is that install.
        let real = symlink_target_dir(&real).unwrap_or(real);
        if seen.contains(&real) {
            continue;
        }
        seen.push(real.clone());
        let tools = tools_in(&real);
        // Debian's /usr/bin wrappers (pg_wrapper) are not binaries of one major; skip them.
        if tools.is_empty() || is_debian_wrapper_dir(&real) {
            continue;
        }
        let Some((major, version)) = tools.iter().find_map(|t| {
            let out = runner.output(Command::new(real.join(t)).arg("--version")).ok()?;
            parse_version(&String::from_utf8_lossy(&out.stdout))
        }) else {
            tracing::warn!(dir = %real.display(), "PostgreSQL binaries found but none reported a version");
            continue;
        };
        let advisories = super::advisories_for(major, &version, &tools);
        let mut inst = Installation {
            major,
            version,
            dir: real.display().to_string(),
            source: candidate.source.to_string(),
            advisories,
            tools,
            capabilities: Default::default(),
        };
        inst.capabilities = probe::capabilities(&inst, runner);
        installations.push(inst);
    }
    installations.sort_by(|a, b| b.major.cmp(&a.major).then(a.dir.cmp(&b.dir)));
    ToolInventory { installations }
}

fn symlink_target_dir(dir: &Path) -> Option<PathBuf> {
    let parents: Vec<PathBuf> =
        tools_in(dir).iter().filter_map(|t| dir.join(t).canonicalize().ok()?.parent().map(Path::to_path_buf)).collect();
    let first = parents.first()?.clone();
    (first != dir && parents.iter().all(|p| *p == first)).then_some(first)
}

fn is_debian_wrapper_dir(dir: &Path) -> bool {
    dir == Path::new("/usr/bin")
        && std::fs::read_link("/usr/bin/pg_dump").is_ok_and(|t| t.to_string_lossy().contains("pg_wrapper"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions() {
        assert_eq!(parse_version("pg_dump (PostgreSQL) 17.10\n"), Some((17, "17.10".into())));
        assert_eq!(parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"), Some((15, "15.18".into())));
        assert_eq!(parse_version("psql (PostgreSQL) 18beta1"), Some((18, "18beta1".into())));
        assert_eq!(parse_version("something else"), None);
    }
}
