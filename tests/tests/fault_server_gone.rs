//! The fault suite's server gone, on every major: the server stopped as by `pg_ctl stop -m
//! immediate` (SIGQUIT to the postmaster) while pg_dump and pg_basebackup read from it. Each run
//! ends with a coded error and a hint, nothing new is listed, nothing of the run is left, and
//! once the server is back the next run is green.

use crate::support::kill_points::leftovers;
use crate::support::{add_profile, load_sample, password, psql, wait_child, Home, TableLock, TestCluster};

/// SIGQUIT to the postmaster: PostgreSQL's immediate shutdown.
fn stop_immediately(pg: &TestCluster) {
    let pid_file = std::fs::read_to_string(pg.get().data_dir().join("postmaster.pid")).unwrap();
    let pid: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    unsafe { libc::kill(pid, libc::SIGQUIT) };
    crate::support::wait_for("the server to stop", || unsafe { libc::kill(pid, 0) } != 0);
}

fn listed(home: &Home) -> usize {
    home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len()
}

fn ended_with_a_coded_error(out: std::process::Output, what: &str) {
    assert!(!out.status.success(), "{what} succeeded with its server gone");
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (code, hint) = (err["code"].as_str().unwrap_or_default(), err["hint"].as_str().unwrap_or_default());
    assert!(!code.is_empty() && code != "internal" && hint.len() > 10, "{what}: {err}");
    assert!(err["message"].as_str().is_some_and(|m| !m.trim().is_empty()), "{what}: {err}");
    eprintln!("{what}: {err}");
}

each_major!(fn the_server_stopped_mid_dump_and_mid_base_backup(major) {
    let pw = password();
    let mut pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    // 40 MB read at 1 MB/s: the base backup is certainly mid-copy when the server goes.
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 600000) g");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let repo = home.path().join("repo");

    // Mid-dump: pg_dump waits for a table another session holds, and the server goes.
    let lock = TableLock::hold(&pg, &pw);
    let backup = home.spawn(&["backup", "p", "--database", "shop"]);
    wait_child(backup.id(), &["/pg_dump\0"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop_immediately(&pg);
    // Its session went with the server (and its psql exits): nothing to release.
    std::mem::forget(lock);
    ended_with_a_coded_error(backup.wait_with_output().unwrap(), &format!("backup on {major}"));
    pg.restart();
    assert_eq!(listed(&home), 0, "PostgreSQL {major}: nothing new is listed");

    // Mid-base-backup.
    let base = home.spawn(&["basebackup", "p", "--format", "plain", "--max-rate", "1M"]);
    wait_child(base.id(), &["/pg_basebackup\0", "--wal-method=stream"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stop_immediately(&pg);
    ended_with_a_coded_error(base.wait_with_output().unwrap(), &format!("basebackup on {major}"));
    pg.restart();
    assert_eq!(listed(&home), 0, "PostgreSQL {major}: nothing new is listed");

    // The next runs are green and clear what the stopped ones left.
    home.cli(&["backup", "p", "--database", "shop"], None).ok();
    home.cli(&["basebackup", "p", "--format", "plain"], None).ok();
    assert_eq!(listed(&home), 2);
    assert!(leftovers(&repo).is_empty(), "PostgreSQL {major}: {:?}", leftovers(&repo));
});
