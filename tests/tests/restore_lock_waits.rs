//! Autovacuum yields to a restore within the restore's short lock wait (100 ms, not the
//! server's 1 s), and only logins allowed to shorten it do: anyone else's restore — or one
//! through a pooler that refuses startup options (a real PgBouncer) — runs with the server's
//! setting rather than being refused the connection. Real servers of every major.

use crate::support::{last_log_line, password, psql, Home, TestCluster};
use std::time::{Duration, Instant};

/// A server logging lock waits, with autovacuum looking every second; a home with profile `p`
/// (the superuser) and a backup of database `av` (one table `t`, 100000 rows).
fn setup(major: u32) -> (TestCluster, Home, String) {
    let pw = password();
    let settings = [("log_lock_waits", "on"), ("autovacuum_naptime", "1")];
    let pg = TestCluster::start_with(major, Some(&pw), settings.map(|(k, v)| (k.to_string(), v.to_string())).into());
    psql(&pg, "postgres", "CREATE DATABASE av");
    psql(&pg, "av", "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100000) g");
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let id = home.cli(&["backup", "p", "--database", "av", "--format", "directory"], None).ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    (pg, home, id)
}

const SESSIONS_LINE: &str = "restore sessions: lock waits before autovacuum is cancelled";

/// Waits until autovacuum works on `copy.t`.
fn autovacuum_on_t(pg: &TestCluster, major: u32) {
    let waited = Instant::now();
    let busy = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'copy' AND query LIKE 'autovacuum:%public.t%'";
    while psql(pg, "postgres", busy) != "1" {
        assert!(waited.elapsed() < Duration::from_secs(60), "autovacuum never started on copy.t ({major})");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The server log written since byte `from`: its lock waits on AccessExclusiveLock in ms, and
/// whether an autovacuum task was cancelled.
fn lock_waits_since(pg: &TestCluster, from: usize) -> (Vec<f64>, bool) {
    let log = std::fs::read_to_string(pg.get().log_path()).unwrap();
    let since = &log[from..];
    let waits = since
        .lines()
        .filter(|l| l.contains("still waiting for AccessExclusiveLock"))
        .map(|l| l[l.rfind("after ").unwrap() + 6..].trim_end_matches(" ms").parse().unwrap())
        .collect();
    (waits, since.contains("canceling autovacuum task"))
}

/// `ALTER SYSTEM SET deadlock_timeout {value}`, and waits until new sessions show `shows`.
fn set_deadlock_timeout(pg: &TestCluster, value: &str, shows: &str) {
    psql(pg, "postgres", &format!("ALTER SYSTEM SET deadlock_timeout {value}"));
    psql(pg, "postgres", "SELECT pg_reload_conf()");
    let waited = Instant::now();
    while psql(pg, "postgres", "SHOW deadlock_timeout") != shows {
        assert!(waited.elapsed() < Duration::from_secs(10), "the server never took {shows}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn log_len(pg: &TestCluster) -> usize {
    std::fs::metadata(pg.get().log_path()).unwrap().len() as usize
}

each_major!(fn autovacuum_working_on_a_table_yields_to_the_restore_within_100_ms(major) {
    let (pg, home, id) = setup(major);
    home.cli(&["restore", &id, "--to-db", "copy"], None).ok();
    assert!(last_log_line(&home, SESSIONS_LINE).contains("shortened=true"));
    // Autovacuum crawls over t in copy (100000 dead rows, throttled to a page at a time).
    psql(
        &pg,
        "copy",
        "ALTER TABLE t SET (autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
         UPDATE t SET v = v || '.'",
    );
    // A session with the server's deadlock_timeout waits a second for it.
    autovacuum_on_t(&pg, major);
    let from = log_len(&pg);
    psql(&pg, "copy", "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; COMMIT");
    let (waits, cancelled) = lock_waits_since(&pg, from);
    assert!(cancelled && waits.len() == 1 && waits[0] >= 1000.0, "{major}: the server's wait: {waits:?} ms");

    // The restore dropping t under --clean waits only its own deadlock_timeout.
    autovacuum_on_t(&pg, major);
    let from = log_len(&pg);
    let cleaned = home.cli(&["restore", &id, "--to-db", "copy", "--clean"], None);
    assert_eq!(cleaned.ok()["row_counts"][0]["rows"], 100000);
    let (waits, cancelled) = lock_waits_since(&pg, from);
    assert!(cancelled, "{major}: autovacuum was not cancelled");
    assert!(!waits.is_empty(), "{major}: the restore never waited for autovacuum");
    assert!(waits.iter().all(|&ms| (100.0..1000.0).contains(&ms)), "{major}: waits of {waits:?} ms");
    assert_eq!(psql(&pg, "copy", "SELECT count(*) FROM t WHERE v LIKE '%.'"), "0", "the backup's rows");
});

each_major!(fn a_login_that_may_not_shorten_lock_waits_restores_with_the_servers_setting(major) {
    let (pg, home, id) = setup(major);
    let pw = password();
    psql(&pg, "postgres", &format!("CREATE ROLE restorer LOGIN CREATEDB PASSWORD '{pw}'"));
    let url = format!("postgresql://restorer@127.0.0.1:{}/postgres?sslmode=disable", pg.port());
    home.cli(&["profile", "add", "r", "--url", &url, "--password-stdin"], Some(&pw)).ok();
    // Asking for the setting anyway would have the connection refused, and the restore with
    // it; so it is not asked for, not even on trial (each refusal is a FATAL in the log).
    let from = log_len(&pg);
    let restored = home.cli(&["restore", &id, "--profile", "r", "--to-db", "mine", "--no-owner"], None);
    assert_eq!(restored.ok()["row_counts"][0]["rows"], 100000);
    let line = last_log_line(&home, SESSIONS_LINE);
    assert!(line.contains("shortened=false") && line.contains("may not set"), "{line}");
    let log = std::fs::read_to_string(pg.get().log_path()).unwrap();
    assert!(!log[from..].contains("permission denied to set parameter"), "{}", &log[from..]);
    // A server whose own setting is as short keeps it.
    set_deadlock_timeout(&pg, "= '50ms'", "50ms");
    home.cli(&["restore", &id, "--to-db", "short"], None).ok();
    let line = last_log_line(&home, SESSIONS_LINE);
    assert!(line.contains("server_ms=50") && line.contains("shortened=false"), "{line}");
    set_deadlock_timeout(&pg, "TO DEFAULT", "1s");
    // Granted the setting (PostgreSQL 15 on), the same login's restores shorten it.
    if major < 15 {
        return;
    }
    psql(&pg, "postgres", "GRANT SET ON PARAMETER deadlock_timeout TO restorer");
    let again = home.cli(&["restore", &id, "--profile", "r", "--to-db", "mine2", "--no-owner"], None);
    assert_eq!(again.ok()["row_counts"][0]["rows"], 100000);
    assert!(last_log_line(&home, SESSIONS_LINE).contains("shortened=true"));
});

/// PgBouncer (session pooling) in front of `pg`, on a free port; stopped when dropped. Before
/// 1.20 it refuses a client's startup `options` outright, as poolers may.
struct Pooler {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Pooler {
    fn start(pg: &TestCluster) -> Pooler {
        let dir = tempfile::Builder::new().prefix("tideline-pooler-").tempdir().unwrap();
        crate::support::set_mode(dir.path(), 0o777);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pw = pg.password.as_deref().unwrap();
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={} user=postgres password={pw}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\n\
             auth_file = {dir}/users.txt\npool_mode = session\nlogfile = {dir}/pgbouncer.log\n",
            pg.port(),
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).unwrap();
        std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("pgbouncer (scripts/bootstrap.sh test installs it)");
        let mut cmd = std::process::Command::new(program);
        cmd.arg(dir.path().join("pgbouncer.ini"));
        // It will not run as root: as the cluster's owner, like the server.
        if let Some(owner) = pg.get().owner() {
            use std::os::unix::process::CommandExt;
            cmd.uid(owner.uid).gid(owner.gid);
        }
        let child = cmd.spawn().unwrap();
        let waited = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(waited.elapsed() < Duration::from_secs(10), "pgbouncer did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Pooler { child, port, _dir: dir }
    }
}

impl Drop for Pooler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

each_major!(fn a_restore_through_a_pooler_that_refuses_startup_options_runs_with_the_servers_setting(major) {
    let (pg, home, id) = setup(major);
    let pooler = Pooler::start(&pg);
    let url = format!("postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable", pooler.port);
    home.cli(&["profile", "add", "pooled", "--url", &url, "--no-password"], None).ok();
    // The login may set the parameter, but the pooler would refuse every connection asking.
    let restored = home.cli(&["restore", &id, "--profile", "pooled", "--to-db", "through"], None);
    assert_eq!(restored.ok()["row_counts"][0]["rows"], 100000);
    let line = last_log_line(&home, SESSIONS_LINE);
    assert!(line.contains("shortened=false") && line.contains("startup parameter"), "{line}");
});
