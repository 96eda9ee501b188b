//! PITR to a commit that only the streamed `.partial` holds, and restore-in-place of a stopped
//! cluster's own data directory (refused while it runs or unconfirmed; the old directory kept).

mod support;

use std::path::Path;
use support::{password, psql, set_mode, wait_for, Home, TestCluster};

fn query(major: u32, port: u16, pw: &str, sql: &str) -> String {
    let draft = tideline_core::profile::ProfileDraft {
        host: "127.0.0.1".into(),
        port,
        database: "postgres".into(),
        user: "postgres".into(),
        sslmode: tideline_core::profile::SslMode::Disable,
        ..Default::default()
    };
    let psql = support::client(major, "psql").path("psql");
    let pw = tideline_core::Secret::new(pw);
    let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, Some(&pw)).unwrap();
    let out = cc.command.args(["-X", "-At", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn pitr_reaches_a_commit_that_only_the_partial_segment_holds() {
    for major in support::majors() {
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
        let mut stream = std::process::Command::new(support::tideline_bin())
            .env("TIDELINE_HOME", home.path())
            .args(["wal", "stream", "p", "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the slot to be active", || {
            psql(&pg, "postgres", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tideline_p' AND active")
                == "1"
        });
        psql(&pg, "postgres", "CREATE TABLE t (note text)");
        let full = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        wait_for("the finished segment", || wal.join(format!("{full}.zst")).exists());
        let marker = format!("only-in-partial-{}", support::uuid_like());
        let xid =
            psql(&pg, "postgres", &format!("BEGIN; INSERT INTO t VALUES ('{marker}'); SELECT txid_current(); COMMIT;"));
        let current = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
        let partial = wal.join(format!("{current}.partial.zst"));
        wait_for("the partial to hold the commit", || {
            tideline_core::wal::archive::read_compressed(&partial)
                .map(|b| b.windows(marker.len()).any(|w| w == marker.as_bytes()))
                .unwrap_or(false)
        });
        unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
        assert!(stream.wait().unwrap().success());
        assert!(!wal.join(format!("{current}.zst")).exists(), "the commit must be only in the partial");

        let s = home.cli(&["pitr", "p", "--xid", &xid], None).ok().clone();
        let port = s["port"].as_u64().unwrap() as u16;
        assert_eq!(
            query(major, port, &pw, &format!("SELECT count(*) FROM t WHERE note = '{marker}'")),
            "1",
            "PostgreSQL {major}: the partial's commit is in the sandbox"
        );
        assert_eq!(s["reached"]["xid"].as_str(), Some(xid.as_str()), "{s}");
        home.cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();
    }
}

#[test]
fn restore_in_place_moves_the_old_directory_aside_and_recovers_to_the_target() {
    for major in support::majors() {
        let pw = password();
        let work = tempfile::Builder::new().prefix("tideline-inplace-").tempdir().unwrap();
        set_mode(work.path(), 0o755);
        let (_bin_dir, bin) = support::installed_tideline("tideline-bin-");
        let repo = work.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        if let Some(owner) = tideline_core::cluster::cluster_owner().unwrap() {
            std::os::unix::fs::chown(&repo, Some(owner.uid), Some(owner.gid)).unwrap();
        }
        let mut pg = TestCluster::start_with(
            major,
            Some(&pw),
            vec![
                ("wal_level".into(), "replica".into()),
                ("archive_mode".into(), "on".into()),
                ("archive_command".into(), format!("'{} wal-push --repo {} %p'", bin.display(), repo.display())),
            ],
        );
        let home = Home::new();
        home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
        home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
        let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
        let wal = repo.join("clusters").join(&sysid).join("wal");
        let first = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        wait_for("the first segment to be archived", || wal.join(format!("{first}.zst")).exists());
        psql(&pg, "postgres", "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 700)");
        let base = home.cli(&["basebackup", "p"], None).ok().clone();
        let id = base["id"].as_str().unwrap().to_string();
        psql(&pg, "postgres", "INSERT INTO orders SELECT generate_series(701, 900)");
        let lsn_before = psql(&pg, "postgres", "SELECT pg_current_wal_lsn()");
        psql(&pg, "postgres", "DELETE FROM orders");
        let last = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        wait_for("the last segment to be archived", || wal.join(format!("{last}.zst")).exists());
        let data = pg.get().data_dir();
        let data_s = data.to_str().unwrap();

        home.cli(&["restore-in-place", &id, "--data-dir", data_s, "--lsn", &lsn_before, "--yes"], None)
            .err("server_running");
        pg.get().stop().unwrap();
        home.cli(&["restore-in-place", &id, "--data-dir", data_s, "--lsn", &lsn_before], None)
            .err("confirmation_required");
        let r = home
            .cli(&["restore-in-place", &id, "--data-dir", data_s, "--lsn", &lsn_before, "--yes"], None)
            .ok()
            .clone();
        let old = r["old_data_dir"].as_str().unwrap().to_string();
        assert!(Path::new(&old).join("PG_VERSION").exists(), "the old directory is kept: {r}");
        assert!(data.join("recovery.signal").exists());

        pg.restart();
        wait_for("the restored cluster to promote", || psql(&pg, "postgres", "SELECT pg_is_in_recovery()") == "f");
        assert_eq!(psql(&pg, "postgres", "SELECT count(*) FROM orders"), "900", "PostgreSQL {major}: in-place PITR");
    }
}
