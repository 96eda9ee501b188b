//! Kill points for the fault suite: an operation started with the real CLI, a victim (Tideline
//! itself or the tool it runs) sent SIGKILL or SIGTERM at a seeded random moment within the
//! operation's measured duration, and then what must hold, tallied rather than asserted at
//! once so one run shows every count: nothing partial listed as complete (every listed backup
//! verifies), the catalog consistent with the repository (`repo rescan` changes nothing), no
//! process left of the run, no passfile, no sandbox that `sandbox list` does not show, and the
//! next run green with nothing left behind.

use super::{child_with_args, Home};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The seed (`TIDELINE_FAULT_SEED`, printed with the counts) and trials per operation and major
/// (`TIDELINE_FAULT_TRIALS`, 5 by default: over six majors, the 30 each operation had on three).
pub fn seed() -> u64 {
    std::env::var("TIDELINE_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261206)
}

pub fn trials() -> u32 {
    std::env::var("TIDELINE_FAULT_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(5)
}

#[derive(Debug, Default)]
pub struct Tally {
    pub trials: u32,
    /// Trials whose victim was running when the signal was sent.
    pub landed: u32,
    pub partial_listed: u32,
    pub rescan_changed: u32,
    pub orphans: u32,
    pub passfiles: u32,
    pub unlisted_sandboxes: u32,
    pub next_failed: u32,
    pub leftovers: u32,
    pub problems: Vec<String>,
}

impl Tally {
    fn problem(&mut self, what: String) {
        eprintln!("fault suite: {what}");
        self.problems.push(what);
    }

    /// Reports the counts ([`report`]) and fails the test if anything was found.
    pub fn finish(self, operation: &str, major: u32) {
        let line = format!(
            "kill points, {operation} on PostgreSQL {major} (seed {}): {} trials, {} landed mid-run; \
             partial listed as complete {}, rescan changed the catalog {}, orphan processes {}, \
             passfiles {}, unlisted sandboxes {}, next run failed {}, leftovers {}",
            seed(),
            self.trials,
            self.landed,
            self.partial_listed,
            self.rescan_changed,
            self.orphans,
            self.passfiles,
            self.unlisted_sandboxes,
            self.next_failed,
            self.leftovers
        );
        report(&line);
        assert!(self.problems.is_empty(), "{line}\n{}", self.problems.join("\n"));
    }
}

/// Prints one line of counts and appends it to `TIDELINE_FAULT_REPORT` (npm test shows them
/// at the end; tests in parallel append whole lines).
pub fn report(line: &str) {
    eprintln!("{line}");
    if let Ok(path) = std::env::var("TIDELINE_FAULT_REPORT") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).create(true).open(path) {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

/// Who is killed: Tideline (the CLI process) or the first process below it whose argv holds
/// every one of the parts.
#[derive(Debug, Clone, Copy)]
pub enum Victim {
    Tideline,
    Tool(&'static [&'static str]),
}

pub fn signal_name(signal: i32) -> &'static str {
    if signal == libc::SIGKILL {
        "SIGKILL"
    } else {
        "SIGTERM"
    }
}

/// Runs `args` in the background, sends `signal` to `victim` after `delay`, and waits for the
/// CLI to end. Returns whether the victim was running then, and the CLI's JSON output.
pub fn kill_run(home: &Home, args: &[&str], victim: Victim, signal: i32, delay: Duration) -> (bool, serde_json::Value) {
    let mut child = home.spawn(args);
    std::thread::sleep(delay);
    let pid = match victim {
        Victim::Tideline => Some(child.id()).filter(|_| child.try_wait().ok().flatten().is_none()),
        Victim::Tool(parts) => descendant_with_args(child.id(), parts),
    };
    if let Some(pid) = pid {
        unsafe { libc::kill(pid as i32, signal) };
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{args:?} did not end after {signal} to {victim:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (pid.is_some(), serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null))
}

/// A process below `parent` (at any depth) whose argv holds every one of `parts`.
fn descendant_with_args(parent: u32, parts: &[&str]) -> Option<u32> {
    if let Some(pid) = child_with_args(parent, parts) {
        return Some(pid);
    }
    children(parent).into_iter().find_map(|c| descendant_with_args(c, parts))
}

fn children(parent: u32) -> Vec<u32> {
    processes().into_iter().filter(|(_, ppid, _)| *ppid == parent).map(|(pid, _, _)| pid).collect()
}

/// (pid, parent pid, argv joined by spaces) of every live process.
fn processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.first() == Some(&"Z") {
            continue;
        }
        let ppid = fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        let argv = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        out.push((pid, ppid, String::from_utf8_lossy(&argv).replace('\0', " ")));
    }
    out
}

/// Processes whose argv names one of `places` (the home, the repository): what a run started.
fn started_in(places: &[&Path], except: &BTreeSet<u32>) -> Vec<(u32, String)> {
    let me = std::process::id();
    processes()
        .into_iter()
        .filter(|(pid, _, argv)| {
            *pid != me && !except.contains(pid) && places.iter().any(|p| argv.contains(&*p.to_string_lossy()))
        })
        .map(|(pid, _, argv)| (pid, argv))
        .collect()
}

/// Passfile directories in the temporary directory (Tideline writes none any more).
pub fn passfiles() -> usize {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("tideline-pass-")).count())
        .unwrap_or(0)
}

/// Dot-named entries Tideline leaves only while it works: staging, deletions, temporary files.
pub fn leftovers(repo: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if name.starts_with(".tmp-") || name.starts_with(".deleting-") {
                out.push(path);
            } else if path.is_dir() && name != ".locks" {
                stack.push(path);
            }
        }
    }
    out
}

/// The checks after one trial. `verified` remembers backups already verified; `keep` are pids
/// that may run on (listed sandboxes' servers, a stream the test runs).
pub fn check_after(
    home: &Home,
    repo: &Path,
    tally: &mut Tally,
    trial: &str,
    verified: &mut BTreeSet<String>,
    keep: &BTreeSet<u32>,
) {
    // The next Tideline to start stops what a killed one's tools forked.
    home.cli(&["backups", "list"], None).ok();
    // A sandbox `sandbox list` shows may run on (a PITR the kill missed finished).
    let sandboxes = home.cli(&["sandbox", "list"], None).ok()["sandboxes"].clone();
    let listed_roots: BTreeSet<String> =
        sandboxes.as_array().unwrap().iter().filter_map(|s| s["root"].as_str().map(str::to_string)).collect();
    let mut keep = keep.clone();
    for (pid, _, argv) in processes() {
        if listed_roots.iter().any(|r| argv.contains(r.as_str())) {
            keep.insert(pid);
        }
    }
    let keep = &keep;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut left = started_in(&[home.path(), repo], keep);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = started_in(&[home.path(), repo], keep);
    }
    for (pid, argv) in &left {
        tally.orphans += 1;
        tally.problem(format!("{trial}: process {pid} still runs: {argv}"));
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    if passfiles() > 0 {
        tally.passfiles += 1;
        tally.problem(format!("{trial}: a passfile directory in {}", std::env::temp_dir().display()));
    }
    let listed = |home: &Home| -> Vec<(String, String)> {
        let list = home.cli(&["backups", "list"], None).ok()["backups"].clone();
        let mut v: Vec<(String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["id"].as_str().unwrap().to_string(), b["status"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    };
    let before = listed(home);
    let rescan = home.cli(&["repo", "rescan"], None).ok().clone();
    let after = listed(home);
    if before != after || rescan["forgotten"] != 0 || !rescan["damaged"].as_array().is_none_or(|d| d.is_empty()) {
        tally.rescan_changed += 1;
        tally.problem(format!("{trial}: repo rescan changed the catalog: {before:?} → {after:?}, {rescan}"));
    }
    for (id, status) in &after {
        if status != "complete" || !verified.insert(id.clone()) {
            continue;
        }
        let v = home.cli(&["verify", id], None);
        if !v.output.status.success() {
            tally.partial_listed += 1;
            tally.problem(format!("{trial}: backup {id} is listed complete but does not verify: {}", v.json));
        }
    }
    for entry in std::fs::read_dir(home.path().join("sandboxes")).into_iter().flatten().flatten() {
        let root = entry.path().to_string_lossy().to_string();
        if entry.path().is_dir() && !listed_roots.contains(&root) {
            tally.unlisted_sandboxes += 1;
            tally.problem(format!("{trial}: sandbox directory {root} is not listed"));
        }
    }
}

/// After the next run: anything Tideline's own working names left in the repository.
pub fn check_leftovers(repo: &Path, tally: &mut Tally, trial: &str) {
    let left = leftovers(repo);
    if !left.is_empty() {
        tally.leftovers += left.len() as u32;
        tally.problem(format!("{trial}: left after the next run: {left:?}"));
    }
}
