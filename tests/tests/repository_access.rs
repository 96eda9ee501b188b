//! Who can reach the repository. As root with no TIDELINE_HOME, the default repository is one
//! the servers' OS user can traverse (root's own data directory is closed to it), so archiving
//! and recovery work the first time; `repo path` says who can read what; and the directories a
//! backup creates (named after profiles and databases) are listable by nobody else.

use crate::support::{majors, password, Home, TestCluster};
use std::os::unix::fs::PermissionsExt;

#[test]
fn as_root_the_default_repository_is_one_the_servers_user_can_reach() {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // Root's first run: no TIDELINE_HOME, a data directory of its own.
    let data = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(crate::support::tideline_bin());
    cmd.env_remove("TIDELINE_HOME").env("XDG_DATA_HOME", data.path()).args(["repo", "path", "--json"]);
    let r = crate::support::run_cli(cmd, None).ok().clone();
    assert_eq!(r["path"], tideline_core::logical::history::ROOT_REPOSITORY, "{r}");
    assert!(r["summary"].as_str().unwrap().contains(tideline_core::logical::history::ROOT_REPOSITORY), "{r}");

    // With TIDELINE_HOME chosen, the repository stays inside it, and `repo path` says who gets in.
    let home = Home::new();
    let r = home.cli(&["repo", "path"], None).ok().clone();
    assert_eq!(r["path"], home.path().join("repo").to_str().unwrap(), "{r}");
    assert_eq!(r["exists"], false);
    assert_eq!(r["cluster_user"], "postgres", "{r}");
}

#[test]
fn the_directories_a_backup_makes_are_listable_by_nobody_else() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    crate::support::add_profile(&home, &pg, &pw);
    home.cli(&["backup", "p", "--database", "postgres"], None).ok();
    let repo = home.path().join("repo");
    let mut stack = vec![repo.clone()];
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", dir.display());
        stack.extend(std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    let r = home.cli(&["repo", "path"], None).ok().clone();
    assert!(r["summary"].as_str().unwrap().contains("no other user can enter it"), "{r}");
}

/// Removes what a first run as root left in the shared default repository.
struct SharedRepoCleanup(std::path::PathBuf);

impl Drop for SharedRepoCleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `sudo tideline …` on a fresh machine: no TIDELINE_HOME, no `repo path`. Archiving set up by
/// `wal setup` reaches the default repository as the server's OS user, and PITR recovers from
/// it — the first time, with nothing moved by hand.
#[test]
fn as_root_a_first_run_archives_and_recovers_without_moving_the_repository() {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let major = majors()[0];
    let pw = password();
    let mut pg = TestCluster::start(major, Some(&pw));
    let data = tempfile::tempdir().unwrap();
    let cli = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = std::process::Command::new(crate::support::tideline_bin());
        cmd.env_remove("TIDELINE_HOME").env("XDG_DATA_HOME", data.path()).args(args).arg("--json");
        crate::support::run_cli(cmd, stdin)
    };
    let name = format!("first-run-{}", &crate::support::uuid_like()[..8]);
    cli(&["profile", "add", &name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let sysid = crate::support::psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
    let repo = std::path::PathBuf::from(tideline_core::logical::history::ROOT_REPOSITORY);
    let _cleanup = SharedRepoCleanup(repo.join("clusters").join(&sysid));

    let r = cli(&["wal", "setup", &name, "--apply"], None).ok().clone();
    assert_eq!(r["method"], "archive", "the default repository is reachable: {r}");
    pg.get().stop().unwrap();
    pg.restart();
    let r = cli(&["wal", "setup", &name, "--apply"], None).ok().clone();
    assert_eq!(r["test"]["arrived"], true, "archiving reached the default repository: {r}");

    crate::support::psql(&pg, "postgres", "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 300) g");
    cli(&["basebackup", &name], None).ok();
    cli(&["mark", &name, "before"], None).ok();
    crate::support::psql(&pg, "postgres", "DELETE FROM orders");
    let segment = crate::support::psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    let wal = repo.join("clusters").join(&sysid).join("wal");
    crate::support::wait_for("the segment to be archived", || wal.join(format!("{segment}.zst")).exists());
    let s = cli(&["pitr", &name, "--name", "before"], None).ok().clone();
    let port = s["port"].as_u64().unwrap() as u16;
    assert_eq!(crate::support::query_at(major, port, &pw, "SELECT count(*) FROM orders"), "300", "{s}");
    cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();
    cli(&["wal", "teardown", &name], None).ok();
}
