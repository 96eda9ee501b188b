//! Who can reach the repository. As root with no TIDELINE_HOME, the default repository is one
//! the servers' OS user can traverse (root's own data directory is closed to it), so archiving
//! and recovery work the first time; `repo path` says who can read what; and the directories a
//! backup creates (named after profiles and databases) are listable by nobody else.

mod support;

use std::os::unix::fs::PermissionsExt;
use support::{majors, password, Home, TestCluster};

#[test]
fn as_root_the_default_repository_is_one_the_servers_user_can_reach() {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // Root's first run: no TIDELINE_HOME, a data directory of its own.
    let data = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(support::tideline_bin());
    cmd.env_remove("TIDELINE_HOME").env("XDG_DATA_HOME", data.path()).args(["repo", "path", "--json"]);
    let r = support::run_cli(cmd, None).ok().clone();
    assert_eq!(r["path"], tideline_core::logical::backups::ROOT_REPOSITORY, "{r}");
    assert!(r["summary"].as_str().unwrap().contains(tideline_core::logical::backups::ROOT_REPOSITORY), "{r}");

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
    support::add_profile(&home, &pg, &pw);
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
