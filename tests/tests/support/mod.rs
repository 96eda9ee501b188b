//! The test harness: real PostgreSQL clusters (started with the engine's own managed-cluster
//! code, removed on drop even when a test fails), the real `tideline` binary, a private
//! TIDELINE_HOME per test. Every server test runs on each required major; a missing major
//! fails the run rather than skipping.

#![allow(dead_code)]

mod cli;
mod clusters;
mod data;
pub mod garage;
pub mod kill_points;
pub mod os_user;
mod wal;
pub mod webdriver;

pub use cli::*;
pub use clusters::*;
pub use data::*;
pub use wal::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use tideline_core::cluster::{ClusterSpec, ManagedCluster};
use tideline_core::process::SystemRunner;
use tideline_core::profile::ProfileDraft;
use tideline_core::tools::{Installation, ToolInventory};
use tideline_core::Secret;

/// Every major the suite covers: the server-only npm builds of 13, 14 and 16 (client tools from
/// 15, 17 and 18, as most users have), Debian's 15, and the PyPI builds of 17 and 18.
pub const ALL_MAJORS: [u32; 6] = [13, 14, 15, 16, 17, 18];

/// The majors server tests run on: all of them, or those TIDELINE_TEST_MAJORS names (for a
/// quicker run by hand; `npm test` fails unless every major ran).
pub fn majors() -> Vec<u32> {
    match std::env::var("TIDELINE_TEST_MAJORS") {
        Ok(list) if !list.is_empty() => {
            list.split(',').map(|m| m.trim().parse().expect("TIDELINE_TEST_MAJORS")).collect()
        }
        _ => ALL_MAJORS.to_vec(),
    }
}

/// One test case per PostgreSQL major — `name::pg13` … `name::pg18` — so that one major's
/// failure hides no other's and the majors run in parallel. `[17, 18]` first limits the majors
/// (a feature that older servers lack).
#[allow(unused_macros)]
macro_rules! each_major {
    ($(#[$meta:meta])* fn $name:ident($major:ident) $body:block) => {
        each_major!([13, 14, 15, 16, 17, 18] $(#[$meta])* fn $name($major) $body);
    };
    ([$($m:tt),*] $(#[$meta:meta])* fn $name:ident($major:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn case($major: u32) $body
            $( each_major!(@case $m); )*
        }
    };
    (@case 13) => { #[test] fn pg13() { $crate::support::on_major(13, case) } };
    (@case 14) => { #[test] fn pg14() { $crate::support::on_major(14, case) } };
    (@case 15) => { #[test] fn pg15() { $crate::support::on_major(15, case) } };
    (@case 16) => { #[test] fn pg16() { $crate::support::on_major(16, case) } };
    (@case 17) => { #[test] fn pg17() { $crate::support::on_major(17, case) } };
    (@case 18) => { #[test] fn pg18() { $crate::support::on_major(18, case) } };
}

/// Runs one major's case, and records its time for npm test's summary. A major that
/// TIDELINE_TEST_MAJORS leaves out says so and passes (npm test never leaves one out).
pub fn on_major(major: u32, case: fn(u32)) {
    if !majors().contains(&major) {
        eprintln!("PostgreSQL {major}: not in TIDELINE_TEST_MAJORS, not run");
        return;
    }
    let started = std::time::Instant::now();
    case(major);
    report_line(&format!("{major} {:.1}", started.elapsed().as_secs_f64()));
}

pub fn inventory() -> &'static ToolInventory {
    static INV: OnceLock<ToolInventory> = OnceLock::new();
    INV.get_or_init(|| {
        let dirs: Vec<PathBuf> =
            std::env::var_os("TIDELINE_PG_PATHS").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        tideline_core::tools::discover(&dirs, &SystemRunner)
    })
}

pub fn server(major: u32) -> &'static Installation {
    inventory().server_for(major, "postgres").unwrap_or_else(|e| {
        panic!("PostgreSQL {major} is required by the test suite and missing: {} — run `npm test`, whose bootstrap installs it", e.message)
    })
}

pub fn client(major: u32, tool: &str) -> &'static Installation {
    inventory().client_for(major, tool).unwrap_or_else(|e| panic!("{}", e.message))
}

/// A unique, hard-to-guess password, so a search for it finds only real leaks.
pub fn password() -> String {
    format!("Tl-{}-pw", uuid_like())
}

pub fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

/// npm test prints the majors the server tests really ran on.
fn record_major(major: u32) {
    report_line(&major.to_string());
}

/// A line of npm test's report: `major` (a server started) or `major seconds` (a case ended).
fn report_line(line: &str) {
    if let Some(path) = std::env::var_os("TIDELINE_TEST_REPORT") {
        use std::io::Write;
        // One write per line: tests in parallel append to the same file.
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).create(true).open(path) {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

fn test_tmp() -> PathBuf {
    std::env::var_os("TIDELINE_TEST_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Polls a real server's (or process's) observable state; fails with `what` after a minute.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
