//! PITR to a commit that only the streamed `.partial` holds, and restore-in-place of a stopped
//! cluster's own data directory (refused while it runs or unconfirmed; the old directory kept).

use crate::support::{password, psql, set_mode, wait_for, Home, TestCluster};
use std::path::Path;

each_major!(fn pitr_reaches_a_commit_that_only_the_partial_segment_holds(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    // The recovering server's OS user must reach the repository: not inside a private home.
    let work = tempfile::Builder::new().prefix("tideline-pitr-stream-").tempdir().unwrap();
    set_mode(work.path(), 0o755);
    let repo = work.path().join("repo");
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    home.cli(&["basebackup", "p"], None).ok();
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
    let wal = repo.join("clusters").join(&sysid).join("wal");
    let mut stream = crate::support::start_stream(&home, &pg, "p");
    psql(&pg, "postgres", "CREATE TABLE t (note text)");
    let full = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    wait_for("the finished segment", || wal.join(format!("{full}.zst")).exists());
    let marker = format!("only-in-partial-{}", crate::support::uuid_like());
    let xid =
        psql(&pg, "postgres", &format!("BEGIN; INSERT INTO t VALUES ('{marker}'); SELECT txid_current(); COMMIT;"));
    let current = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    let partial = wal.join(format!("{current}.partial.zst"));
    crate::support::wait_for_in_partial(&partial, &marker);
    unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
    assert!(stream.wait().unwrap().success());
    assert!(!wal.join(format!("{current}.zst")).exists(), "the commit must be only in the partial");

    let s = home.cli(&["pitr", "p", "--xid", &xid], None).ok().clone();
    let port = s["port"].as_u64().unwrap() as u16;
    assert_eq!(
        crate::support::query_at(major, port, &pw, &format!("SELECT count(*) FROM t WHERE note = '{marker}'")),
        "1",
        "PostgreSQL {major}: the partial's commit is in the sandbox"
    );
    assert_eq!(s["reached"]["xid"].as_str(), Some(xid.as_str()), "{s}");
    home.cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();
});

each_major!(fn restore_in_place_moves_the_old_directory_aside_and_recovers_to_the_target(major) {
    let pw = password();
    let mut source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &source.pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    psql(&source.pg, "postgres", "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 700)");
    let base = home.cli(&["basebackup", "p"], None).ok().clone();
    let id = base["id"].as_str().unwrap().to_string();
    psql(&source.pg, "postgres", "INSERT INTO orders SELECT generate_series(701, 900)");
    let lsn_before = psql(&source.pg, "postgres", "SELECT pg_current_wal_lsn()");
    psql(&source.pg, "postgres", "DELETE FROM orders");
    source.switch_and_wait();
    let data = source.pg.get().data_dir();
    let data_s = data.to_str().unwrap();

    home.cli(&["restore-in-place", &id, "--data-dir", data_s, "--lsn", &lsn_before, "--yes"], None)
        .err("server_running");
    source.pg.get().stop().unwrap();
    home.cli(&["restore-in-place", &id, "--data-dir", data_s, "--lsn", &lsn_before], None)
        .err("confirmation_required");
    // The cluster's user plants a link named like an unarchived segment, at a root-only
    // secret: root must not copy it into the new pg_wal, which that user reads.
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("shadow");
    std::fs::write(&secret, "root-only secret").unwrap();
    let planted = "0000000100000000000000FE";
    std::os::unix::fs::symlink(&secret, data.join("pg_wal").join(planted)).unwrap();
    let r = home
        .cli(&["restore-in-place", &id, "--data-dir", data_s, "--lsn", &lsn_before, "--yes"], None)
        .ok()
        .clone();
    let old = r["old_data_dir"].as_str().unwrap().to_string();
    assert!(Path::new(&old).join("PG_VERSION").exists(), "the old directory is kept: {r}");
    assert!(data.join("recovery.signal").exists());
    assert!(!data.join("pg_wal").join(planted).exists(), "a planted link was carried over: {r}");
    assert!(crate::support::files_containing(&data, "root-only secret").is_empty());
    let parent = data.parent().unwrap();
    let staging: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tideline-restoring"))
        .collect();
    assert!(staging.is_empty(), "the staging directory is gone");

    source.pg.restart();
    wait_for("the restored cluster to promote", || {
        psql(&source.pg, "postgres", "SELECT pg_is_in_recovery()") == "f"
    });
    assert_eq!(
        psql(&source.pg, "postgres", "SELECT count(*) FROM orders"),
        "900",
        "PostgreSQL {major}: in-place PITR"
    );
});
