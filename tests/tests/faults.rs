//! Kills at the worst moments: Tideline itself, pg_dump and pg_basebackup killed mid-run must
//! leave no tool running (by process group), no password on disk, nothing listed as complete,
//! and a next run that succeeds.

use crate::support::{add_profile, load_sample, password, psql, wait_child, Home, TableLock, TestCluster};
use std::time::{Duration, Instant};

fn alive(pid: u32) -> bool {
    // A zombie has exited: only its parent's wait is missing.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')).unwrap_or(false))
        .unwrap_or(false)
}

fn wait_gone(what: &str, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(Instant::now() < deadline, "{what} (pid {pid}) is still running");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Passfile directories an older Tideline wrote to the temporary directory.
fn passfile_dirs() -> Vec<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("tideline-pass-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

each_major!(fn a_killed_tideline_leaves_no_pg_dump_running_and_no_password_on_disk(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    for signal in [libc::SIGKILL, libc::SIGTERM] {
        let before = passfile_dirs();
        let listed = || home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len();
        let complete = listed();
        let lock = TableLock::hold(&pg, &pw);
        let backup = home.spawn(&["backup", "p", "--database", "shop", "--no-row-counts"]);
        let dump = wait_child(backup.id(), &["/pg_dump\0", "--snapshot="]);
        let environ = std::fs::read(format!("/proc/{dump}/environ")).unwrap();
        let passfile = String::from_utf8_lossy(&environ)
            .split('\0')
            .find_map(|v| v.strip_prefix("PGPASSFILE=").map(str::to_string))
            .unwrap();
        assert!(passfile.starts_with("/dev/fd/"), "{passfile}");
        unsafe { libc::kill(backup.id() as i32, signal) };
        let out = backup.wait_with_output().unwrap();
        drop(lock);
        assert!(!out.status.success());
        if signal == libc::SIGTERM {
            let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(err["code"], "cancelled", "{err}");
        }
        wait_gone("pg_dump", dump);
        assert_eq!(passfile_dirs(), before, "a passfile on disk");
        assert!(home.files_containing(&pw).is_empty(), "the password in Tideline's home");
        assert_eq!(listed(), complete, "nothing new is listed");
        let next = home.cli(&["backup", "p", "--database", "shop"], None).ok().clone();
        assert_eq!(next["status"], "complete", "PostgreSQL {major}");
        let left: Vec<_> = crate::support::backup_leftovers(&home, "p", "shop")
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
});

// pg_basebackup forks a child that streams WAL on a second connection. When pg_basebackup was
// killed, that child streamed forever into a deleted file, holding WAL senders: now the whole
// group goes, and after a killed Tideline the next start stops it.
each_major!(fn a_killed_pg_basebackup_takes_its_wal_streamer_with_it(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    // 40 MB at 1 MB/s: long enough to catch the copy mid-way.
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 600000) g");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let senders = || psql(&pg, "postgres", "SELECT count(*) FROM pg_stat_replication");
    for victim in ["pg_basebackup", "tideline"] {
        let backup = home.spawn(&["basebackup", "p", "--format", "plain", "--max-rate", "1M"]);
        let leader = wait_child(backup.id(), &["/pg_basebackup\0", "--wal-method=stream"]);
        let streamer = wait_child(leader, &["/pg_basebackup\0"]);
        assert_eq!(senders(), "2", "PostgreSQL {major}: the copy and the WAL stream");
        let pid = if victim == "tideline" { backup.id() } else { leader };
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let out = backup.wait_with_output().unwrap();
        assert!(!out.status.success());
        if victim == "pg_basebackup" {
            let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(err["code"], "backup_failed", "{err}");
        }
        wait_gone("pg_basebackup", leader);
        if victim == "tideline" {
            // Nothing of a killed Tideline runs: the streamer a tool forked cannot be told,
            // so the next Tideline to start stops it.
            home.cli(&["backups", "list"], None).ok();
        }
        wait_gone(&format!("PostgreSQL {major}, {victim} killed: pg_basebackup's WAL streamer"), streamer);
        crate::support::wait_for("the WAL senders to be free", || senders() == "0");
        assert_eq!(home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len(), 0);
    }
    assert_eq!(home.cli(&["basebackup", "p"], None).ok()["status"], "complete", "PostgreSQL {major}");
});
