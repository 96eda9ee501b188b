//! Data to back up and compare: psql, the sample and awkward schemas, comparable dumps, and locks held on purpose.

use super::*;

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
