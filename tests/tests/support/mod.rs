//! The test harness: real PostgreSQL clusters (started with the engine's own managed-cluster
//! code, removed on drop even when a test fails), the real `tideline` binary, a private
//! TIDELINE_HOME per test. Every server test runs on each required major; a missing major
//! fails the run rather than skipping.

#![allow(dead_code)]

pub mod kill_points;
pub mod webdriver;

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

/// A running cluster, removed when dropped.
pub struct TestCluster {
    pub cluster: Option<ManagedCluster>,
    pub password: Option<String>,
    _parent: tempfile::TempDir,
}

impl TestCluster {
    pub fn start(major: u32, password: Option<&str>) -> TestCluster {
        Self::start_with(major, password, vec![])
    }

    pub fn start_with(major: u32, password: Option<&str>, settings: Vec<(String, String)>) -> TestCluster {
        Self::start_prepared(major, password, settings, |_| {})
    }

    /// Like `start_with`, with `prepare` run on the data directory before the first start.
    pub fn start_prepared(
        major: u32,
        password: Option<&str>,
        settings: Vec<(String, String)>,
        prepare: impl FnOnce(&ManagedCluster),
    ) -> TestCluster {
        Self::start_under(&test_tmp(), major, password, settings, prepare)
    }

    /// A cluster whose files live under `dir` (e.g. a small file system).
    pub fn start_under(
        dir: &Path,
        major: u32,
        password: Option<&str>,
        settings: Vec<(String, String)>,
        prepare: impl FnOnce(&ManagedCluster),
    ) -> TestCluster {
        // The cluster's owner (an unprivileged user when we are root) must traverse the parent.
        let parent = tempfile::Builder::new().prefix("tideline-test-").tempdir_in(dir).expect("tempdir");
        set_mode(parent.path(), 0o755);
        let spec = ClusterSpec {
            superuser: "postgres".into(),
            password: password.map(Secret::new),
            settings,
            sandbox_rules: false,
        };
        let mut cluster = ManagedCluster::create(&parent.path().join("cluster"), server(major), &spec)
            .unwrap_or_else(|e| panic!("creating a PostgreSQL {major} cluster: {} ({})", e.message, e.hint));
        let mut guard = TestCluster { cluster: None, password: password.map(str::to_string), _parent: parent };
        prepare(&cluster);
        cluster.start().unwrap_or_else(|e| panic!("starting PostgreSQL {major}: {}", e.message));
        guard.cluster = Some(cluster);
        record_major(major);
        guard
    }

    pub fn get(&self) -> &ManagedCluster {
        self.cluster.as_ref().unwrap()
    }

    pub fn port(&self) -> u16 {
        self.get().port
    }

    /// Starts the (stopped) server again on its port, so profiles pointing at it still work.
    pub fn restart(&mut self) {
        let cluster = self.cluster.as_mut().unwrap();
        let port = cluster.port;
        cluster.start_on(Some(port)).unwrap_or_else(|e| panic!("restarting: {} {}", e.message, e.hint));
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}?sslmode=disable", self.port())
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            if let Err(e) = c.remove() {
                eprintln!("warning: removing a test cluster failed: {}", e.message);
            }
        }
    }
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

/// A private TIDELINE_HOME for one test.
pub struct Home(pub tempfile::TempDir);

impl Home {
    pub fn new() -> Home {
        Home(tempfile::Builder::new().prefix("tideline-home-").tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Runs the real `tideline` binary with `--json`, feeding `stdin`.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> CliResult {
        self.cli_env(args, stdin, &[])
    }

    /// The real `tideline` binary with `--json`, left running: stdout piped (its one JSON
    /// object), stderr dropped.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(tideline_bin())
            .env("TIDELINE_HOME", self.path())
            .args(args)
            .arg("--json")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Like `cli`, with extra environment variables.
    pub fn cli_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> CliResult {
        let mut cmd = Command::new(tideline_bin());
        cmd.env("TIDELINE_HOME", self.path()).args(args).arg("--json");
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_cli(cmd, stdin)
    }

    /// Every file under TIDELINE_HOME (catalog, WAL, logs) that contains `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        files_containing(self.path(), needle)
    }
}

pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}

pub fn run_cli(mut cmd: Command, stdin: Option<&str>) -> CliResult {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning tideline");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    CliResult::from(child.wait_with_output().unwrap())
}

pub struct CliResult {
    pub output: Output,
    pub json: serde_json::Value,
}

impl From<Output> for CliResult {
    fn from(output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or("");
        let json = serde_json::from_str(last).unwrap_or_else(|e| {
            panic!(
                "stdout's last line is not JSON ({e}): {stdout:?}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        CliResult { output, json }
    }
}

impl CliResult {
    pub fn ok(&self) -> &serde_json::Value {
        assert!(
            self.output.status.success(),
            "tideline failed: {}\nstderr: {}",
            self.json,
            String::from_utf8_lossy(&self.output.stderr)
        );
        &self.json
    }

    /// Asserts a failure with this code and a hint, and returns the error object.
    pub fn err(&self, code: &str) -> &serde_json::Value {
        assert!(!self.output.status.success(), "expected {code}, got success: {}", self.json);
        assert_eq!(self.json["code"], code, "wrong error: {}", self.json);
        assert!(self.json["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", self.json);
        assert!(self.json["hint"].as_str().is_some_and(|h| h.len() > 10), "no hint: {}", self.json);
        &self.json
    }
}

pub fn tideline_bin() -> PathBuf {
    // target/debug/deps/<test> → target/debug/tideline
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("tideline");
    assert!(bin.exists(), "{} is missing: build with `cargo build --workspace --all-targets` first", bin.display());
    bin
}

/// Reads the keychain directly, as a user's keychain app would.
pub fn keychain_get(profile_id: &str) -> Option<String> {
    let entry = keyring::Entry::new("tideline", &format!("profile/{profile_id}")).unwrap();
    match entry.get_password() {
        Ok(pw) => Some(pw),
        Err(keyring::Error::NoEntry) => None,
        Err(e) => panic!("keychain read failed: {e}"),
    }
}

/// Runs SQL with the cluster's psql as postgres (password through the engine's passfile).
pub fn psql(pg: &TestCluster, database: &str, sql: &str) -> String {
    let draft = pg.get().tcp_draft("harness", "postgres", database);
    let pw = pg.password.as_deref().map(Secret::new);
    let psql = client(pg.get().major, "psql").path("psql");
    let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, pw.as_ref()).unwrap();
    let out = cc
        .command
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = out;
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn pagila_schema() -> String {
    // The project's shared/ folder sits beside the clone (TIDELINE_SHARED overrides).
    let shared = std::env::var_os("TIDELINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let file = shared.join("fixtures/pagila/pagila-schema-pg13.sql");
    std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("{}: {e} (shared/ is expected beside the clone, or set TIDELINE_SHARED)", file.display())
    })
}

/// Creates `db` with pagila's schema and generated rows (text, numbers, jsonb), a partitioned
/// table, and a large object.
pub fn load_sample(pg: &TestCluster, db: &str) {
    psql(pg, "postgres", &format!("CREATE DATABASE {db}"));
    psql(pg, db, &pagila_schema());
    psql(
        pg,
        db,
        "INSERT INTO language (name) SELECT 'lang ' || g FROM generate_series(1, 20) g;
         INSERT INTO actor (first_name, last_name) SELECT 'First' || g, md5(g::text) FROM generate_series(1, 2000) g;
         INSERT INTO category (name) SELECT 'cat ' || g FROM generate_series(1, 16) g;
         INSERT INTO film (title, description, language_id, fulltext)
           SELECT 'Film ' || g, repeat(md5(g::text), 3), 1 + g % 20, to_tsvector('film ' || g) FROM generate_series(1, 1000) g;
         INSERT INTO film_actor (actor_id, film_id) SELECT 1 + g % 2000, 1 + g % 1000 FROM generate_series(1, 3000) g ON CONFLICT DO NOTHING;
         CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload jsonb, note text);
         INSERT INTO events (payload, note)
           SELECT jsonb_build_object('n', g, 'tags', jsonb_build_array(md5(g::text), g % 7)), repeat('x', g % 50)
           FROM generate_series(1, 5000) g;
         CREATE TABLE measurements (id int, taken date NOT NULL, v numeric) PARTITION BY RANGE (taken);
         CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         INSERT INTO measurements SELECT g, date '2024-01-01' + (g % 700), g * 1.5 FROM generate_series(1, 1400) g;
         SELECT lo_from_bytea(0, 'a large object');
         ANALYZE;",
    );
}

/// A plain schema+data dump of `database` for comparisons: header comments and the
/// `\restrict` / `\unrestrict` lines (random keys since the 2025 security releases) removed.
pub fn comparable_dump(pg: &TestCluster, database: &str) -> String {
    let draft = pg.get().tcp_draft("harness", "postgres", database);
    let pw = pg.password.as_deref().map(Secret::new);
    let pg_dump = client(pg.get().major, "pg_dump").path("pg_dump");
    let mut cc = tideline_core::libpq_env::client_command(&pg_dump, &draft, pw.as_ref()).unwrap();
    let out = cc.command.args(["--format=plain", "--no-owner"]).output().unwrap();
    assert!(out.status.success(), "pg_dump {database}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("--") && !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names that break naive tools: spaces, quotes, dots, `*`, unicode, mixed case.
pub fn load_awkward(pg: &TestCluster, db: &str) {
    psql(pg, "postgres", &format!("CREATE DATABASE {db}"));
    psql(
        pg,
        db,
        r#"CREATE SCHEMA "Sales Dept";
           CREATE SCHEMA "a.b";
           CREATE TABLE "Sales Dept"."Order Items" (id serial PRIMARY KEY, "Qty ""each""" int, note text);
           INSERT INTO "Sales Dept"."Order Items" ("Qty ""each""", note) SELECT g, 'row ' || g FROM generate_series(1, 300) g;
           CREATE TABLE "a.b"."x*y?" (id bigint GENERATED ALWAYS AS IDENTITY, "ünïcødé" text);
           INSERT INTO "a.b"."x*y?" ("ünïcødé") SELECT 'žluťoučký ' || g FROM generate_series(1, 50) g;
           CREATE TABLE "MixedCase" (id int PRIMARY KEY); INSERT INTO "MixedCase" SELECT generate_series(1, 10);
           CREATE TABLE mixedcase (id int REFERENCES "MixedCase"); INSERT INTO mixedcase SELECT generate_series(1, 5);
           CREATE INDEX "idx ""quoted""" ON "Sales Dept"."Order Items" (note);
           CREATE VIEW "a.b"."v*" AS SELECT count(*) FROM "a.b"."x*y?";"#,
    );
}

/// An exclusive lock on shop's `events` held by another session: pg_dump waits on it mid-run.
pub struct TableLock<'a> {
    pg: &'a TestCluster,
    child: std::process::Child,
}

impl<'a> TableLock<'a> {
    pub fn hold(pg: &'a TestCluster, pw: &str) -> TableLock<'a> {
        let draft = pg.get().tcp_draft("lock", "postgres", "shop");
        let psql_bin = client(pg.get().major, "psql").path("psql");
        let mut cc =
            tideline_core::libpq_env::client_command(&psql_bin, &draft, Some(&tideline_core::Secret::new(pw))).unwrap();
        let child = cc
            .command
            .args(["-X", "-c", "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);"])
            .spawn()
            .unwrap();
        let held = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                    WHERE c.relname = 'events' AND l.mode = 'AccessExclusiveLock' AND l.granted";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while psql(pg, "shop", held) != "1" {
            assert!(std::time::Instant::now() < deadline, "the lock was never taken");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        TableLock { pg, child }
    }
}

impl Drop for TableLock<'_> {
    fn drop(&mut self) {
        // The server keeps a killed client's backend sleeping (and locking) otherwise.
        psql(self.pg, "shop", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files left under a database's backup folder (a failed or cancelled run must leave none).
pub fn backup_leftovers(home: &Home, profile: &str, database: &str) -> Vec<PathBuf> {
    let dir = home.path().join("repo/logical").join(profile).join(database);
    std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

/// Profile `p` for the server's database `postgres`, with the test's password.
pub fn add_profile(home: &Home, pg: &TestCluster, pw: &str) {
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(pw)).ok();
}

/// Waits (a minute at most) for a child of `parent` whose argv holds every one of `parts`.
pub fn wait_child(parent: u32, parts: &[&str]) -> u32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(pid) = child_with_args(parent, parts) {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "no child {parts:?} of {parent}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A child of `parent` whose argv holds every one of `parts` (NUL-separated as in /proc).
pub fn child_with_args(parent: u32, parts: &[&str]) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...
        let ppid: u32 = stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        (ppid == parent && parts.iter().all(|p| cmd.contains(p))).then_some(pid)
    })
}

/// A copy of a backup's data directory running as a new managed cluster; stopped and removed
/// on drop, even when an assertion fails.
pub struct CopyCluster {
    pub cluster: ManagedCluster,
    pub password: Option<String>,
    _parent: tempfile::TempDir,
}

impl Drop for CopyCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

impl CopyCluster {
    /// Lays `src` (a plain backup's data directory) down as a new cluster's data directory,
    /// keeping the new cluster's own settings file (socket directory, port; the copy's is the
    /// source's) plus `settings`; `recover` writes recovery.signal. Then starts it.
    pub fn start(
        major: u32,
        password: Option<&str>,
        src: &Path,
        settings: Vec<(String, String)>,
        recover: bool,
    ) -> Self {
        let parent = tempfile::Builder::new().prefix("tideline-copy-").tempdir_in(test_tmp()).expect("tempdir");
        set_mode(parent.path(), 0o755);
        let spec = ClusterSpec {
            superuser: "postgres".into(),
            password: password.map(Secret::new),
            settings,
            sandbox_rules: false,
        };
        let mut cluster = ManagedCluster::create(&parent.path().join("c"), server(major), &spec).unwrap();
        let data = cluster.data_dir();
        let ours = std::fs::read_to_string(data.join("tideline.conf")).unwrap();
        std::fs::remove_dir_all(&data).unwrap();
        assert!(Command::new("cp").arg("-a").arg(src).arg(&data).status().unwrap().success());
        std::fs::write(data.join("tideline.conf"), ours).unwrap();
        if recover {
            std::fs::write(data.join("recovery.signal"), "").unwrap();
        }
        set_mode(&data, 0o700);
        if let Some(owner) = tideline_core::cluster::cluster_owner().unwrap() {
            let who = format!("{}:", owner.name);
            assert!(Command::new("chown").args(["-R", &who]).arg(&data).status().unwrap().success());
        }
        cluster.start().unwrap_or_else(|e| panic!("PostgreSQL {major}: the copy did not start: {}", e.message));
        CopyCluster { cluster, password: password.map(str::to_string), _parent: parent }
    }

    /// One value from `sql` (psql -At) in database postgres.
    pub fn query(&self, sql: &str) -> String {
        let draft = self.cluster.tcp_draft("copy", "postgres", "postgres");
        let pw = self.password.as_deref().map(Secret::new);
        let psql = client(self.cluster.major, "psql").path("psql");
        let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, pw.as_ref()).unwrap();
        let out = cc.command.args(["-X", "-At", "-c", sql]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until recovery has ended and the copy accepts writes.
    pub fn wait_promoted(&self) {
        let start = std::time::Instant::now();
        while self.query("SELECT pg_is_in_recovery()") != "f" {
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "recovery did not end");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// A world-traversable directory holding a copy of the `tideline` binary, where a server's OS
/// user can run it (archive_command, restore_command): the build directory is under /root.
pub fn installed_tideline(prefix: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let bin = dir.path().join("tideline");
    std::fs::copy(tideline_bin(), &bin).unwrap();
    set_mode(&bin, 0o755);
    (dir, bin)
}

/// Polls a real server's (or process's) observable state; fails with `what` after a minute.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// One value from `sql` (psql -At) in database postgres of the server on 127.0.0.1:`port`,
/// as role postgres with `password` (a sandbox has the source's roles).
pub fn query_at(major: u32, port: u16, password: &str, sql: &str) -> String {
    query_at_db(major, port, password, "postgres", sql)
}

/// [`query_at`] in another database.
pub fn query_at_db(major: u32, port: u16, password: &str, database: &str, sql: &str) -> String {
    let draft = ProfileDraft {
        host: "127.0.0.1".into(),
        port,
        database: database.into(),
        user: "postgres".into(),
        sslmode: tideline_core::profile::SslMode::Disable,
        ..Default::default()
    };
    let psql = client(major, "psql").path("psql");
    let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, Some(&Secret::new(password))).unwrap();
    let out = cc.command.args(["-X", "-At", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A cluster archiving with `tideline wal-push` (a copy its OS user can run) into a repository
/// in a world-traversable work directory, as `wal setup` would leave it.
pub struct ArchivingSource {
    pub pg: TestCluster,
    pub repo: PathBuf,
    pub sysid: String,
    /// `<repo>/clusters/<sysid>/wal`.
    pub wal: PathBuf,
    pub work: tempfile::TempDir,
    _bin_dir: tempfile::TempDir,
}

impl ArchivingSource {
    pub fn start(major: u32, password: Option<&str>, extra: Vec<(String, String)>) -> ArchivingSource {
        let work = tempfile::Builder::new().prefix("tideline-archiving-").tempdir().unwrap();
        set_mode(work.path(), 0o755);
        let (bin_dir, bin) = installed_tideline("tideline-bin-");
        let repo = work.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        if let Some(owner) = tideline_core::cluster::cluster_owner().unwrap() {
            std::os::unix::fs::chown(&repo, Some(owner.uid), Some(owner.gid)).unwrap();
        }
        let mut settings = vec![
            ("wal_level".to_string(), "replica".to_string()),
            ("archive_mode".into(), "on".into()),
            ("archive_command".into(), format!("'{} wal-push --repo {} %p'", bin.display(), repo.display())),
        ];
        settings.extend(extra);
        let pg = TestCluster::start_with(major, password, settings);
        let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
        let wal = repo.join("clusters").join(&sysid).join("wal");
        ArchivingSource { pg, repo, sysid, wal, work, _bin_dir: bin_dir }
    }

    /// Switches to a new segment and waits until the one switched from is archived.
    pub fn switch_and_wait(&self) -> String {
        // Something is written first: with nothing since the last switch, pg_switch_wal() does
        // nothing and names a segment that is never completed.
        let sql = "SELECT pg_walfile_name(pg_switch_wal()) FROM (SELECT pg_logical_emit_message(false, 'tideline-test', 'switch')) m";
        let segment = psql(&self.pg, "postgres", sql);
        let archived = || self.wal.join(format!("{segment}.zst")).exists();
        let start = std::time::Instant::now();
        while !archived() {
            if start.elapsed() > std::time::Duration::from_secs(60) {
                // The server's log says why archive_command failed.
                panic!("timed out waiting for {segment} to be archived; server.log:\n{}", self.pg.get().log_tail(30));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        segment
    }
}

/// The last line of `home`'s own logs (the CLI's, not the tools') that contains `needle`.
pub fn last_log_line(home: &Home, needle: &str) -> String {
    let mut logs: Vec<_> = std::fs::read_dir(home.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    logs.sort();
    let lines: Vec<String> = logs
        .iter()
        .flat_map(|l| std::fs::read_to_string(l).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    lines.into_iter().rev().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no log line with {needle}"))
}

/// `tideline wal stream PROFILE --json` in the background (stdout piped for its summary),
/// returned once the profile's slot is active on `pg`.
pub fn start_stream(home: &Home, pg: &TestCluster, profile: &str) -> std::process::Child {
    let stream = home.spawn(&["wal", "stream", profile]);
    // tideline_<name as a slot name holds it>_<8 hex digits>, as a LIKE pattern.
    let clean: String =
        profile.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let pattern = format!("tideline_{clean}_").replace('_', "\\_") + "%";
    wait_for("the stream's slot to be active", || {
        psql(
            pg,
            "postgres",
            &format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '{pattern}' AND active"),
        ) == "1"
    });
    stream
}

/// The largest file under `prefix` in a backup's manifest (`backups show` output): the one a
/// flipped byte is most likely to be noticed in only by its checksum.
pub fn largest_file(manifest: &serde_json::Value, prefix: &str) -> String {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with(prefix))
        .max_by_key(|f| f["size_bytes"].as_u64().unwrap())
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string()
}
