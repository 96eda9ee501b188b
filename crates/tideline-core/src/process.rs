//! Process spawning is passed in: the engine asks a `Runner` to run a command, so tests can
//! give canned outputs to code that interprets them (below real tests of the same path).
//!
//! Long-running tools (pg_dump, pg_basebackup, pg_receivewal, …) each lead a process group of
//! their own, killed whole when the job ends, fails or is cancelled ([`ChildGroup`]). A tool's
//! direct child dies with Tideline (a parent-death signal), but what the tool forked cannot be
//! told: pg_basebackup's WAL streamer outlived a killed Tideline, holding WAL senders. So each
//! group is recorded in `<home>/run/groups` while it runs, and the next Tideline to start kills
//! the groups whose Tideline is gone.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub trait Runner: Send + Sync {
    /// Runs a short command to its end and returns what it printed.
    fn output(&self, cmd: &mut Command) -> io::Result<Output>;

    /// Starts a long-running tool (pg_dump, pg_receivewal, …), killed if the handle is dropped.
    fn spawn(&self, cmd: Command) -> io::Result<tokio::process::Child> {
        tokio::process::Command::from(cmd).kill_on_drop(true).spawn()
    }
}

pub struct SystemRunner;

impl Runner for SystemRunner {
    fn output(&self, cmd: &mut Command) -> io::Result<Output> {
        cmd.stdin(std::process::Stdio::null()).output()
    }
}

/// In a child between fork and exec: its own process group (so the group can be killed as one),
/// and SIGKILL when the thread that forked it dies (so a killed Tideline leaves no tool behind).
/// Only async-signal-safe calls.
pub(crate) fn own_process_group() {
    // SAFETY: plain system calls on the calling process.
    unsafe {
        libc::setpgid(0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    }
}

static GROUPS_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// A running tool's process group, killed whole when this is dropped or `kill` is called: the
/// tool and whatever it forked. The child must lead a group of its own ([`own_process_group`],
/// which `libpq_env::client_command` arranges).
pub struct ChildGroup {
    pgid: Option<i32>,
    record: Option<PathBuf>,
}

impl ChildGroup {
    pub fn of(pid: Option<u32>, program: &Path) -> Self {
        let pgid = pid.map(|p| p as i32).filter(|p| *p > 1);
        let record = pgid.and_then(|pgid| record_group(pgid, program));
        ChildGroup { pgid, record }
    }

    pub fn kill(&self) {
        if let Some(pgid) = self.pgid {
            // SAFETY: a signal to a process group we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        // Whatever the tool left running (its leader may have exited or been killed already).
        self.kill();
        if let Some(record) = &self.record {
            let _ = std::fs::remove_file(record);
        }
    }
}

/// `<pgid>`: "owner-pid owner-start-time program", written before the group can outlive us.
fn record_group(pgid: i32, program: &Path) -> Option<PathBuf> {
    let dir = GROUPS_DIR.get()?;
    let me = std::process::id() as i32;
    let line = format!("{me} {} {}\n", start_time(me)?, program.display());
    crate::home::ensure_private_dir(dir).ok()?;
    let path = dir.join(pgid.to_string());
    std::fs::write(&path, line).ok()?;
    Some(path)
}

/// Where this process records its tools' groups; kills the groups of Tideline processes that
/// died without ending them, and removes passfile directories older versions left in the
/// temporary directory. Called once when the engine opens.
pub(crate) fn adopt_groups_in(home: &Path) {
    let dir = home.join("run").join("groups");
    let _ = GROUPS_DIR.set(dir.clone());
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let Ok(pgid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        let mut parts = text.trim_end().splitn(3, ' ');
        let (Some(owner), Some(started), Some(program)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let owner: i32 = owner.parse().unwrap_or(0);
        if owner > 0 && start_time(owner).as_deref() == Some(started) {
            continue; // its Tideline is still running
        }
        for pid in members(pgid, Path::new(program)) {
            tracing::warn!(pid, pgid, program, "stopping a tool a killed Tideline left running");
            // SAFETY: a signal to a process checked to be that tool, in that group.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = std::fs::remove_file(entry.path());
    }
    remove_old_passfile_dirs();
}

/// The processes in group `pgid` that run `program` (so a reused group id is left alone).
fn members(pgid: i32, program: &Path) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else { return vec![] };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat_field(*pid, 5).and_then(|g| g.parse::<i32>().ok()) == Some(pgid))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| same_file(&exe, program)))
        .collect()
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Field `n` (1-based, as proc(5) counts) of `/proc/<pid>/stat`.
fn stat_field(pid: i32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses.
    let rest = stat.rsplit_once(") ")?.1;
    rest.split_whitespace().nth(n.checked_sub(3)?).map(str::to_string)
}

fn start_time(pid: i32) -> Option<String> {
    stat_field(pid, 22)
}

/// This process as `pid:start-time`: a later process can tell whether it still runs (a pid
/// taken again by another process has another start time).
pub fn this_process() -> String {
    let me = std::process::id() as i32;
    format!("{me}:{}", start_time(me).unwrap_or_default())
}

/// Whether the process [`this_process`] described runs.
pub fn process_alive(token: &str) -> bool {
    let Some((pid, started)) = token.split_once(':') else { return false };
    pid.parse::<i32>().ok().and_then(start_time).is_some_and(|s| s == started)
}

/// Passfile directories (`tideline-pass-*`) that Tideline before the in-memory passfile wrote
/// and a kill left behind, with a password inside.
fn remove_old_passfile_dirs() {
    use std::os::unix::fs::MetadataExt;
    let uid = unsafe { libc::getuid() };
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let ours = entry.metadata().is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if ours && entry.file_name().to_string_lossy().starts_with("tideline-pass-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_not() {
        assert!(process_alive(&this_process()));
        let (pid, _) = this_process().split_once(':').map(|(p, s)| (p.to_string(), s.to_string())).unwrap();
        assert!(!process_alive(&format!("{pid}:1")));
        assert!(!process_alive("garbage"));
    }

    #[test]
    fn stat_fields_are_read_past_the_command_name() {
        let me = std::process::id() as i32;
        assert_eq!(stat_field(me, 1), None); // inside the parentheses: not a field we read
        assert_eq!(stat_field(me, 4).unwrap().parse::<i32>().unwrap(), unsafe { libc::getppid() });
        assert_eq!(stat_field(me, 5).unwrap().parse::<i32>().unwrap(), unsafe { libc::getpgrp() });
        assert!(start_time(me).unwrap().parse::<u64>().is_ok());
    }
}
